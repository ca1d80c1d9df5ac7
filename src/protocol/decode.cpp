// decode(): checks the fixed header, then hands the body to the packet's decoder. Also
// the small packets with no decoder of their own: PINGREQ, PINGRESP, DISCONNECT, AUTH.
#include "internal.hpp"

namespace petrel::protocol {

namespace detail {

Result<Packet> finish(const wire::Reader& reader, Packet packet) {
    if (!reader.ok()) {
        return *reader.error();
    }
    if (!reader.at_end()) {
        return malformed("unexpected bytes after the packet's content");
    }
    return packet;
}

}  // namespace detail

namespace {

// Fixed header flags (2.1.3): PUBLISH carries DUP/QoS/RETAIN, PUBREL, SUBSCRIBE and
// UNSUBSCRIBE must be 0b0010, every other packet 0 [MQTT-2.2.2-1] [MQTT-2.2.2-2].
// MQTT 3.1 had no reserved bits there: PUBREL, SUBSCRIBE and UNSUBSCRIBE "use QoS level 1"
// and set DUP when they are sent again (3.1 sections 2.1, 3.6, 3.8, 3.10), so a 3.1
// client's resent PUBREL is 0x6A. Only that form is added; 3.1.1 and 5 stay strict.
bool flags_valid(PacketType type, std::uint8_t flags, ProtocolVersion version) {
    constexpr std::uint8_t kDup = 0x08;
    switch (type) {
        case PacketType::Publish:
            return true;  // checked by decode_publish
        case PacketType::Pubrel:
        case PacketType::Subscribe:
        case PacketType::Unsubscribe:
            if (version == ProtocolVersion::V31) {
                return (flags & ~kDup) == 0x02;
            }
            return flags == 0x02;
        default:
            return flags == 0x00;
    }
}

// DISCONNECT and AUTH share a v5 body: an optional reason code and optional properties
// (3.14.2.1, 3.15.2.1). A remaining length of 0 means Success with no properties.
template <class T>
Result<Packet> decode_reason_and_properties(ByteView body, PropertyContext context) {
    wire::Reader reader(body);
    T packet;
    if (!reader.at_end()) {
        const auto reason = decltype(packet.reason)::from_byte(reader.u8());
        if (!reason) {
            return protocol_error("invalid reason code for this packet");
        }
        packet.reason = *reason;
        if (!reader.at_end()) {
            detail::read_properties(reader, context, packet.properties);
        }
    }
    return detail::finish(reader, std::move(packet));
}

Result<Packet> decode_empty(ByteView body, Packet packet) {
    if (!body.empty()) {
        return malformed("packet must have no variable header or payload");
    }
    return packet;
}

}  // namespace

Result<Packet> decode(ByteView packet, ProtocolVersion version) {
    const FrameResult framed = frame(packet);
    if (framed.status == FrameStatus::Malformed) {
        return malformed("invalid fixed header");
    }
    if (framed.status == FrameStatus::Incomplete) {
        return malformed("packet shorter than its remaining length");
    }
    if (framed.frame.total_length() != packet.size()) {
        return malformed("bytes after the end of the packet");
    }
    const PacketType type = framed.frame.type();
    const auto flags = static_cast<std::uint8_t>(framed.frame.first_byte & 0x0F);
    const ByteView body = packet.subspan(framed.frame.header_length);
    const bool v5 = version == ProtocolVersion::V5;

    if (type == PacketType::Auth && !v5) {
        return malformed("packet type 15 is reserved before MQTT 5");  // 3.1.1 2.2.1
    }
    if (!flags_valid(type, flags, version)) {
        return malformed("invalid fixed header flags");  // [MQTT-2.2.2-2]
    }

    switch (type) {
        case PacketType::Connect:
            return detail::decode_connect(body);
        case PacketType::Connack:
            return detail::decode_connack(body, version);
        case PacketType::Publish:
            return detail::decode_publish(flags, body, version);
        case PacketType::Puback:
        case PacketType::Pubrec:
        case PacketType::Pubrel:
        case PacketType::Pubcomp:
            return detail::decode_publish_response(type, body, version);
        case PacketType::Subscribe:
            return detail::decode_subscribe(body, version);
        case PacketType::Suback:
            return detail::decode_suback(body, version);
        case PacketType::Unsubscribe:
            return detail::decode_unsubscribe(body, version);
        case PacketType::Unsuback:
            return detail::decode_unsuback(body, version);
        case PacketType::Pingreq:
            return decode_empty(body, Pingreq{});
        case PacketType::Pingresp:
            return decode_empty(body, Pingresp{});
        case PacketType::Disconnect:
            if (!v5) {
                return decode_empty(body, Disconnect{});  // 3.14: no variable header
            }
            return decode_reason_and_properties<Disconnect>(body, PropertyContext::Disconnect);
        case PacketType::Auth:
            return decode_reason_and_properties<Auth>(body, PropertyContext::Auth);
    }
    return malformed("reserved packet type");  // unreachable: frame() refuses type 0
}

}  // namespace petrel::protocol
