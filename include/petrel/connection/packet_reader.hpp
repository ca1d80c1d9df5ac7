// The first step of an MQTT endpoint: the bytes a peer sent, turned into the next packet
// or into the reason the connection cannot go on. Framing, the Maximum Packet Size this
// side announced, the rules of the first packet (CONNECT, and only once), and decoding in
// the connection's protocol version, with what a CONNECT that fails to decode gets back.
//
// Pure: no socket, no clock. The caller owns the buffer, keeps the bytes a result did not
// consume, and carries out the outcome (send, close); see broker::ClientConnection::on_data.
#pragma once

#include <cstddef>
#include <cstdint>

#include "petrel/protocol/codec.hpp"
#include "petrel/protocol/packet.hpp"
#include "petrel/protocol/result.hpp"

namespace petrel::connection {

// Where the connection stands, as far as reading goes.
struct ReadState {
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;
    bool awaiting_connect = true;       // nothing but a CONNECT has come yet
    std::uint32_t max_packet_size = 0;  // what this side accepts; 0: the protocol's maximum
};

struct ReadResult {
    enum class Kind {
        Incomplete,       // wait for more bytes (nothing consumed)
        Packet,           // `packet`, taking `consumed` bytes
        NotConnectFirst,  // [MQTT-3.1.0-1] the first packet is not a CONNECT: close
        Violation,        // `error`: a protocol violation, the connection ends
        RefuseConnect,    // a CONNECT that gets CONNACK `error.code` in `version`, then close
    };
    Kind kind = Kind::Incomplete;
    protocol::Packet packet;
    std::size_t consumed = 0;
    protocol::Error error;
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;  // RefuseConnect
    protocol::PacketType first_type = protocol::PacketType::Connect;      // NotConnectFirst
};

// The next packet at the start of `input` (which must not be empty).
ReadResult read_packet(protocol::ByteView input, const ReadState& state);

}  // namespace petrel::connection
