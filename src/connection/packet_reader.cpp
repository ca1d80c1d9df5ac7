#include "petrel/connection/packet_reader.hpp"

namespace petrel::connection {

using protocol::PacketType;
using protocol::ProtocolVersion;
using protocol::ReasonCode;
using Kind = ReadResult::Kind;

namespace {

ReadResult violation(protocol::Error error) {
    ReadResult result;
    result.kind = Kind::Violation;
    result.error = error;
    return result;
}

// A CONNECT that did not decode: some clients are told why in a CONNACK first.
ReadResult connect_failure(protocol::ByteView packet, const protocol::Error& error) {
    const auto level = protocol::peek_connect_level(packet);
    ReadResult result;
    if (error.code == ReasonCode::UnsupportedProtocolVersion && level) {
        // Answered in the version the client will understand, 3.1.1 for anything older
        // than 5 (3.2.2.3 / 3.1.2.2).
        result.kind = Kind::RefuseConnect;
        result.error = error;
        result.version = *level == 5 ? ProtocolVersion::V5 : ProtocolVersion::V311;
        return result;
    }
    if (level == 5 &&
        (error.code == ReasonCode::MalformedPacket || error.code == ReasonCode::ProtocolError)) {
        // [MQTT-3.1.4-1] a CONNECT that does not conform closes the connection; a v5
        // server may say why first, in a CONNACK (3.1.4, 4.13.1). A 3.x client gets no
        // CONNACK: it has no return code for this.
        result.kind = Kind::RefuseConnect;
        result.error = error;
        result.version = ProtocolVersion::V5;
        return result;
    }
    return violation(error);
}

}  // namespace

ReadResult read_packet(protocol::ByteView input, const ReadState& state) {
    const auto type = static_cast<PacketType>(input[0] >> 4);
    if (state.awaiting_connect && type != PacketType::Connect) {
        // [MQTT-3.1.0-1] no need to wait for the rest of whatever this is (an HTTP
        // request, say).
        ReadResult result;
        result.kind = Kind::NotConnectFirst;
        result.first_type = type;
        return result;
    }
    const protocol::FrameResult framed = protocol::frame(input);
    if (framed.status == protocol::FrameStatus::Malformed) {
        return violation(protocol::malformed("invalid fixed header"));
    }
    if (framed.frame.header_length > 0 && state.max_packet_size > 0 &&
        framed.frame.total_length() > state.max_packet_size) {
        // Known from the fixed header alone: the body is never buffered.
        return violation(
            protocol::Error{ReasonCode::PacketTooLarge, "packet exceeds max_packet_size"});
    }
    if (framed.status == protocol::FrameStatus::Incomplete) {
        return ReadResult{};
    }
    if (!state.awaiting_connect && framed.frame.type() == PacketType::Connect) {
        // [MQTT-3.1.0-2] a second CONNECT is a Protocol Error whatever it holds: decoding
        // it could only add 0x84 (bad protocol name or level), a reason code for CONNACK
        // that no DISCONNECT may carry (found by fuzz_broker).
        return violation(protocol::protocol_error("second CONNECT"));
    }
    const protocol::ByteView packet = input.first(framed.frame.total_length());
    protocol::Result<protocol::Packet> decoded = protocol::decode(packet, state.version);
    if (!decoded) {
        return state.awaiting_connect ? connect_failure(packet, decoded.error())
                                      : violation(decoded.error());
    }
    ReadResult result;
    result.kind = Kind::Packet;
    result.packet = std::move(decoded).value();
    result.consumed = packet.size();
    return result;
}

}  // namespace petrel::connection
