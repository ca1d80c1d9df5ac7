#include "petrel/connection/inbound_window.hpp"

#include <gtest/gtest.h>

namespace petrel::connection {
namespace {

TEST(InboundWindow, QosOneAndTwoCountTogether) {
    InboundWindow window(3);
    session::InboundQos2 qos2;
    EXPECT_FALSE(window.exceeded_by(1, 1, qos2));
    window.qos1_taken();
    EXPECT_FALSE(window.exceeded_by(2, 2, qos2));
    qos2.on_publish(2);
    EXPECT_FALSE(window.exceeded_by(1, 3, qos2));
    window.qos1_taken();
    // Three unanswered: a fourth is one too many, whatever its QoS.
    EXPECT_TRUE(window.exceeded_by(1, 4, qos2));
    EXPECT_TRUE(window.exceeded_by(2, 4, qos2));
    // QoS 0 is never counted.
    EXPECT_FALSE(window.exceeded_by(0, 0, qos2));
    window.qos1_answered();
    EXPECT_FALSE(window.exceeded_by(2, 4, qos2));
    EXPECT_EQ(window.unanswered_qos1(), 1u);
}

TEST(InboundWindow, AResentQos2AwaitingReleaseTakesNoNewPlace) {
    InboundWindow window(1);
    session::InboundQos2 qos2;
    qos2.on_publish(7);
    EXPECT_FALSE(window.exceeded_by(2, 7, qos2));  // the same message again: PUBREC again
    EXPECT_TRUE(window.exceeded_by(2, 8, qos2));
    qos2.on_pubrel(7);
    EXPECT_FALSE(window.exceeded_by(2, 8, qos2));
}

TEST(InboundWindow, WithoutAReceiveMaximumNothingIsHeldAgainstThePeer) {
    InboundWindow window;  // MQTT 3.1.1
    session::InboundQos2 qos2;
    for (protocol::PacketId id = 1; id <= 1000; ++id) {
        window.qos1_taken();
        qos2.on_publish(id);
    }
    EXPECT_FALSE(window.exceeded_by(1, 1001, qos2));
}

TEST(InboundWindow, AnsweringMoreThanWasTakenDoesNotUnderflow) {
    InboundWindow window(2);
    window.qos1_answered();
    EXPECT_EQ(window.unanswered_qos1(), 0u);
}

}  // namespace
}  // namespace petrel::connection
