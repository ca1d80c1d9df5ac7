// OutboundFlow's outgoing QoS 2 handshake (MQTT 5.0 section 4.3.3) and the handling of
// acknowledgements that do not match a flow in flight.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flow_test_support.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::session {
namespace {

using Kind = OutboundPacket::Kind;
using namespace petrel::session::flow_testing;

// ---- Outgoing QoS 2 --------------------------------------------------------------------

TEST(OutboundFlowQos2, PubrecAnswersWithPubrelAndAwaitsPubcomp) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubrec);

    std::optional<std::vector<OutboundPacket>> out = flow.on_pubrec(id);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(out->size(), 1u);  // [MQTT-4.3.3-4] PUBREL with the same packet id
    EXPECT_EQ((*out)[0].kind, Kind::Pubrel);
    EXPECT_EQ((*out)[0].packet_id, id);
    EXPECT_FALSE((*out)[0].dup);
    EXPECT_EQ((*out)[0].delivery.message, nullptr);

    ASSERT_EQ(flow.inflight_count(), 1u);  // [MQTT-4.3.3-5] unacknowledged until PUBCOMP
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubcomp);
    EXPECT_EQ(flow.inflight().front().packet_id, id);
}

TEST(OutboundFlowQos2, RepeatedPubrecAnswersWithPubrelAgain) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_TRUE(flow.on_pubrec(id).has_value());
    for (int i = 0; i < 2; ++i) {
        std::optional<std::vector<OutboundPacket>> out = flow.on_pubrec(id);
        ASSERT_TRUE(out.has_value());
        ASSERT_EQ(out->size(), 1u);
        EXPECT_EQ((*out)[0].kind, Kind::Pubrel);
        EXPECT_EQ((*out)[0].packet_id, id);
        EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubcomp);
    }
    EXPECT_EQ(flow.inflight_count(), 1u);
}

TEST(OutboundFlowQos2, PubcompFreesTheSlotAndTheId) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_TRUE(flow.on_pubrec(id).has_value());
    std::optional<std::vector<OutboundPacket>> out = flow.on_pubcomp(id);
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(out->empty());
    EXPECT_EQ(flow.inflight_count(), 0u);
    // The flow is over: every further acknowledgement for the id is unknown.
    EXPECT_FALSE(flow.on_pubcomp(id).has_value());
    EXPECT_FALSE(flow.on_pubrec(id).has_value());
    EXPECT_FALSE(flow.on_puback(id).has_value());
    EXPECT_FALSE(flow.on_pubrec_failed(id).has_value());
}

TEST(OutboundFlowQos2, PubcompBeforePubrecIsRejectedWithoutStateChange) {
    OutboundFlow flow = make_flow(1, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_TRUE(flow.offer(make_delivery(1, "queued"), true).empty());
    EXPECT_FALSE(flow.on_pubcomp(id).has_value());
    ASSERT_EQ(flow.inflight_count(), 1u);
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubrec);
    EXPECT_NE(flow.inflight().front().delivery.message, nullptr);
    EXPECT_EQ(flow.queued_count(), 1u);
}

TEST(OutboundFlowQos2, PubackForAQos2IdIsRejectedWithoutStateChange) {
    OutboundFlow flow = make_flow(1, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_TRUE(flow.offer(make_delivery(1, "queued"), true).empty());
    EXPECT_FALSE(flow.on_puback(id).has_value());
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubrec);

    ASSERT_TRUE(flow.on_pubrec(id).has_value());
    EXPECT_FALSE(flow.on_puback(id).has_value());
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubcomp);
    EXPECT_EQ(flow.inflight_count(), 1u);
    EXPECT_EQ(flow.queued_count(), 1u);
}

TEST(OutboundFlowQos2, Qos1IdRejectsPubrecPubcompAndFailedPubrec) {
    OutboundFlow flow = make_flow(1, 10);
    const protocol::PacketId id = send_now(flow, 1, "q1");
    ASSERT_TRUE(flow.offer(make_delivery(1, "queued"), true).empty());
    EXPECT_FALSE(flow.on_pubcomp(id).has_value());
    EXPECT_FALSE(flow.on_pubrec(id).has_value());
    EXPECT_FALSE(flow.on_pubrec_failed(id).has_value());
    ASSERT_EQ(flow.inflight_count(), 1u);
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPuback);
    EXPECT_NE(flow.inflight().front().delivery.message, nullptr);
    EXPECT_EQ(flow.queued_count(), 1u);
    // The rightful acknowledgement still works afterwards.
    std::optional<std::vector<OutboundPacket>> out = flow.on_puback(id);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), std::vector<std::string>{"queued"});
}

TEST(OutboundFlowQos2, FailedPubrecAfterPubrelIsRejected) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_TRUE(flow.on_pubrec(id).has_value());
    EXPECT_FALSE(flow.on_pubrec_failed(id).has_value());
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubcomp);
}

TEST(OutboundFlowQos2, FailedPubrecEndsTheFlow) {
    // [MQTT-4.4.0-2] a PUBREC >= 0x80 acknowledges the PUBLISH: no PUBREL, no resend.
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    std::optional<std::vector<OutboundPacket>> out = flow.on_pubrec_failed(id);
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(out->empty());
    EXPECT_EQ(flow.inflight_count(), 0u);
    EXPECT_FALSE(flow.on_pubrec(id).has_value());
    EXPECT_TRUE(flow.resume().empty());
}

TEST(OutboundFlowAcks, UnknownIdsAreRejected) {
    OutboundFlow flow = make_flow(5, 10);
    for (protocol::PacketId id : {protocol::PacketId{0}, protocol::PacketId{1},
                                  protocol::PacketId{42}, protocol::PacketId{65535}}) {
        EXPECT_FALSE(flow.on_puback(id).has_value()) << id;
        EXPECT_FALSE(flow.on_pubrec(id).has_value()) << id;
        EXPECT_FALSE(flow.on_pubcomp(id).has_value()) << id;
        EXPECT_FALSE(flow.on_pubrec_failed(id).has_value()) << id;
    }

    const protocol::PacketId q1 = send_now(flow, 1, "q1");
    const protocol::PacketId q2 = send_now(flow, 2, "q2");
    protocol::PacketId unknown = 1;
    while (unknown == q1 || unknown == q2) {
        ++unknown;
    }
    EXPECT_FALSE(flow.on_puback(unknown).has_value());
    EXPECT_FALSE(flow.on_pubrec(unknown).has_value());
    EXPECT_FALSE(flow.on_pubcomp(unknown).has_value());
    EXPECT_FALSE(flow.on_pubrec_failed(unknown).has_value());
    EXPECT_FALSE(flow.on_puback(0).has_value());
    EXPECT_EQ(flow.inflight_count(), 2u);
}

TEST(OutboundFlowAcks, SecondPubackForTheSameIdIsRejected) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 1, "q1");
    ASSERT_TRUE(flow.on_puback(id).has_value());
    EXPECT_FALSE(flow.on_puback(id).has_value());
    EXPECT_EQ(flow.inflight_count(), 0u);
}

}  // namespace
}  // namespace petrel::session
