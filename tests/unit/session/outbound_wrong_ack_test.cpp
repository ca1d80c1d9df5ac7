// OutboundFlow's verdict on acknowledgements: one of the wrong kind for a packet id in
// flight (PUBACK for QoS 2, PUBREC or PUBCOMP for QoS 1, PUBCOMP before PUBREC) is a
// Protocol Error the caller acts on, and the delivery stays in flight for the next
// connection; an id not in flight is merely ignored.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "flow_test_support.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::session {
namespace {

using namespace petrel::session::flow_testing;

// After a wrong acknowledgement the delivery is still the one in flight, and a new
// connection gets it again with DUP set [MQTT-4.4.0-1].
void expect_still_in_flight(OutboundFlow& flow, protocol::PacketId id, OutboundState state,
                            const std::string& topic) {
    ASSERT_EQ(flow.inflight_count(), 1u);
    EXPECT_EQ(flow.inflight().front().packet_id, id);
    EXPECT_EQ(flow.inflight().front().state, state);
    const std::vector<OutboundPacket> resent = flow.resume();
    ASSERT_EQ(resent.size(), 1u);
    EXPECT_EQ(resent[0].packet_id, id);
    if (state == OutboundState::AwaitingPubcomp) {
        EXPECT_EQ(resent[0].kind, Kind::Pubrel);
    } else {
        EXPECT_EQ(resent[0].kind, Kind::Publish);
        EXPECT_TRUE(resent[0].dup);
        EXPECT_EQ(topic_of(resent[0]), topic);
    }
}

TEST(OutboundFlowWrongAck, PubrecOrPubcompForQos1IsAProtocolError) {
    for (int which = 0; which < 3; ++which) {
        SCOPED_TRACE(which);
        OutboundFlow flow = make_flow(5, 10);
        const protocol::PacketId id = send_now(flow, 1, "q1");
        AckOutcome outcome = AckOutcome::Applied;
        std::optional<std::vector<OutboundPacket>> out;
        if (which == 0) {
            out = flow.on_pubrec(id, &outcome);
        } else if (which == 1) {
            out = flow.on_pubcomp(id, &outcome);
        } else {
            out = flow.on_pubrec_failed(id, &outcome);  // a v5 PUBREC >= 0x80
        }
        EXPECT_FALSE(out.has_value());
        EXPECT_EQ(outcome, AckOutcome::WrongKind);
        expect_still_in_flight(flow, id, OutboundState::AwaitingPuback, "q1");
    }
}

TEST(OutboundFlowWrongAck, PubackForQos2IsAProtocolError) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    AckOutcome outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_puback(id, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::WrongKind);
    expect_still_in_flight(flow, id, OutboundState::AwaitingPubrec, "q2");
}

TEST(OutboundFlowWrongAck, PubcompBeforePubrecIsAProtocolError) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    AckOutcome outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_pubcomp(id, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::WrongKind);
    expect_still_in_flight(flow, id, OutboundState::AwaitingPubrec, "q2");
}

TEST(OutboundFlowWrongAck, PubackAfterPubrecIsAProtocolError) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_TRUE(flow.on_pubrec(id).has_value());
    AckOutcome outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_puback(id, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::WrongKind);
    expect_still_in_flight(flow, id, OutboundState::AwaitingPubcomp, "q2");
}

TEST(OutboundFlowWrongAck, FailedPubrecAfterPubrecIsOnlyIgnored) {
    // The right kind for a QoS 2 flow that is already past it: nothing changes.
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId id = send_now(flow, 2, "q2");
    ASSERT_TRUE(flow.on_pubrec(id).has_value());
    AckOutcome outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_pubrec_failed(id, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Ignored);
    EXPECT_EQ(flow.inflight().front().state, OutboundState::AwaitingPubcomp);
}

TEST(OutboundFlowWrongAck, UnknownIdsAreIgnoredAndRightAcksApplied) {
    OutboundFlow flow = make_flow(5, 10);
    const protocol::PacketId qos1 = send_now(flow, 1, "q1");
    const protocol::PacketId qos2 = send_now(flow, 2, "q2");
    const protocol::PacketId unknown = 999;
    AckOutcome outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_puback(unknown, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Ignored);
    outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_pubrec(unknown, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Ignored);
    outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_pubcomp(unknown, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Ignored);

    outcome = AckOutcome::WrongKind;
    EXPECT_TRUE(flow.on_puback(qos1, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Applied);
    outcome = AckOutcome::WrongKind;
    EXPECT_TRUE(flow.on_pubrec(qos2, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Applied);
    outcome = AckOutcome::WrongKind;
    EXPECT_TRUE(flow.on_pubcomp(qos2, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Applied);
    EXPECT_EQ(flow.inflight_count(), 0u);
    // Released ids are no longer in flight: a late acknowledgement is ignored.
    outcome = AckOutcome::Applied;
    EXPECT_FALSE(flow.on_pubcomp(qos1, &outcome).has_value());
    EXPECT_EQ(outcome, AckOutcome::Ignored);
}

}  // namespace
}  // namespace petrel::session
