// Helpers shared by the OutboundFlow tests: deliveries with recognisable topics and
// short ways to read what the flow produced.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "petrel/session/outbound_flow.hpp"

namespace petrel::session::flow_testing {

using Kind = OutboundPacket::Kind;

inline Delivery make_delivery(protocol::Qos qos, std::string topic) {
    auto message = std::make_shared<Message>();
    message->topic = std::move(topic);
    message->payload = protocol::make_payload("payload of " + message->topic);
    message->qos = qos;
    Delivery delivery;
    delivery.message = message;
    delivery.qos = qos;
    return delivery;
}

inline std::string topic_of(const OutboundPacket& packet) {
    return packet.delivery.message ? packet.delivery.message->topic : std::string{};
}

inline std::vector<std::string> topics_of(const std::vector<OutboundPacket>& packets) {
    std::vector<std::string> topics;
    for (const OutboundPacket& packet : packets) {
        topics.push_back(topic_of(packet));
    }
    return topics;
}

inline std::vector<std::string> queued_topics(const OutboundFlow& flow) {
    std::vector<std::string> topics;
    for (const Delivery& delivery : flow.queued()) {
        topics.push_back(delivery.message->topic);
    }
    return topics;
}

// Offers one QoS 1/2 delivery that must go out at once; returns its packet id.
inline protocol::PacketId send_now(OutboundFlow& flow, protocol::Qos qos, std::string topic) {
    std::vector<OutboundPacket> out = flow.offer(make_delivery(qos, std::move(topic)), true);
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? 0 : out.front().packet_id;
}

inline OutboundFlow make_flow(std::size_t max_inflight, std::size_t max_queued) {
    return OutboundFlow(OutboundLimits{.max_inflight = max_inflight, .max_queued = max_queued});
}

// ---- QoS 0 -----------------------------------------------------------------------------

}  // namespace petrel::session::flow_testing
