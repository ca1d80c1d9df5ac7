// What the fuzz_broker script (connection_script.hpp) drives: one client's connection
// to a server, and where such connections come from. BrokerLink is one over loopback TCP
// to a running broker (fuzz_broker); EndpointLink one to a connection::ServerEndpoint
// in process (fuzz_connection). Either way every byte the server writes goes through
// OutputCheck and every byte the client writes through SentStream (stream_check.hpp).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string_view>

#include "petrel/protocol/packet.hpp"
#include "stream_check.hpp"

namespace petrel::fuzz {

class ScriptLink {
  public:
    virtual ~ScriptLink() = default;

    // Writes all of `bytes`. False (nothing more can be written) once the server has
    // closed the connection.
    virtual bool send_raw(std::string_view bytes) = 0;
    // Encodes by the connection's protocol version (a CONNECT by its own).
    virtual bool send(const protocol::Packet& packet) = 0;
    // Takes whatever the server has written, without waiting.
    virtual void poll() = 0;
    // Until `done()` holds or the connection is closed; a server that does neither is a
    // finding naming `what`.
    virtual void wait(const std::function<bool()>& done, const char* what) = 0;
    // PINGREQ, then waits for every PINGREQ sent so far to be answered (or the connection
    // to close); nothing when the server cannot answer.
    virtual void sync() = 0;
    // End of stream from the client's side.
    virtual void half_close() = 0;
    // Until the server closes the connection; a finding if it does not.
    virtual void drain(const char* what) = 0;
    // Gone at once, unread bytes and all.
    virtual void reset() = 0;

    // The server can answer what was sent: the stream is at a packet boundary after a
    // whole CONNECT, and nothing sent dooms the connection.
    virtual bool answerable() const = 0;
    virtual bool closed() const = 0;
    virtual bool can_write() const = 0;
    virtual std::deque<protocol::Packet>& received() = 0;
    virtual const SentStream& sent() const = 0;
    virtual protocol::ProtocolVersion version() const = 0;
};

// Where the script's connections go.
class ScriptTarget {
  public:
    virtual ~ScriptTarget() = default;
    // A new connection to the restricted server (password file, limits) or the open one.
    virtual std::unique_ptr<ScriptLink> connect(bool restricted) = 0;
    // Before each op, with its opcode byte. The op is that byte modulo kOpCount; what is
    // left (byte / kOpCount) an in-process server may read as time passing.
    virtual void before_op(std::uint8_t /*opcode_byte*/) {}
};

}  // namespace petrel::fuzz
