// max_inflight_bytes (Mosquitto's option): no new QoS 1/2 flight starts while the bytes in
// flight reach the limit; a message larger than the limit still flies, alone.
#include <gtest/gtest.h>

#include "flow_test_support.hpp"

namespace petrel::session {
namespace {

using namespace flow_testing;

OutboundFlow bytes_flow(std::size_t max_inflight_bytes) {
    return OutboundFlow(OutboundLimits{
        .max_inflight = 20, .max_queued = 100, .max_inflight_bytes = max_inflight_bytes});
}

// make_delivery("tN") is 2 + 13 bytes of topic and payload ("payload of tN").
constexpr std::size_t kSize = 15;

TEST(OutboundInflightBytes, NewFlightsWaitWhileTheBytesReachTheLimit) {
    OutboundFlow flow = bytes_flow(2 * kSize);
    const auto first = send_now(flow, 1, "t1");
    send_now(flow, 2, "t2");
    EXPECT_EQ(flow.inflight_bytes(), 2 * kSize);
    EXPECT_TRUE(flow.offer(make_delivery(1, "t3"), true).empty());  // queued: limit reached
    EXPECT_EQ(queued_topics(flow), std::vector<std::string>{"t3"});
    const auto next = flow.on_puback(first);
    ASSERT_TRUE(next);
    EXPECT_EQ(topics_of(*next), std::vector<std::string>{"t3"});
    EXPECT_EQ(flow.inflight_bytes(), 2 * kSize);
}

TEST(OutboundInflightBytes, ALargerMessageFliesAlone) {
    OutboundFlow flow = bytes_flow(10);
    const auto id = send_now(flow, 2, "t1");  // 15 bytes > 10: allowed, as the first
    EXPECT_TRUE(flow.offer(make_delivery(1, "t2"), true).empty());
    // After PUBREC the payload is gone but the bytes count until PUBCOMP.
    ASSERT_TRUE(flow.on_pubrec(id));
    EXPECT_EQ(flow.inflight_bytes(), kSize);
    const auto next = flow.on_pubcomp(id);
    ASSERT_TRUE(next);
    EXPECT_EQ(topics_of(*next), std::vector<std::string>{"t2"});
    EXPECT_EQ(flow.inflight_bytes(), kSize);
}

TEST(OutboundInflightBytes, QosZeroAndNoLimitAreUnaffected) {
    OutboundFlow limited = bytes_flow(1);
    send_now(limited, 1, "t1");
    EXPECT_EQ(limited.offer(make_delivery(0, "q0"), true).size(), 1U);  // QoS 0: not in flight
    OutboundFlow unlimited = bytes_flow(0);
    for (int i = 0; i < 20; ++i) {
        send_now(unlimited, 1, "t" + std::to_string(i));
    }
    EXPECT_EQ(unlimited.inflight_count(), 20U);
}

TEST(OutboundInflightBytes, ReleasedByDroppingAndRestoring) {
    OutboundFlow flow = bytes_flow(kSize);
    const auto id = send_now(flow, 1, "t1");
    EXPECT_TRUE(flow.offer(make_delivery(1, "t2"), true).empty());
    EXPECT_EQ(topics_of(flow.drop_unsent(id)), std::vector<std::string>{"t2"});
    OutboundFlow restored = bytes_flow(kSize);
    restored.restore_inflight(
        InflightMessage{7, OutboundState::AwaitingPuback, make_delivery(1, "t7")});
    EXPECT_EQ(restored.inflight_bytes(), kSize);
    EXPECT_TRUE(restored.offer(make_delivery(1, "t8"), true).empty());
    OutboundFlow copy = restored;
    EXPECT_EQ(copy.inflight_bytes(), kSize);
}

}  // namespace
}  // namespace petrel::session
