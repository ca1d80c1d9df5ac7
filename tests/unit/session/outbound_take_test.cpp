// OutboundFlow pieces used by MQTT 5 features: take_if() (a shared subscription's
// messages leave with their member), drop_unsent() (a message expired before it was sent)
// and the window kept across a reconnect with a smaller Receive Maximum.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "flow_test_support.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::session {
namespace {

using namespace petrel::session::flow_testing;

Delivery shared_delivery(protocol::Qos qos, std::string topic) {
    Delivery delivery = make_delivery(qos, std::move(topic));
    delivery.shared = std::make_shared<const std::string>("$share/g/t");
    return delivery;
}

bool is_shared(const Delivery& delivery) {
    return delivery.shared != nullptr;
}

TEST(OutboundFlowTake, TakesQueuedAndQos1InFlightButNotQos2OrOthers) {
    OutboundFlow flow = make_flow(3, 10);
    ASSERT_EQ(flow.offer(shared_delivery(1, "s1"), true).size(), 1u);    // in flight
    ASSERT_EQ(flow.offer(shared_delivery(2, "s2"), true).size(), 1u);    // in flight, QoS 2
    ASSERT_EQ(flow.offer(make_delivery(1, "plain1"), true).size(), 1u);  // in flight
    EXPECT_TRUE(flow.offer(shared_delivery(1, "s3"), true).empty());     // queued
    EXPECT_TRUE(flow.offer(make_delivery(1, "plain2"), true).empty());   // queued

    OutboundFlow::Taken taken = flow.take_if(is_shared);
    ASSERT_EQ(taken.deliveries.size(), 2u);
    EXPECT_EQ(taken.deliveries[0].message->topic, "s1");
    EXPECT_EQ(taken.deliveries[1].message->topic, "s3");
    EXPECT_EQ(taken.released_ids.size(), 1u);
    EXPECT_EQ(flow.inflight_count(), 2u);  // s2 (QoS 2, [MQTT-4.8.2-4]) and plain1
    EXPECT_EQ(queued_topics(flow), std::vector<std::string>{"plain2"});
    EXPECT_EQ(flow.queued_count(), 1u);
}

TEST(OutboundFlowTake, FreedWindowIsUsedByTheNextQueuedMessage) {
    OutboundFlow flow = make_flow(1, 10);
    const protocol::PacketId first = send_now(flow, 1, "first");
    EXPECT_TRUE(flow.offer(make_delivery(1, "second"), true).empty());
    OutboundFlow::Taken taken =
        flow.take_if([](const Delivery& d) { return d.message->topic == "first"; });
    ASSERT_EQ(taken.released_ids, std::vector<protocol::PacketId>{first});
    // The client reconnects: the window is free for "second".
    const std::vector<OutboundPacket> out = flow.resume();
    EXPECT_EQ(topics_of(out), std::vector<std::string>{"second"});
}

TEST(OutboundFlowExpiry, DropUnsentReleasesTheSlotAndSendsTheNext) {
    OutboundFlow flow = make_flow(1, 10);
    const protocol::PacketId id = send_now(flow, 1, "expired");
    EXPECT_TRUE(flow.offer(make_delivery(1, "next"), true).empty());
    const std::vector<OutboundPacket> out = flow.drop_unsent(id);
    EXPECT_EQ(topics_of(out), std::vector<std::string>{"next"});
    EXPECT_EQ(flow.counters().dropped_expired, 1u);
    EXPECT_FALSE(flow.on_puback(id).has_value());  // it is gone
}

TEST(OutboundFlowResume, UnsentRestoredFlightsGoOutBeforeNewOnes) {
    // After a reconnect with Receive Maximum 2, four restored flights go out two at a time,
    // in their order, and only then the queue.
    OutboundFlow flow = make_flow(10, 10);
    for (protocol::PacketId id = 1; id <= 4; ++id) {
        flow.restore_inflight(InflightMessage{id, OutboundState::AwaitingPuback,
                                              make_delivery(1, "restored" + std::to_string(id))});
    }
    flow.restore_queued(make_delivery(1, "queued"));
    flow.set_receive_maximum(2);
    std::vector<OutboundPacket> out = flow.resume();
    EXPECT_EQ(topics_of(out), (std::vector<std::string>{"restored1", "restored2"}));
    EXPECT_TRUE(out[0].dup);
    out = *flow.on_puback(1);
    EXPECT_EQ(topics_of(out), std::vector<std::string>{"restored3"});
    out = *flow.on_puback(2);
    EXPECT_EQ(topics_of(out), std::vector<std::string>{"restored4"});
    out = *flow.on_puback(3);
    ASSERT_EQ(topics_of(out), std::vector<std::string>{"queued"});
    EXPECT_FALSE(out[0].dup);
}

}  // namespace
}  // namespace petrel::session
