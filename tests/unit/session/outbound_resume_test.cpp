// OutboundFlow across connections: resume() after a reconnect (MQTT 5.0 / 3.1.1 section 4.4,
// [MQTT-4.4.0-1]), messages offered while offline, and restoring persisted state.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
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

// What a resumed packet is expected to be.
struct Expected {
    Kind kind;
    protocol::PacketId packet_id;  // 0: a fresh id, checked separately
    bool dup;
    std::string topic;  // empty for a PUBREL
};

void expect_packets(const std::vector<OutboundPacket>& actual,
                    const std::vector<Expected>& expected) {
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i));
        EXPECT_EQ(actual[i].kind, expected[i].kind);
        if (expected[i].packet_id != 0) {
            EXPECT_EQ(actual[i].packet_id, expected[i].packet_id);
        }
        EXPECT_NE(actual[i].packet_id, 0);
        EXPECT_EQ(actual[i].dup, expected[i].dup);
        EXPECT_EQ(topic_of(actual[i]), expected[i].topic);
    }
}

// ---- resume() --------------------------------------------------------------------------

TEST(OutboundFlowResume, ResendsEverythingInFlightInOrderWithDupAndTheSameIds) {
    OutboundFlow flow = make_flow(10, 10);
    const protocol::PacketId a = send_now(flow, 1, "a");
    const protocol::PacketId b = send_now(flow, 2, "b");
    const protocol::PacketId c = send_now(flow, 2, "c");
    const protocol::PacketId d = send_now(flow, 1, "d");
    const protocol::PacketId e = send_now(flow, 2, "e");
    ASSERT_TRUE(flow.on_pubrec(c).has_value());
    ASSERT_TRUE(flow.on_puback(a).has_value());
    const MessagePtr b_message = flow.inflight().front().delivery.message;

    // The connection drops; the client reconnects to the surviving session.
    flow.set_receive_maximum(65535);
    const std::vector<OutboundPacket> out = flow.resume();

    // [MQTT-4.4.0-1] original ids; [MQTT-3.3.1-1] DUP 1 on a resent PUBLISH; PUBREL, not
    // PUBLISH, once PUBREC was received [MQTT-4.3.3-6]; original order [MQTT-4.6.0-1].
    expect_packets(out, {{Kind::Publish, b, true, "b"},
                         {Kind::Pubrel, c, false, ""},
                         {Kind::Publish, d, true, "d"},
                         {Kind::Publish, e, true, "e"}});
    EXPECT_EQ(out[0].delivery.message, b_message);  // the same shared message
    EXPECT_EQ(out[0].delivery.qos, 2);
    EXPECT_EQ(out[2].delivery.qos, 1);

    // Resending changes no state: same flows, same states, same order.
    ASSERT_EQ(flow.inflight_count(), 4u);
    std::vector<OutboundState> states;
    for (const InflightMessage& message : flow.inflight()) {
        states.push_back(message.state);
    }
    EXPECT_EQ(states, (std::vector<OutboundState>{
                          OutboundState::AwaitingPubrec, OutboundState::AwaitingPubcomp,
                          OutboundState::AwaitingPuback, OutboundState::AwaitingPubrec}));
}

TEST(OutboundFlowResume, FlowsCompleteNormallyAfterResume) {
    OutboundFlow flow = make_flow(2, 10);
    const protocol::PacketId a = send_now(flow, 2, "a");
    const protocol::PacketId b = send_now(flow, 2, "b");
    ASSERT_TRUE(flow.offer(make_delivery(1, "queued"), true).empty());
    ASSERT_TRUE(flow.on_pubrec(b).has_value());
    ASSERT_EQ(flow.resume().size(), 2u);

    std::optional<std::vector<OutboundPacket>> out = flow.on_pubrec(a);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ((*out)[0].kind, Kind::Pubrel);
    out = flow.on_pubcomp(b);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), std::vector<std::string>{"queued"});
    out = flow.on_pubcomp(a);
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(out->empty());
    EXPECT_EQ(flow.inflight_count(), 1u);
}

TEST(OutboundFlowResume, SecondReconnectResendsAgain) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId a = send_now(flow, 1, "a");
    const protocol::PacketId b = send_now(flow, 2, "b");
    ASSERT_TRUE(flow.on_pubrec(b).has_value());
    for (int reconnect = 0; reconnect < 2; ++reconnect) {
        SCOPED_TRACE("reconnect " + std::to_string(reconnect));
        expect_packets(flow.resume(),
                       {{Kind::Publish, a, true, "a"}, {Kind::Pubrel, b, false, ""}});
    }
}

TEST(OutboundFlowResume, FollowsInFlightWithQueuedMessagesThatFit) {
    OutboundFlow flow = make_flow(4, 10);
    flow.set_receive_maximum(2);
    const protocol::PacketId a = send_now(flow, 1, "a");
    const protocol::PacketId b = send_now(flow, 2, "b");
    for (const char* topic : {"c", "d", "e"}) {
        ASSERT_TRUE(flow.offer(make_delivery(1, topic), true).empty());
    }

    // The client comes back with a larger Receive Maximum: one more slot than before.
    flow.set_receive_maximum(3);
    const std::vector<OutboundPacket> out = flow.resume();
    expect_packets(out, {{Kind::Publish, a, true, "a"},
                         {Kind::Publish, b, true, "b"},
                         {Kind::Publish, 0, false, "c"}});
    EXPECT_NE(out[2].packet_id, a);
    EXPECT_NE(out[2].packet_id, b);
    EXPECT_EQ(flow.inflight_count(), 3u);
    EXPECT_EQ(flow.queued_count(), 2u);
}

TEST(OutboundFlowResume, ResendsNoMoreThanTheNewReceiveMaximum) {
    // [MQTT-3.3.4-9] the resent messages count against the client's new Receive Maximum:
    // the rest follow, in order, as acknowledgements free the window.
    OutboundFlow flow = make_flow(3, 10);
    const protocol::PacketId a = send_now(flow, 1, "a");
    const protocol::PacketId b = send_now(flow, 1, "b");
    const protocol::PacketId c = send_now(flow, 1, "c");
    ASSERT_TRUE(flow.offer(make_delivery(1, "queued"), true).empty());

    flow.set_receive_maximum(1);
    expect_packets(flow.resume(), {{Kind::Publish, a, true, "a"}});
    EXPECT_TRUE(flow.offer(make_delivery(1, "later"), true).empty());
    auto next = flow.on_puback(a);
    ASSERT_TRUE(next);
    expect_packets(*next, {{Kind::Publish, b, true, "b"}});
    next = flow.on_puback(b);
    ASSERT_TRUE(next);
    expect_packets(*next, {{Kind::Publish, c, true, "c"}});
    next = flow.on_puback(c);
    ASSERT_TRUE(next);
    ASSERT_EQ(next->size(), 1u);
    EXPECT_FALSE((*next)[0].dup);
    EXPECT_EQ(flow.queued_count(), 1u);  // "later" waits behind "queued"
}

TEST(OutboundFlowResume, EmptyFlowHasNothingToSend) {
    OutboundFlow flow = make_flow(3, 10);
    EXPECT_TRUE(flow.resume().empty());
}

// ---- Offline, then online --------------------------------------------------------------

TEST(OutboundFlowOffline, MessagesAreQueuedEvenWhenTheWindowHasRoom) {
    OutboundFlow flow = make_flow(5, 10);
    EXPECT_TRUE(flow.offer(make_delivery(1, "a"), false).empty());
    EXPECT_TRUE(flow.offer(make_delivery(2, "b"), false).empty());
    EXPECT_TRUE(flow.offer(make_delivery(0, "qos0"), false).empty());
    EXPECT_TRUE(flow.offer(make_delivery(1, "c"), false).empty());
    EXPECT_EQ(flow.inflight_count(), 0u);
    EXPECT_EQ(flow.queued_count(), 3u);
    EXPECT_EQ(flow.counters().dropped_qos0_offline, 1u);

    const std::vector<OutboundPacket> out = flow.resume();
    // Never sent before, so DUP 0 and new ids.
    expect_packets(out, {{Kind::Publish, 0, false, "a"},
                         {Kind::Publish, 0, false, "b"},
                         {Kind::Publish, 0, false, "c"}});
    std::set<protocol::PacketId> ids;
    for (const OutboundPacket& packet : out) {
        ids.insert(packet.packet_id);
    }
    EXPECT_EQ(ids.size(), 3u);
    EXPECT_EQ(flow.inflight_count(), 3u);
    EXPECT_EQ(flow.queued_count(), 0u);
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPuback);
    EXPECT_EQ(std::next(flow.inflight().begin())->state, OutboundState::AwaitingPubrec);
}

TEST(OutboundFlowOffline, QueuedWhileAwayComesAfterWhatWasInFlight) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId a = send_now(flow, 1, "a");
    const protocol::PacketId b = send_now(flow, 2, "b");
    ASSERT_TRUE(flow.on_pubrec(b).has_value());
    // Connection lost: further messages wait for the session's next connection.
    EXPECT_TRUE(flow.offer(make_delivery(1, "c"), false).empty());
    EXPECT_TRUE(flow.offer(make_delivery(2, "d"), false).empty());
    EXPECT_EQ(flow.inflight_count(), 2u);

    expect_packets(flow.resume(), {{Kind::Publish, a, true, "a"},
                                   {Kind::Pubrel, b, false, ""},
                                   {Kind::Publish, 0, false, "c"},
                                   {Kind::Publish, 0, false, "d"}});
}

TEST(OutboundFlowOffline, QueueBoundAppliesWhileOffline) {
    OutboundFlow flow = make_flow(5, 2);
    for (const char* topic : {"a", "b", "c", "d"}) {
        EXPECT_TRUE(flow.offer(make_delivery(1, topic), false).empty());
    }
    EXPECT_EQ(flow.counters().dropped_queue_full, 2u);
    expect_packets(flow.resume(), {{Kind::Publish, 0, false, "a"}, {Kind::Publish, 0, false, "b"}});
}

TEST(OutboundFlowOffline, OnlineAgainAfterResume) {
    OutboundFlow flow = make_flow(2, 10);
    EXPECT_TRUE(flow.offer(make_delivery(1, "a"), false).empty());
    ASSERT_EQ(flow.resume().size(), 1u);
    // Back online with a free slot and an empty queue: straight out.
    EXPECT_EQ(topics_of(flow.offer(make_delivery(1, "b"), true)), std::vector<std::string>{"b"});
    EXPECT_TRUE(flow.offer(make_delivery(1, "c"), true).empty());
    EXPECT_EQ(flow.queued_count(), 1u);
}

// ---- Restoring persisted state ---------------------------------------------------------

TEST(OutboundFlowRestore, RestoredStateResumesLikeTheOriginal) {
    OutboundFlow original = make_flow(5, 10);
    original.set_receive_maximum(4);
    send_now(original, 1, "a");
    const protocol::PacketId b = send_now(original, 2, "b");
    send_now(original, 2, "c");
    const protocol::PacketId d = send_now(original, 1, "d");
    for (const char* topic : {"e", "f", "g"}) {
        ASSERT_TRUE(original.offer(make_delivery(2, topic), true).empty());
    }
    ASSERT_TRUE(original.on_pubrec(b).has_value());
    ASSERT_EQ(original.on_puback(d)->size(), 1u);  // e goes into flight

    // What the store would save, and a fresh flow rebuilt from it.
    OutboundFlow restored = make_flow(5, 10);
    for (const InflightMessage& message : original.inflight()) {
        restored.restore_inflight(message);
    }
    for (const Delivery& delivery : original.queued()) {
        restored.restore_queued(delivery);
    }
    ASSERT_EQ(restored.inflight_count(), original.inflight_count());
    ASSERT_EQ(restored.queued_count(), original.queued_count());

    original.set_receive_maximum(5);
    restored.set_receive_maximum(5);
    const std::vector<OutboundPacket> expected = original.resume();
    const std::vector<OutboundPacket> actual = restored.resume();
    ASSERT_EQ(actual.size(), expected.size());
    ASSERT_EQ(actual.size(), 5u);  // a, b (PUBREL), c, e resent; f fits the fifth slot
    for (std::size_t i = 0; i < actual.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i));
        EXPECT_EQ(actual[i].kind, expected[i].kind);
        EXPECT_EQ(actual[i].dup, expected[i].dup);
        if (expected[i].kind == Kind::Pubrel || expected[i].dup) {
            EXPECT_EQ(actual[i].packet_id, expected[i].packet_id);  // resent: original id
        }
        EXPECT_EQ(actual[i].delivery.message, expected[i].delivery.message);
        EXPECT_EQ(actual[i].delivery.qos, expected[i].delivery.qos);
    }
    EXPECT_EQ(topics_of(actual), (std::vector<std::string>{"a", "", "c", "e", "f"}));
    std::set<protocol::PacketId> ids;
    for (const InflightMessage& message : restored.inflight()) {
        ids.insert(message.packet_id);
    }
    EXPECT_EQ(ids.size(), 5u);  // f's fresh id is distinct from the restored ones
    EXPECT_EQ(restored.queued_count(), 1u);

    // Acknowledgements for restored flows work in their restored state.
    EXPECT_FALSE(restored.on_puback(b).has_value());
    std::optional<std::vector<OutboundPacket>> out = restored.on_pubcomp(b);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), std::vector<std::string>{"g"});
}

TEST(OutboundFlowRestore, NewIdsDoNotCollideWithRestoredOnes) {
    // Restored out of numeric order, around the wrap point, in every state.
    const std::set<protocol::PacketId> restored_ids{65534, 65535, 1, 2, 40'000};
    OutboundFlow flow = make_flow(restored_ids.size() + 1, 0);
    const OutboundState states[] = {OutboundState::AwaitingPuback, OutboundState::AwaitingPubrec,
                                    OutboundState::AwaitingPubcomp};
    std::size_t i = 0;
    for (protocol::PacketId id :
         {protocol::PacketId{65534}, protocol::PacketId{2}, protocol::PacketId{40'000},
          protocol::PacketId{65535}, protocol::PacketId{1}}) {
        const OutboundState state = states[i++ % 3];
        const protocol::Qos qos = state == OutboundState::AwaitingPuback ? 1 : 2;
        flow.restore_inflight(InflightMessage{id, state, make_delivery(qos, "restored")});
    }
    ASSERT_EQ(flow.inflight_count(), restored_ids.size());

    // More than a full cycle of ids through the one free slot.
    std::set<protocol::PacketId> seen;
    for (std::size_t n = 0; n < 70'000; ++n) {
        std::vector<OutboundPacket> out = flow.offer(make_delivery(1, "new"), true);
        ASSERT_EQ(out.size(), 1u) << "message " << n;
        const protocol::PacketId id = out[0].packet_id;
        ASSERT_NE(id, 0) << "message " << n;
        ASSERT_FALSE(restored_ids.contains(id)) << "message " << n << " reused " << id;
        seen.insert(id);
        ASSERT_TRUE(flow.on_puback(id).has_value()) << "message " << n;
    }
    EXPECT_EQ(seen.size(), 65535u - restored_ids.size());
    EXPECT_EQ(flow.inflight_count(), restored_ids.size());
}

TEST(OutboundFlowRestore, RestoredQueueKeepsItsOrderAndFillsTheWindowOnResume) {
    OutboundFlow flow = make_flow(2, 10);
    flow.restore_inflight(
        InflightMessage{7, OutboundState::AwaitingPuback, make_delivery(1, "in/flight")});
    for (const char* topic : {"q1", "q2", "q3"}) {
        flow.restore_queued(make_delivery(1, topic));
    }
    const std::vector<OutboundPacket> out = flow.resume();
    expect_packets(out, {{Kind::Publish, 7, true, "in/flight"}, {Kind::Publish, 0, false, "q1"}});
    EXPECT_NE(out[1].packet_id, 7);

    std::optional<std::vector<OutboundPacket>> next = flow.on_puback(7);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(topics_of(*next), std::vector<std::string>{"q2"});
}

TEST(OutboundFlowRestore, CopyIsAnIndependentSnapshot) {
    // The store may snapshot a flow by copying it: the copy must stand on its own.
    auto original = std::make_unique<OutboundFlow>(make_flow(2, 10));
    const protocol::PacketId a = send_now(*original, 1, "a");
    const protocol::PacketId b = send_now(*original, 2, "b");
    ASSERT_TRUE(original->offer(make_delivery(1, "c"), true).empty());
    ASSERT_TRUE(original->on_pubrec(b).has_value());

    OutboundFlow copy = *original;
    ASSERT_TRUE(original->on_puback(a).has_value());  // only the original moves on
    EXPECT_EQ(original->inflight_count(), 2u);
    EXPECT_EQ(copy.inflight_count(), 2u);
    EXPECT_EQ(copy.queued_count(), 1u);
    original.reset();

    expect_packets(copy.resume(), {{Kind::Publish, a, true, "a"}, {Kind::Pubrel, b, false, ""}});
    std::optional<std::vector<OutboundPacket>> out = copy.on_puback(a);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), std::vector<std::string>{"c"});
    out = copy.on_pubcomp(b);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(copy.inflight_count(), 1u);
    EXPECT_EQ(copy.inflight().front().delivery.message->topic, "c");

    // Copy assignment too, and moving keeps the flow usable.
    OutboundFlow assigned = make_flow(5, 5);
    assigned = copy;
    const protocol::PacketId c = copy.inflight().front().packet_id;
    ASSERT_TRUE(copy.on_puback(c).has_value());
    EXPECT_EQ(assigned.inflight_count(), 1u);
    OutboundFlow moved = std::move(assigned);
    EXPECT_TRUE(moved.on_puback(c).has_value());
    EXPECT_EQ(moved.inflight_count(), 0u);
}

}  // namespace
}  // namespace petrel::session
