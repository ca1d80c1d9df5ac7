// Session: the state that outlives a connection, and its expiry bookkeeping
// (MQTT 5.0 3.1.2.11.2 Session Expiry Interval; 3.1.1 Clean Session, section 3.1.2.4).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "petrel/session/session.hpp"

namespace petrel::session {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

// A fixed, arbitrary point: the session has no clock of its own.
const Clock::time_point kNow = Clock::time_point{} + std::chrono::hours(5);

Session make_session(std::uint32_t expiry_interval) {
    Session session("client-1", OutboundLimits{.max_inflight = 4, .max_queued = 10});
    session.expiry_interval = expiry_interval;
    return session;
}

Delivery make_delivery(protocol::Qos qos, std::string topic) {
    auto message = std::make_shared<Message>();
    message->topic = std::move(topic);
    message->qos = qos;
    Delivery delivery;
    delivery.message = message;
    delivery.qos = qos;
    return delivery;
}

TEST(Session, StartsAttachedWithDefaults) {
    Session session("client-1", OutboundLimits{.max_inflight = 4, .max_queued = 10});
    EXPECT_EQ(session.client_id(), "client-1");
    EXPECT_EQ(session.version, protocol::ProtocolVersion::V311);
    EXPECT_EQ(session.expiry_interval, 0u);
    EXPECT_FALSE(session.expires_at.has_value());
    EXPECT_FALSE(session.expired(kNow));
    EXPECT_TRUE(session.subscriptions.empty());
    EXPECT_FALSE(session.will.has_value());
    EXPECT_EQ(session.outbound().window(), 4u);
    EXPECT_EQ(session.inbound_qos2().size(), 0u);
}

TEST(Session, FiniteIntervalExpiresExactlyIntervalAfterTheConnectionIsLost) {
    Session session = make_session(30);
    session.on_connection_lost(kNow);
    ASSERT_TRUE(session.expires_at.has_value());
    EXPECT_EQ(*session.expires_at, kNow + seconds(30));
    EXPECT_FALSE(session.expired(kNow));
    EXPECT_FALSE(session.expired(kNow + seconds(29)));
    EXPECT_FALSE(session.expired(kNow + seconds(30) - nanoseconds(1)));
    EXPECT_TRUE(session.expired(kNow + seconds(30)));
    EXPECT_TRUE(session.expired(kNow + seconds(31)));
}

TEST(Session, ZeroIntervalEndsWithTheConnection) {
    // v5 interval 0, or a 3.1.1 clean session: the session ends when the connection closes.
    Session session = make_session(0);
    session.on_connection_lost(kNow);
    EXPECT_TRUE(session.expired(kNow));
    EXPECT_FALSE(session.expired(kNow - nanoseconds(1)));
}

TEST(Session, NeverExpiresValueNeverExpires) {
    // 0xFFFFFFFF: the session does not expire (3.1.2.11.2); a 3.1.1 persistent session.
    Session session = make_session(kSessionNeverExpires);
    session.on_connection_lost(kNow);
    EXPECT_FALSE(session.expires_at.has_value());
    EXPECT_FALSE(session.expired(kNow));
    EXPECT_FALSE(session.expired(kNow + seconds(kSessionNeverExpires)));
    EXPECT_FALSE(session.expired(kNow + std::chrono::hours(24 * 365 * 200)));
    EXPECT_FALSE(session.expired(Clock::time_point::max()));
}

TEST(Session, LargestFiniteIntervalDoesNotOverflow) {
    const std::uint32_t interval = kSessionNeverExpires - 1;
    Session session = make_session(interval);
    session.on_connection_lost(kNow);
    ASSERT_TRUE(session.expires_at.has_value());
    EXPECT_GT(*session.expires_at, kNow);
    EXPECT_FALSE(session.expired(kNow + seconds(interval - 1)));
    EXPECT_TRUE(session.expired(kNow + seconds(interval)));
}

TEST(Session, AttachingAConnectionClearsTheExpiry) {
    Session session = make_session(30);
    session.on_connection_lost(kNow);
    ASSERT_TRUE(session.expires_at.has_value());
    session.on_connection_attached();
    EXPECT_FALSE(session.expires_at.has_value());
    EXPECT_FALSE(session.expired(kNow + seconds(30)));
    EXPECT_FALSE(session.expired(kNow + std::chrono::hours(1000)));
}

TEST(Session, EachDisconnectRestartsTheCountdown) {
    Session session = make_session(30);
    session.on_connection_lost(kNow);
    session.on_connection_attached();
    session.on_connection_lost(kNow + seconds(20));
    EXPECT_FALSE(session.expired(kNow + seconds(30)));
    EXPECT_FALSE(session.expired(kNow + seconds(49)));
    EXPECT_TRUE(session.expired(kNow + seconds(50)));
}

TEST(Session, IntervalOfTheLatestConnectionApplies) {
    // v5: the interval can change with each CONNECT (and in DISCONNECT).
    Session session = make_session(10);
    session.on_connection_lost(kNow);
    session.on_connection_attached();
    session.expiry_interval = kSessionNeverExpires;
    session.on_connection_lost(kNow + seconds(5));
    EXPECT_FALSE(session.expires_at.has_value());
    EXPECT_FALSE(session.expired(kNow + std::chrono::hours(1000)));

    session.on_connection_attached();
    session.expiry_interval = 60;
    session.on_connection_lost(kNow + seconds(100));
    EXPECT_FALSE(session.expired(kNow + seconds(159)));
    EXPECT_TRUE(session.expired(kNow + seconds(160)));
}

TEST(Session, MessageStateSurvivesAReconnect) {
    Session session = make_session(kSessionNeverExpires);
    std::vector<OutboundPacket> out = session.outbound().offer(make_delivery(1, "a"), true);
    ASSERT_EQ(out.size(), 1u);
    const protocol::PacketId id = out[0].packet_id;
    ASSERT_TRUE(session.inbound_qos2().on_publish(77));

    session.on_connection_lost(kNow);
    EXPECT_TRUE(session.outbound().offer(make_delivery(2, "b"), false).empty());
    session.on_connection_attached();

    out = session.outbound().resume();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].packet_id, id);
    EXPECT_TRUE(out[0].dup);
    EXPECT_EQ(out[1].delivery.message->topic, "b");
    EXPECT_FALSE(out[1].dup);
    // The client's PUBLISH 77 resent after the reconnect is a duplicate.
    EXPECT_FALSE(session.inbound_qos2().on_publish(77));
    EXPECT_TRUE(session.inbound_qos2().on_pubrel(77));
}

TEST(Session, SubscriptionsAreLookedUpByFilterWithoutCopying) {
    Session session = make_session(0);
    SubscriptionRecord record;
    record.options.qos = 2;
    record.options.no_local = true;
    record.subscription_id = 12;
    session.subscriptions.emplace("$share/group/sensors/#", record);
    session.subscriptions.emplace("sensors/+/temperature", SubscriptionRecord{});

    const std::string_view filter = "$share/group/sensors/#";
    auto found = session.subscriptions.find(filter);  // heterogeneous: std::less<>
    ASSERT_NE(found, session.subscriptions.end());
    EXPECT_EQ(found->second.options, record.options);
    EXPECT_EQ(found->second.subscription_id, 12u);
    EXPECT_FALSE(session.subscriptions.find(std::string_view("sensors/#")) !=
                 session.subscriptions.end());
}

}  // namespace
}  // namespace petrel::session
