// The PUBLISH of one delivery, written around the bytes every subscriber of the message
// shares. What a message has in common for all its deliveries (the payload, the forwarded
// v5 properties in wire form: session::Message::forwarded_property_bytes) is encoded once;
// per delivery only the fixed header, the topic, the packet id, the Property Length and the
// per-delivery properties (Subscription Identifiers, remaining Message Expiry Interval,
// Topic Alias) are written, and sizes are arithmetic on lengths, nothing is encoded to
// measure. The bytes are those protocol::encode gives for the equivalent protocol::Publish,
// properties in the order the broker has always sent them: forwarded ones, subscription
// identifiers, Message Expiry Interval, Topic Alias.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "petrel/connection/topic_aliases.hpp"
#include "petrel/protocol/packet.hpp"
#include "petrel/session/message.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::connection {

// One delivery's PUBLISH by reference: nothing here owns or copies message data.
struct PublishFrame {
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;
    protocol::Qos qos = 0;
    bool dup = false;
    bool retain = false;
    protocol::PacketId packet_id = 0;       // sent at QoS 1 and 2 only
    std::string_view topic;                 // as sent: empty when a known Topic Alias stands for it
    std::string_view forwarded_properties;  // v5: shared property entries, no length
    std::span<const std::uint32_t> subscription_ids;  // v5
    std::optional<std::uint32_t> message_expiry;      // v5: seconds left
    std::uint16_t topic_alias = 0;                    // v5: 0 for none
    std::size_t payload_size = 0;
};

// The frame for `packet` (a Publish) to a client of `version`. `topic` is the message's
// topic as this client sees it (without its listener's mount point); `aliases`, when
// given, may replace it by a Topic Alias and records the alias as used; `now_ms` (Unix ms)
// gives the remaining Message Expiry Interval, at least 1 [MQTT-3.3.2-6].
PublishFrame frame_delivery(const session::OutboundPacket& packet,
                            protocol::ProtocolVersion version, std::string_view topic,
                            OutboundTopicAliases* aliases, std::int64_t now_ms);
// The same for `delivery` sent with `packet_id` (QoS 1 and 2) and `dup`.
PublishFrame frame_delivery(const session::Delivery& delivery, protocol::PacketId packet_id,
                            bool dup, protocol::ProtocolVersion version, std::string_view topic,
                            OutboundTopicAliases* aliases, std::int64_t now_ms);

// Size of the whole PUBLISH, payload included, without encoding it.
std::size_t encoded_size(const PublishFrame& frame);

// Appends everything before the payload (fixed header, topic, packet id, properties) to
// `out`; the payload follows separately, so one buffer serves every subscriber.
void write_header(const PublishFrame& frame, std::string& out);

}  // namespace petrel::connection
