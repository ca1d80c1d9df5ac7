// One fuzzed client's loopback TCP connection to the in-process broker.
//
// The socket is non-blocking and every wait is bounded: a broker that neither answers
// nor closes the connection within kReplyTimeout is stuck, which is a finding, not a hang
// of the fuzzer. Whatever the broker sends is read while the client writes (neither side
// can block the other) and goes through OutputCheck; decoded packets queue in received().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "petrel/protocol/packet.hpp"
#include "script_link.hpp"
#include "stream_check.hpp"

namespace petrel::fuzz {

// PETREL_FUZZ_TRACE=1 in the environment prints every packet sent and received (to run one
// input and see what it does).

// Far above anything a healthy broker needs on loopback, even under ASan on a busy machine.
inline constexpr std::chrono::seconds kReplyTimeout{5};

class BrokerLink final : public ScriptLink {
  public:
    // Connects to 127.0.0.1:`port`; a refused connection is a finding (the broker is down).
    // `broker_maximum_packet_size` is its max_packet_size (0: none), to frame like it does.
    BrokerLink(std::uint16_t port, std::uint32_t broker_maximum_packet_size);
    ~BrokerLink() override;
    BrokerLink(const BrokerLink&) = delete;
    BrokerLink& operator=(const BrokerLink&) = delete;

    // Writes all of `bytes`, reading meanwhile. False (nothing more can be written) once
    // the broker has closed the connection.
    bool send_raw(std::string_view bytes) override { return write(bytes, true); }
    // Encodes by the connection's protocol version (a CONNECT by its own).
    bool send(const protocol::Packet& packet) override;

    // Reads whatever has arrived, without waiting.
    void poll() override;
    // Reads until `done()` holds or the connection is closed. A broker that does neither
    // within kReplyTimeout is a finding naming `what`.
    void wait(const std::function<bool()>& done, const char* what) override;
    // PINGREQ, then waits for every PINGREQ sent so far to be answered (or the connection
    // to close). Nothing when the broker cannot answer: the stream stops inside a packet,
    // or the broker must close the connection anyway.
    void sync() override;

    // Shuts down the sending side: the broker sees end of stream.
    void half_close() override;
    // Reads until the broker closes the connection; a finding if it does not.
    void drain(const char* what) override;
    // Closes the socket at once, unread bytes and all (the broker may see a reset).
    void reset() override;

    // The broker can answer what was sent: the stream is at a packet boundary after a
    // whole CONNECT, and nothing sent dooms the connection.
    bool answerable() const override {
        return can_write() && sent_.connect_complete() && !sent_.mid_packet() && !sent_.doomed();
    }
    bool closed() const override { return fd_ < 0 || read_closed_; }
    bool can_write() const override { return fd_ >= 0 && !write_closed_ && !read_closed_; }
    std::deque<protocol::Packet>& received() override { return received_; }
    const SentStream& sent() const override { return sent_; }
    protocol::ProtocolVersion version() const override { return sent_.terms().version; }

  private:
    bool write(std::string_view bytes, bool trace_bytes);
    // Reads once; waits up to `timeout` for bytes. False when nothing came.
    bool read_some(std::chrono::milliseconds timeout);

    int fd_ = -1;
    bool read_closed_ = false;   // EOF or an error on reading
    bool write_closed_ = false;  // shut down by us, or the broker stopped taking bytes
    SentStream sent_;
    OutputCheck output_;
    std::deque<protocol::Packet> received_;
    std::string encode_buffer_;
};

}  // namespace petrel::fuzz
