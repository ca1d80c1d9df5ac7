// Decoding CONNECT (3.1) and CONNACK (3.2), and peeking at a CONNECT's protocol level.
#include <algorithm>
#include <string_view>

#include "internal.hpp"

namespace petrel::protocol {

namespace {

constexpr std::uint8_t kReservedFlag = 0x01;
constexpr std::uint8_t kCleanStartFlag = 0x02;
constexpr std::uint8_t kWillFlag = 0x04;
constexpr std::uint8_t kWillQosMask = 0x18;
constexpr std::uint8_t kWillRetainFlag = 0x20;
constexpr std::uint8_t kPasswordFlag = 0x40;
constexpr std::uint8_t kUsernameFlag = 0x80;

// The protocol name/level pairs Petrel speaks. A known name with another level, or an
// unknown name, is refused as Unsupported Protocol Version [MQTT-3.1.2-2].
std::optional<ProtocolVersion> version_for(std::string_view name, std::uint8_t level) {
    if (name == "MQTT" && level == 4) {
        return ProtocolVersion::V311;
    }
    if (name == "MQTT" && level == 5) {
        return ProtocolVersion::V5;
    }
    if (name == "MQIsdp" && level == 3) {
        return ProtocolVersion::V31;
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::uint8_t> peek_connect_level(ByteView packet) {
    const FrameResult framed = frame(packet);
    if (framed.frame.header_length == 0 || framed.frame.type() != PacketType::Connect) {
        return std::nullopt;
    }
    // Only the bytes the fixed header says belong to this packet.
    const ByteView body =
        packet.subspan(framed.frame.header_length)
            .first(std::min<std::size_t>(framed.frame.remaining_length,
                                         packet.size() - framed.frame.header_length));
    wire::Reader reader(body);
    const std::uint16_t name_length = reader.u16();
    reader.slice(name_length, "protocol name runs past the packet");
    const std::uint8_t level = reader.u8();
    if (!reader.ok()) {
        return std::nullopt;
    }
    return level;
}

namespace detail {

Result<Packet> decode_connect(ByteView body) {
    wire::Reader reader(body);
    Connect connect;
    const std::string name = reader.binary();
    const std::uint8_t level = reader.u8();
    if (!reader.ok()) {
        return *reader.error();
    }
    const auto version = version_for(name, level);
    if (!version) {
        return Error{ReasonCode::UnsupportedProtocolVersion, "unsupported protocol name or level"};
    }
    connect.version = *version;
    const bool v5 = connect.version == ProtocolVersion::V5;

    const std::uint8_t flags = reader.u8();
    if (!reader.ok()) {
        return *reader.error();
    }
    if ((flags & kReservedFlag) != 0) {
        return malformed("reserved CONNECT flag set");  // [MQTT-3.1.2-3]
    }
    connect.clean_start = (flags & kCleanStartFlag) != 0;
    const bool has_will = (flags & kWillFlag) != 0;
    const auto will_qos = static_cast<Qos>((flags & kWillQosMask) >> 3);
    const bool will_retain = (flags & kWillRetainFlag) != 0;
    if (!has_will && (will_qos != 0 || will_retain)) {
        return malformed("will QoS or retain set without a will");  // [MQTT-3.1.2-13] [-15]
    }
    if (will_qos == 3) {
        return malformed("will QoS 3");  // [MQTT-3.1.2-14]
    }
    const bool has_username = (flags & kUsernameFlag) != 0;
    const bool has_password = (flags & kPasswordFlag) != 0;
    if (!v5 && has_password && !has_username) {
        return malformed("password without user name");  // [MQTT-3.1.2-22] (3.1.1 only)
    }

    connect.keep_alive = reader.u16();
    if (v5) {
        detail::read_properties(reader, PropertyContext::Connect, connect.properties);
        // 3.1.2.11.10: Authentication Data without a method is a Protocol Error.
        if (reader.ok() && connect.properties.contains(PropertyId::AuthenticationData) &&
            !connect.properties.contains(PropertyId::AuthenticationMethod)) {
            return protocol_error("authentication data without a method");
        }
    }

    // Payload (3.1.3): client id, will properties, will topic, will payload, user, password.
    connect.client_id = reader.utf8();  // [MQTT-3.1.3-4]
    if (has_will) {
        Will will;
        will.qos = will_qos;
        will.retain = will_retain;
        if (v5) {
            detail::read_properties(reader, PropertyContext::Will, will.properties);
        }
        will.topic = reader.utf8();  // [MQTT-3.1.3-10]
        if (reader.ok() && will.topic.empty()) {
            // [MQTT-4.7.3-1] a topic name has at least one character: a CONNECT whose will
            // topic is empty does not conform to section 3.1 [MQTT-3.1.4-1].
            return malformed("zero-length will topic");
        }
        will.payload = make_payload(reader.binary());
        connect.will = std::move(will);
    }
    if (has_username) {
        connect.username = reader.utf8();  // [MQTT-3.1.3-11]
    }
    if (has_password) {
        connect.password = reader.binary();
    }
    return detail::finish(reader, std::move(connect));
}

Result<Packet> decode_connack(ByteView body, ProtocolVersion version) {
    wire::Reader reader(body);
    Connack connack;
    const std::uint8_t ack_flags = reader.u8();
    const std::uint8_t code = reader.u8();
    if (!reader.ok()) {
        return *reader.error();
    }
    // 3.1 reserves the whole byte (it has no Session Present), so it is not read there.
    if (version != ProtocolVersion::V31) {
        if ((ack_flags & 0xFE) != 0) {
            return malformed("reserved CONNACK flag set");  // [MQTT-3.2.2-1] (v5 3.2.2.1)
        }
        connack.session_present = (ack_flags & 0x01) != 0;
    }
    if (connack.session_present && code != 0) {
        // [MQTT-3.2.2-4] (3.1.1) [MQTT-3.2.2-6] (v5): a refusal has no session.
        return protocol_error("session present on a refused connection");
    }
    if (version == ProtocolVersion::V5) {
        const auto reason = ConnackReason::from_byte(code);
        if (!reason) {
            return protocol_error("invalid CONNACK reason code");
        }
        connack.reason = *reason;
        detail::read_properties(reader, PropertyContext::Connack, connack.properties);
    } else {
        if (code > 5) {
            return protocol_error("reserved CONNACK return code");  // 3.2.2.3: 6-255 reserved
        }
        connack.reason = from_v311_connack_code(code);
    }
    return detail::finish(reader, std::move(connack));
}

}  // namespace detail
}  // namespace petrel::protocol
