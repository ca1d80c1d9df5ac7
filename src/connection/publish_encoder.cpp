// One delivery's PUBLISH header, written directly from lengths computed up front.
#include "petrel/connection/publish_encoder.hpp"

#include <algorithm>
#include <cstring>

#include "petrel/protocol/codec.hpp"

namespace petrel::connection {

namespace {

constexpr std::size_t kExpiryBytes = 1 + 4;  // identifier, Four Byte Integer
constexpr std::size_t kAliasBytes = 1 + 2;   // identifier, Two Byte Integer

bool v5(const PublishFrame& frame) {
    return frame.version == protocol::ProtocolVersion::V5;
}

std::uint8_t qos_bits(const PublishFrame& frame) {
    return static_cast<std::uint8_t>(frame.qos & 0x03);
}

// A string longer than a two-byte prefix can say is cut, as protocol::encode cuts it, so
// that the prefix and the bytes agree.
std::string_view sendable(std::string_view text) {
    return text.substr(0, 0xFFFF);
}

std::size_t property_length(const PublishFrame& frame) {
    std::size_t length = frame.forwarded_properties.size();
    for (const std::uint32_t id : frame.subscription_ids) {
        length += 1 + protocol::varint_size(id);
    }
    length += frame.message_expiry ? kExpiryBytes : 0;
    length += frame.topic_alias != 0 ? kAliasBytes : 0;
    return length;
}

// Everything after the fixed header but the payload.
std::size_t variable_header_size(const PublishFrame& frame, std::size_t properties) {
    std::size_t size = 2 + sendable(frame.topic).size() + (qos_bits(frame) > 0 ? 2 : 0);
    if (v5(frame)) {
        size += protocol::varint_size(static_cast<std::uint32_t>(properties)) + properties;
    }
    return size;
}

// Writes into space already reserved, so that the header costs no reallocation and no
// per-byte size checks.
class Cursor {
  public:
    explicit Cursor(char* at) : at_(at) {}
    char* at() const { return at_; }
    void u8(std::uint8_t value) { *at_++ = static_cast<char>(value); }
    void u16(std::uint16_t value) {
        u8(static_cast<std::uint8_t>(value >> 8));
        u8(static_cast<std::uint8_t>(value));
    }
    void u32(std::uint32_t value) {
        u16(static_cast<std::uint16_t>(value >> 16));
        u16(static_cast<std::uint16_t>(value));
    }
    void varint(std::uint32_t value) {  // 1.5.5
        do {
            auto byte = static_cast<std::uint8_t>(value % 128);
            value /= 128;
            if (value > 0) {
                byte |= 0x80;
            }
            u8(byte);
        } while (value > 0);
    }
    void raw(std::string_view bytes) {
        if (!bytes.empty()) {
            std::memcpy(at_, bytes.data(), bytes.size());
            at_ += bytes.size();
        }
    }

  private:
    char* at_;
};

}  // namespace

PublishFrame frame_delivery(const session::OutboundPacket& packet,
                            protocol::ProtocolVersion version, std::string_view topic,
                            OutboundTopicAliases* aliases, std::int64_t now_ms) {
    return frame_delivery(packet.delivery, packet.packet_id, packet.dup, version, topic, aliases,
                          now_ms);
}

PublishFrame frame_delivery(const session::Delivery& delivery, protocol::PacketId packet_id,
                            bool dup, protocol::ProtocolVersion version, std::string_view topic,
                            OutboundTopicAliases* aliases, std::int64_t now_ms) {
    const session::Message& message = *delivery.message;
    PublishFrame frame;
    frame.version = version;
    frame.qos = delivery.qos;
    frame.dup = dup;
    frame.retain = delivery.retain;
    frame.packet_id = packet_id;
    frame.topic = topic;
    frame.payload_size = message.payload ? message.payload->size() : 0;
    if (version != protocol::ProtocolVersion::V5) {
        return frame;
    }
    frame.forwarded_properties = message.forwarded_property_bytes();
    frame.subscription_ids = delivery.subscription_ids;
    if (message.expires_at_ms != 0) {
        frame.message_expiry = std::max<std::uint32_t>(1, message.remaining_seconds(now_ms));
    }
    if (aliases != nullptr) {
        if (const auto alias = aliases->use(topic)) {
            frame.topic_alias = alias->alias;
            if (!alias->send_topic) {
                frame.topic = {};
            }
        }
    }
    return frame;
}

std::size_t encoded_size(const PublishFrame& frame) {
    const std::size_t remaining =
        variable_header_size(frame, property_length(frame)) + frame.payload_size;
    return 1 + protocol::varint_size(static_cast<std::uint32_t>(remaining)) + remaining;
}

void write_header(const PublishFrame& frame, std::string& out) {
    const std::size_t properties = property_length(frame);
    const std::size_t variable = variable_header_size(frame, properties);
    const auto remaining = static_cast<std::uint32_t>(variable + frame.payload_size);
    const std::size_t start = out.size();
    const std::size_t header = 1 + protocol::varint_size(remaining) + variable;
    out.resize(start + header);
    Cursor w(out.data() + start);

    const std::uint8_t qos = qos_bits(frame);
    std::uint8_t first = 0x30 | static_cast<std::uint8_t>(qos << 1);
    if (frame.dup && qos > 0) {
        first |= 0x08;  // [MQTT-3.3.1-2] never at QoS 0
    }
    if (frame.retain) {
        first |= 0x01;
    }
    w.u8(first);
    w.varint(remaining);
    const std::string_view topic = sendable(frame.topic);
    w.u16(static_cast<std::uint16_t>(topic.size()));
    w.raw(topic);
    if (qos > 0) {
        w.u16(frame.packet_id);
    }
    if (v5(frame)) {
        w.varint(static_cast<std::uint32_t>(properties));
        w.raw(frame.forwarded_properties);
        for (const std::uint32_t id : frame.subscription_ids) {
            w.u8(static_cast<std::uint8_t>(protocol::PropertyId::SubscriptionIdentifier));
            w.varint(id);
        }
        if (frame.message_expiry) {
            w.u8(static_cast<std::uint8_t>(protocol::PropertyId::MessageExpiryInterval));
            w.u32(*frame.message_expiry);
        }
        if (frame.topic_alias != 0) {
            w.u8(static_cast<std::uint8_t>(protocol::PropertyId::TopicAlias));
            w.u16(frame.topic_alias);
        }
    }
}

}  // namespace petrel::connection
