// OutboundFlow while a connection is attached: QoS 0, packet identifiers, the in-flight
// window (Receive Maximum, MQTT 5.0 section 4.9) and the queue bound. The QoS 2 handshake
// and acknowledgement checks are in outbound_qos2_test.cpp; reconnect, offline and restore
// in outbound_resume_test.cpp.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flow_test_support.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::session {
namespace {

using Kind = OutboundPacket::Kind;
using namespace petrel::session::flow_testing;

// ---- QoS 0 -----------------------------------------------------------------------------

TEST(OutboundFlowQos0, OnlineGoesOutAtOnceWithoutPacketIdOrWindowSlot) {
    OutboundFlow flow = make_flow(1, 10);
    send_now(flow, 1, "fills/the/window");
    ASSERT_EQ(flow.inflight_count(), 1u);

    Delivery delivery = make_delivery(0, "qos0");
    const MessagePtr message = delivery.message;
    std::vector<OutboundPacket> out = flow.offer(std::move(delivery), true);

    // [MQTT-2.2.1-2] no packet id on QoS 0; [MQTT-3.3.1-2] DUP 0 on QoS 0. A full window
    // does not hold QoS 0 back (section 4.9 lets QoS 0 through at a zero send quota).
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, Kind::Publish);
    EXPECT_EQ(out[0].packet_id, 0);
    EXPECT_FALSE(out[0].dup);
    EXPECT_EQ(out[0].delivery.message, message);
    EXPECT_EQ(out[0].delivery.qos, 0);
    EXPECT_EQ(flow.inflight_count(), 1u);
    EXPECT_EQ(flow.queued_count(), 0u);
}

TEST(OutboundFlowQos0, OnlineDoesNotTakeAWindowSlotNorAPacketId) {
    OutboundFlow flow = make_flow(1, 10);
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(flow.offer(make_delivery(0, "qos0"), true).size(), 1u);
    }
    EXPECT_EQ(flow.inflight_count(), 0u);
    // The single slot is still free for a QoS 1 message.
    const protocol::PacketId id = send_now(flow, 1, "qos1");
    EXPECT_NE(id, 0);
    EXPECT_EQ(flow.inflight_count(), 1u);
}

TEST(OutboundFlowQos0, OfflineIsDroppedAndCounted) {
    OutboundFlow flow = make_flow(5, 10);
    EXPECT_TRUE(flow.offer(make_delivery(0, "a"), false).empty());
    EXPECT_TRUE(flow.offer(make_delivery(0, "b"), false).empty());
    EXPECT_EQ(flow.counters().dropped_qos0_offline, 2u);
    EXPECT_EQ(flow.counters().dropped_queue_full, 0u);
    EXPECT_EQ(flow.queued_count(), 0u);
    EXPECT_EQ(flow.inflight_count(), 0u);
    EXPECT_TRUE(flow.resume().empty());
}

TEST(OutboundFlowQos0, OnlineGoesOutEvenWhenTheQueueIsFull) {
    OutboundFlow flow = make_flow(1, 1);
    send_now(flow, 1, "in/flight");
    EXPECT_TRUE(flow.offer(make_delivery(1, "queued"), true).empty());
    ASSERT_EQ(flow.queued_count(), 1u);

    EXPECT_EQ(flow.offer(make_delivery(0, "qos0"), true).size(), 1u);
    EXPECT_EQ(flow.counters().dropped_queue_full, 0u);
    EXPECT_EQ(queued_topics(flow), std::vector<std::string>{"queued"});
}

// ---- Packet identifiers ----------------------------------------------------------------

TEST(OutboundFlowPacketId, FreshPublishCarriesTheDeliveryWithDupClear) {
    OutboundFlow flow = make_flow(5, 10);
    for (protocol::Qos qos : {protocol::Qos{1}, protocol::Qos{2}}) {
        Delivery delivery = make_delivery(qos, "t");
        delivery.retain = true;
        delivery.subscription_ids = {7, 9};
        const MessagePtr message = delivery.message;
        std::vector<OutboundPacket> out = flow.offer(std::move(delivery), true);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].kind, Kind::Publish);
        EXPECT_NE(out[0].packet_id, 0);
        EXPECT_FALSE(out[0].dup);  // [MQTT-4.3.2-2] / [MQTT-4.3.3-2]: first send has DUP 0
        EXPECT_EQ(out[0].delivery.message, message);  // shared, never copied
        EXPECT_EQ(out[0].delivery.qos, qos);
        EXPECT_TRUE(out[0].delivery.retain);
        EXPECT_EQ(out[0].delivery.subscription_ids, (std::vector<std::uint32_t>{7, 9}));
    }
    ASSERT_EQ(flow.inflight().size(), 2u);
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPuback);
    EXPECT_EQ(flow.inflight().back().state, OutboundState::AwaitingPubrec);
}

TEST(OutboundFlowPacketId, NonZeroAndDistinctAmongMessagesInFlight) {
    constexpr std::size_t kCount = 500;
    OutboundFlow flow = make_flow(kCount, 0);
    std::set<protocol::PacketId> ids;
    for (std::size_t i = 0; i < kCount; ++i) {
        const protocol::PacketId id = send_now(flow, i % 2 == 0 ? 1 : 2, "t");
        EXPECT_NE(id, 0);  // [MQTT-2.2.1-4]
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), kCount);
    EXPECT_EQ(flow.inflight_count(), kCount);
    std::set<protocol::PacketId> tracked;
    for (const InflightMessage& message : flow.inflight()) {
        tracked.insert(message.packet_id);
    }
    EXPECT_EQ(tracked, ids);
}

// [MQTT-2.2.1-4]: a new PUBLISH gets a non-zero id that is currently unused. Drive more
// messages through than there are ids, with messages parked in flight in both QoS 1 and
// QoS 2 (after PUBREC) states, and check ids cycle and never land on a parked one.
TEST(OutboundFlowPacketId, CycleAfter65535SkippingIdsStillInFlight) {
    OutboundFlow flow = make_flow(3, 0);
    const protocol::PacketId parked_qos1 = send_now(flow, 1, "parked/qos1");
    protocol::PacketId parked_qos2 = 0;

    std::set<protocol::PacketId> parked{parked_qos1};
    protocol::PacketId previous = parked_qos1;
    std::size_t wraps = 0;
    std::set<protocol::PacketId> seen;
    for (std::size_t i = 0; i < 70'000; ++i) {
        if (i == 1'000) {
            parked_qos2 = send_now(flow, 2, "parked/qos2");
            ASSERT_TRUE(flow.on_pubrec(parked_qos2).has_value());
            ASSERT_FALSE(parked.contains(parked_qos2));
            parked.insert(parked_qos2);
            previous = parked_qos2;
            continue;
        }
        const protocol::Qos qos = i % 3 == 0 ? 2 : 1;
        std::vector<OutboundPacket> out = flow.offer(make_delivery(qos, "cycling"), true);
        ASSERT_EQ(out.size(), 1u) << "message " << i;
        const protocol::PacketId id = out[0].packet_id;
        ASSERT_NE(id, 0) << "message " << i;
        ASSERT_FALSE(parked.contains(id)) << "message " << i << " reused parked id " << id;
        // Ids advance by one, wrap from 65535 to 1 and step over parked ids.
        protocol::PacketId expected = previous;
        do {
            expected = expected == 0xFFFF ? 1 : static_cast<protocol::PacketId>(expected + 1);
        } while (parked.contains(expected));
        ASSERT_EQ(id, expected) << "message " << i;
        if (id < previous) {
            ++wraps;
        }
        previous = id;
        seen.insert(id);

        std::optional<std::vector<OutboundPacket>> done;
        if (qos == 1) {
            done = flow.on_puback(id);
        } else {
            ASSERT_TRUE(flow.on_pubrec(id).has_value());
            done = flow.on_pubcomp(id);
        }
        ASSERT_TRUE(done.has_value()) << "message " << i;
        EXPECT_TRUE(done->empty());
        ASSERT_EQ(flow.inflight_count(), parked.size());
    }
    EXPECT_EQ(wraps, 1u);
    EXPECT_EQ(seen.size(), 65535u - parked.size());  // every free id used, ids were reused

    // The parked flows are intact and complete normally.
    ASSERT_TRUE(flow.on_puback(parked_qos1).has_value());
    ASSERT_TRUE(flow.on_pubcomp(parked_qos2).has_value());
    EXPECT_EQ(flow.inflight_count(), 0u);
}

TEST(OutboundFlowPacketId, AcknowledgedIdIsNotReusedBeforeTheCycleComesRound) {
    OutboundFlow flow = make_flow(2, 0);
    const protocol::PacketId first = send_now(flow, 1, "a");
    ASSERT_TRUE(flow.on_puback(first).has_value());
    const protocol::PacketId second = send_now(flow, 1, "b");
    EXPECT_NE(second, first);
    EXPECT_NE(second, 0);
}

// ---- The window ------------------------------------------------------------------------

TEST(OutboundFlowWindow, DefaultsToMaxInflight) {
    EXPECT_EQ(make_flow(7, 10).window(), 7u);
    EXPECT_EQ(OutboundFlow().window(), OutboundLimits{}.max_inflight);
}

TEST(OutboundFlowWindow, IsTheSmallerOfOurLimitAndTheClientReceiveMaximum) {
    struct Case {
        std::size_t max_inflight;
        std::uint16_t receive_maximum;
        std::size_t window;
    };
    for (const Case& c : {Case{20, 5, 5}, Case{20, 20, 20}, Case{20, 21, 20}, Case{20, 65535, 20},
                          Case{1, 65535, 1}, Case{65535, 65535, 65535}, Case{100, 1, 1}}) {
        OutboundFlow flow = make_flow(c.max_inflight, 10);
        flow.set_receive_maximum(c.receive_maximum);
        EXPECT_EQ(flow.window(), c.window)
            << "max_inflight " << c.max_inflight << ", receive maximum " << c.receive_maximum;
    }
}

TEST(OutboundFlowWindow, ReceiveMaximumOfZeroStillLeavesOneSlot) {
    // [MQTT-4.9.0-1] the send quota starts non-zero; 0 is refused by the codec, but the
    // flow must not stall if it ever sees it.
    OutboundFlow flow = make_flow(20, 10);
    flow.set_receive_maximum(0);
    EXPECT_EQ(flow.window(), 1u);
    EXPECT_EQ(flow.offer(make_delivery(1, "a"), true).size(), 1u);
    EXPECT_TRUE(flow.offer(make_delivery(1, "b"), true).empty());
}

TEST(OutboundFlowWindow, MaxInflightOfZeroStillLeavesOneSlot) {
    OutboundFlow flow = make_flow(0, 10);
    EXPECT_EQ(flow.window(), 1u);
    EXPECT_EQ(flow.offer(make_delivery(1, "a"), true).size(), 1u);
    flow.set_receive_maximum(100);
    EXPECT_EQ(flow.window(), 1u);
}

TEST(OutboundFlowWindow, NeverExceedsThePacketIdSpace) {
    // More than 65535 flows in flight would leave no free id for the next one.
    OutboundFlow flow = make_flow(100'000, 10);
    ASSERT_LE(flow.window(), 65535u);
    for (std::size_t i = 0; i < flow.window(); ++i) {
        ASSERT_EQ(flow.offer(make_delivery(1, "t"), true).size(), 1u);
    }
    EXPECT_TRUE(flow.offer(make_delivery(1, "over"), true).empty());
    EXPECT_EQ(flow.queued_count(), 1u);
}

TEST(OutboundFlowWindow, MessagesBeyondTheWindowQueueInOrder) {
    OutboundFlow flow = make_flow(2, 10);
    std::vector<std::string> sent;
    for (int i = 0; i < 6; ++i) {
        for (const OutboundPacket& packet :
             flow.offer(make_delivery(i % 2 == 0 ? 1 : 2, "m" + std::to_string(i)), true)) {
            sent.push_back(topic_of(packet));
        }
    }
    EXPECT_EQ(sent, (std::vector<std::string>{"m0", "m1"}));
    EXPECT_EQ(flow.inflight_count(), 2u);
    EXPECT_EQ(queued_topics(flow), (std::vector<std::string>{"m2", "m3", "m4", "m5"}));
}

TEST(OutboundFlowWindow, AcksReleaseQueuedMessagesInOrder) {
    // m0 QoS 1, m1 QoS 2 in flight; m2..m5 queued.
    OutboundFlow flow = make_flow(2, 10);
    const protocol::PacketId m0 = send_now(flow, 1, "m0");
    const protocol::PacketId m1 = send_now(flow, 2, "m1");
    for (int i = 2; i < 6; ++i) {
        ASSERT_TRUE(
            flow.offer(make_delivery(i == 3 ? 2 : 1, "m" + std::to_string(i)), true).empty());
    }

    // PUBREC does not free the slot: the QoS 2 flow ends with PUBCOMP (section 4.9).
    std::optional<std::vector<OutboundPacket>> out = flow.on_pubrec(m1);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ((*out)[0].kind, Kind::Pubrel);
    EXPECT_EQ(flow.queued_count(), 4u);

    // Acks arrive out of order; the queue still drains first in, first out.
    out = flow.on_pubcomp(m1);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ(topic_of((*out)[0]), "m2");
    EXPECT_EQ((*out)[0].kind, Kind::Publish);
    EXPECT_FALSE((*out)[0].dup);
    const protocol::PacketId m2 = (*out)[0].packet_id;
    EXPECT_NE(m2, 0);
    EXPECT_NE(m2, m0);

    out = flow.on_puback(m0);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ(topic_of((*out)[0]), "m3");
    const protocol::PacketId m3 = (*out)[0].packet_id;
    EXPECT_EQ(flow.inflight().back().state, OutboundState::AwaitingPubrec);  // m3 is QoS 2

    // A v5 PUBREC with a failure reason ends the QoS 2 flow and frees its slot too.
    out = flow.on_pubrec_failed(m3);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ(topic_of((*out)[0]), "m4");

    out = flow.on_puback(m2);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), std::vector<std::string>{"m5"});
    EXPECT_EQ(flow.queued_count(), 0u);
    EXPECT_EQ(flow.inflight_count(), 2u);

    // Distinct ids among what is now in flight.
    EXPECT_NE(flow.inflight().front().packet_id, flow.inflight().back().packet_id);
}

TEST(OutboundFlowWindow, NewMessageWaitsBehindQueuedOnesEvenWhenASlotIsFree) {
    OutboundFlow flow = make_flow(1, 10);
    const protocol::PacketId first = send_now(flow, 1, "first");
    ASSERT_TRUE(flow.offer(make_delivery(1, "second"), true).empty());
    std::optional<std::vector<OutboundPacket>> out = flow.on_puback(first);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), std::vector<std::string>{"second"});
    EXPECT_TRUE(flow.offer(make_delivery(1, "third"), true).empty());
    EXPECT_EQ(queued_topics(flow), std::vector<std::string>{"third"});
}

TEST(OutboundFlowWindow, ShrunkenWindowHoldsNewFlightsUntilBelowIt) {
    OutboundFlow flow = make_flow(3, 10);
    const protocol::PacketId a = send_now(flow, 1, "a");
    const protocol::PacketId b = send_now(flow, 1, "b");
    const protocol::PacketId c = send_now(flow, 1, "c");
    flow.set_receive_maximum(1);
    ASSERT_TRUE(flow.offer(make_delivery(1, "d"), true).empty());

    std::optional<std::vector<OutboundPacket>> out = flow.on_puback(a);
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(out->empty());
    out = flow.on_puback(b);
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(out->empty());
    out = flow.on_puback(c);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), std::vector<std::string>{"d"});
}

// ---- Queue bound -----------------------------------------------------------------------

TEST(OutboundFlowQueue, FullQueueDropsTheNewMessageAndKeepsTheOlderOnes) {
    OutboundFlow flow = make_flow(1, 3);
    const protocol::PacketId first = send_now(flow, 1, "m0");
    for (int i = 1; i <= 5; ++i) {
        EXPECT_TRUE(
            flow.offer(make_delivery(i % 2 == 0 ? 2 : 1, "m" + std::to_string(i)), true).empty());
    }
    EXPECT_EQ(flow.counters().dropped_queue_full, 2u);
    EXPECT_EQ(flow.counters().dropped_qos0_offline, 0u);
    EXPECT_EQ(queued_topics(flow), (std::vector<std::string>{"m1", "m2", "m3"}));

    // Draining the queue delivers exactly the kept ones, in order.
    std::vector<std::string> released;
    protocol::PacketId id = first;
    for (int i = 0; i < 3; ++i) {
        const OutboundState state = flow.inflight().front().state;
        std::optional<std::vector<OutboundPacket>> out;
        if (state == OutboundState::AwaitingPuback) {
            out = flow.on_puback(id);
        } else {
            ASSERT_TRUE(flow.on_pubrec(id).has_value());
            out = flow.on_pubcomp(id);
        }
        ASSERT_TRUE(out.has_value());
        ASSERT_EQ(out->size(), 1u);
        released.push_back(topic_of((*out)[0]));
        id = (*out)[0].packet_id;
    }
    EXPECT_EQ(released, (std::vector<std::string>{"m1", "m2", "m3"}));
    EXPECT_EQ(flow.queued_count(), 0u);
}

TEST(OutboundFlowQueue, QueueHasRoomAgainOnceDrained) {
    OutboundFlow flow = make_flow(1, 1);
    const protocol::PacketId first = send_now(flow, 1, "a");
    ASSERT_TRUE(flow.offer(make_delivery(1, "b"), true).empty());
    ASSERT_TRUE(flow.offer(make_delivery(1, "dropped"), true).empty());
    ASSERT_EQ(flow.counters().dropped_queue_full, 1u);
    ASSERT_TRUE(flow.on_puback(first).has_value());  // b moves into flight
    ASSERT_TRUE(flow.offer(make_delivery(1, "c"), true).empty());
    EXPECT_EQ(queued_topics(flow), std::vector<std::string>{"c"});
    EXPECT_EQ(flow.counters().dropped_queue_full, 1u);
}

TEST(OutboundFlowQueue, ZeroMaxQueuedMeansNoLimit) {
    OutboundFlow flow = make_flow(1, 0);
    send_now(flow, 1, "a");
    for (int i = 0; i < 2000; ++i) {
        OfferOutcome outcome = OfferOutcome::Sent;
        EXPECT_TRUE(
            flow.offer(make_delivery(i % 2 == 0 ? 2 : 1, "q"), i % 3 == 0, &outcome).empty());
        EXPECT_EQ(outcome, OfferOutcome::Queued);
    }
    EXPECT_EQ(flow.counters().dropped_queue_full, 0u);
    EXPECT_EQ(flow.queued_count(), 2000u);
}

}  // namespace
}  // namespace petrel::session
