// InboundQos2: the receiver half of the QoS 2 handshake (MQTT 5.0 section 4.3.3, 3.1.1
// section 4.3.3 [MQTT-4.3.3-2]): deliver once, PUBREC again on duplicates, forget on PUBREL.
#include <gtest/gtest.h>

#include <unordered_set>

#include "petrel/session/inbound_qos2.hpp"

namespace petrel::session {
namespace {

TEST(InboundQos2, StartsEmpty) {
    InboundQos2 inbound;
    EXPECT_EQ(inbound.size(), 0u);
    EXPECT_TRUE(inbound.awaiting_release().empty());
}

TEST(InboundQos2, FirstPublishIsDelivered) {
    InboundQos2 inbound;
    EXPECT_TRUE(inbound.on_publish(10));
    EXPECT_EQ(inbound.size(), 1u);
    EXPECT_TRUE(inbound.awaiting_release().contains(10));
}

TEST(InboundQos2, DuplicatePublishIsNotDeliveredAgain) {
    // [MQTT-4.3.3-10] until PUBREL, a PUBLISH with the same id is answered with PUBREC
    // but not delivered onward again, whether or not it carries DUP.
    InboundQos2 inbound;
    ASSERT_TRUE(inbound.on_publish(10));
    EXPECT_FALSE(inbound.on_publish(10));
    EXPECT_FALSE(inbound.on_publish(10));
    EXPECT_EQ(inbound.size(), 1u);
}

TEST(InboundQos2, PubrelReleasesTheId) {
    // [MQTT-4.3.3-11] PUBREL is answered with PUBCOMP; the id is forgotten.
    InboundQos2 inbound;
    ASSERT_TRUE(inbound.on_publish(10));
    EXPECT_TRUE(inbound.on_pubrel(10));
    EXPECT_EQ(inbound.size(), 0u);
    EXPECT_FALSE(inbound.awaiting_release().contains(10));
}

TEST(InboundQos2, PubrelForAnUnknownIdIsReported) {
    // v5: PUBCOMP with 0x92 Packet Identifier not found.
    InboundQos2 inbound;
    EXPECT_FALSE(inbound.on_pubrel(10));
    ASSERT_TRUE(inbound.on_publish(11));
    EXPECT_FALSE(inbound.on_pubrel(10));
    EXPECT_EQ(inbound.size(), 1u);
}

TEST(InboundQos2, RepeatedPubrelAfterReleaseIsUnknown) {
    // Our PUBCOMP was lost; the client resends PUBREL after reconnecting.
    InboundQos2 inbound;
    ASSERT_TRUE(inbound.on_publish(10));
    ASSERT_TRUE(inbound.on_pubrel(10));
    EXPECT_FALSE(inbound.on_pubrel(10));
}

TEST(InboundQos2, IdIsANewMessageAfterRelease) {
    // [MQTT-4.3.3-12] after PUBCOMP a PUBLISH with the same id is a new message.
    InboundQos2 inbound;
    ASSERT_TRUE(inbound.on_publish(10));
    ASSERT_TRUE(inbound.on_pubrel(10));
    EXPECT_TRUE(inbound.on_publish(10));
    EXPECT_FALSE(inbound.on_publish(10));
    EXPECT_TRUE(inbound.on_pubrel(10));
}

TEST(InboundQos2, IdsAreIndependent) {
    InboundQos2 inbound;
    for (protocol::PacketId id :
         {protocol::PacketId{1}, protocol::PacketId{2}, protocol::PacketId{65535}}) {
        EXPECT_TRUE(inbound.on_publish(id)) << id;
    }
    EXPECT_EQ(inbound.awaiting_release(), (std::unordered_set<protocol::PacketId>{1, 2, 65535}));
    EXPECT_TRUE(inbound.on_pubrel(2));
    EXPECT_FALSE(inbound.on_publish(1));
    EXPECT_FALSE(inbound.on_publish(65535));
    EXPECT_TRUE(inbound.on_publish(2));
    EXPECT_EQ(inbound.size(), 3u);
}

TEST(InboundQos2, ExactlyOnceAcrossAReconnect) {
    // The client sends PUBLISH, the connection drops before our PUBREC arrives, and the
    // client resends PUBLISH (DUP) then PUBREL on the new connection [MQTT-4.4.0-1].
    InboundQos2 inbound;
    int delivered = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (inbound.on_publish(300)) {
            ++delivered;
        }
    }
    EXPECT_EQ(delivered, 1);
    EXPECT_TRUE(inbound.on_pubrel(300));
    EXPECT_EQ(inbound.size(), 0u);
}

TEST(InboundQos2, HoldsTheWholeIdSpace) {
    InboundQos2 inbound;
    for (unsigned id = 1; id <= 65535; ++id) {
        ASSERT_TRUE(inbound.on_publish(static_cast<protocol::PacketId>(id))) << id;
    }
    EXPECT_EQ(inbound.size(), 65535u);
    for (unsigned id = 1; id <= 65535; ++id) {
        ASSERT_FALSE(inbound.on_publish(static_cast<protocol::PacketId>(id))) << id;
        ASSERT_TRUE(inbound.on_pubrel(static_cast<protocol::PacketId>(id))) << id;
    }
    EXPECT_EQ(inbound.size(), 0u);
}

}  // namespace
}  // namespace petrel::session
