// Sessions (spec 3.1.2.4, 4.1): clean versus persistent, the Session Present flag, and a
// persistent session keeping its subscriptions and queued QoS 1/2 messages while away.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "support/broker_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/paho.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PropertyId;

class SessionTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    // Connects, disconnects normally, returns the CONNACK's Session Present flag.
    bool session_present_after_connect(const std::string& id, bool clean_start) {
        RawClient client(broker_.port(), version());
        auto connack = client.connect(id, clean_start);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success);
        const bool present = connack && connack->session_present;
        client.disconnect();
        return present;
    }

    BrokerProcess broker_;
};

TEST_P(SessionTest, SessionPresentFlagFollowsTheSession) {
    const std::string id = "present-flag";
    EXPECT_FALSE(session_present_after_connect(id, false));  // new session [MQTT-3.2.2-3]
    EXPECT_TRUE(session_present_after_connect(id, false));   // resumed [MQTT-3.2.2-2]
    EXPECT_FALSE(session_present_after_connect(id, true));   // clean: discarded [MQTT-3.2.2-1]
    EXPECT_FALSE(session_present_after_connect(id, false));  // so nothing to resume
}

TEST_P(SessionTest, PersistentSessionKeepsSubscriptionsAndQueuedMessages) {
    const std::string id = "persistent-sub";
    {
        RawClient subscriber(broker_.port(), version());
        ASSERT_TRUE(subscriber.connect(id, false));
        ASSERT_TRUE(subscriber.subscribe("sess/1", 1));
        ASSERT_TRUE(subscriber.subscribe("sess/2", 2));
        subscriber.disconnect();
    }
    RawClient publisher(broker_.port(), version());
    ASSERT_TRUE(publisher.connect("persistent-pub"));
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(publisher.publish("sess/1", "one " + std::to_string(i), 1));
        ASSERT_TRUE(publisher.publish("sess/2", "two " + std::to_string(i), 2));
    }

    RawClient subscriber(broker_.port(), version());
    auto connack = subscriber.connect(id, false);
    ASSERT_TRUE(connack);
    EXPECT_TRUE(connack->session_present);
    // Queued while away, delivered in order [MQTT-4.6.0-6] at the subscription's QoS.
    for (int i = 0; i < 3; ++i) {
        for (int qos = 1; qos <= 2; ++qos) {
            auto message = subscriber.receive_publish();
            ASSERT_TRUE(message) << "message " << i << " qos " << qos;
            EXPECT_EQ(payload_of(*message), (qos == 1 ? "one " : "two ") + std::to_string(i));
            EXPECT_EQ(int{message->qos}, int{qos});
        }
    }
    // The subscriptions are still in force without a new SUBSCRIBE.
    ASSERT_TRUE(publisher.publish("sess/2", "live", 2));
    auto live = subscriber.receive_publish();
    ASSERT_TRUE(live);
    EXPECT_EQ(payload_of(*live), "live");
    subscriber.expect_nothing(200ms);
}

TEST_P(SessionTest, CleanSessionForgetsSubscriptions) {
    {
        RawClient subscriber(broker_.port(), version());
        ASSERT_TRUE(subscriber.connect("clean-sub", true));
        ASSERT_TRUE(subscriber.subscribe("clean/t", 1));
        subscriber.disconnect();
    }
    RawClient subscriber(broker_.port(), version());
    auto connack = subscriber.connect("clean-sub", true);
    ASSERT_TRUE(connack);
    EXPECT_FALSE(connack->session_present);
    ASSERT_TRUE(subscriber.subscribe("clean/marker", 1));
    RawClient publisher(broker_.port(), version());
    ASSERT_TRUE(publisher.connect("clean-pub"));
    ASSERT_TRUE(publisher.publish("clean/t", "old subscription", 1));
    ASSERT_TRUE(publisher.publish("clean/marker", "marker", 1));
    auto first = subscriber.receive_publish();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->topic, "clean/marker") << "delivered on a forgotten subscription";
}

TEST_P(SessionTest, TakeoverOfAPersistentSessionKeepsIt) {
    RawClient first(broker_.port(), version());
    ASSERT_TRUE(first.connect("takeover-keep", false));
    ASSERT_TRUE(first.subscribe("keep/t", 1));
    RawClient second(broker_.port(), version());
    auto connack = second.connect("takeover-keep", false);
    ASSERT_TRUE(connack);
    EXPECT_TRUE(connack->session_present);
    EXPECT_TRUE(first.wait_closed());
    RawClient publisher(broker_.port(), version());
    ASSERT_TRUE(publisher.connect("takeover-keep-pub"));
    ASSERT_TRUE(publisher.publish("keep/t", "kept", 1));
    auto message = second.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "kept");
}

TEST_P(SessionTest, SessionPresentWithPaho) {
    const bool v5 = is_v5(version());
    const auto options = paho_connect_options(v5, /*clean=*/false, /*session_expiry=*/600);
    auto client = make_paho_client(broker_.port(), "paho-session", v5);
    client->start_consuming();
    auto token = client->connect(options);
    token->wait();
    EXPECT_FALSE(token->get_connect_response().is_session_present());
    client->subscribe("paho/session", 1)->wait();
    client->disconnect()->wait();

    RawClient publisher(broker_.port(), version());
    ASSERT_TRUE(publisher.connect("paho-session-pub"));
    ASSERT_TRUE(publisher.publish("paho/session", "while away", 1));

    token = client->connect(options);
    token->wait();
    EXPECT_TRUE(token->get_connect_response().is_session_present());
    mqtt::const_message_ptr message;
    ASSERT_TRUE(client->try_consume_message_for(&message, 5s));
    EXPECT_EQ(message->get_payload_str(), "while away");
    EXPECT_EQ(message->get_qos(), 1);
    client->disconnect()->wait();
}

TEST_P(SessionTest, PersistentSessionWithLibmosquitto) {
    MosquittoOptions options;
    options.client_id = "mosq-persistent";
    options.v5 = is_v5(version());
    options.clean_session = false;
    options.session_expiry = 600;
    MosquittoClient subscriber(options);
    ASSERT_EQ(subscriber.connect(broker_.port()), 0);
    EXPECT_FALSE(subscriber.session_present());
    ASSERT_TRUE(subscriber.subscribe("mosq/session", 2));
    subscriber.disconnect();

    RawClient publisher(broker_.port(), version());
    ASSERT_TRUE(publisher.connect("mosq-session-pub"));
    ASSERT_TRUE(publisher.publish("mosq/session", "queued 1", 1));
    ASSERT_TRUE(publisher.publish("mosq/session", "queued 2", 2));

    ASSERT_EQ(subscriber.connect(broker_.port()), 0);
    EXPECT_TRUE(subscriber.session_present());
    ASSERT_TRUE(subscriber.wait_for(2));
    const auto messages = subscriber.messages();
    EXPECT_EQ(messages[0].payload, "queued 1");
    EXPECT_EQ(messages[0].qos, 1);
    EXPECT_EQ(messages[1].payload, "queued 2");
    EXPECT_EQ(messages[1].qos, 2);
}

INSTANTIATE_TEST_SUITE_P(Versions, SessionTest, both_versions(), VersionParamName{});

// --- v5 session expiry ---

TEST(SessionV5Test, NoSessionExpiryEndsTheSessionWithTheConnection) {
    BrokerProcess broker;
    {
        RawClient client(broker.port(), ProtocolVersion::V5);
        auto connect = client.connect_packet("expiry-zero", false);
        connect.properties.remove(PropertyId::SessionExpiryInterval);  // absent means 0
        ASSERT_TRUE(client.connect(connect));
        ASSERT_TRUE(client.subscribe("expiry/t", 1));
        client.disconnect();
    }
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect("expiry-zero", false);
    ASSERT_TRUE(connack);
    EXPECT_FALSE(connack->session_present);  // v5 3.1.2.11.2
}

TEST(SessionV5Test, SessionExpiresAfterItsInterval) {
    BrokerProcess broker;
    {
        RawClient client(broker.port(), ProtocolVersion::V5);
        auto connect = client.connect_packet("expiry-one", false);
        connect.properties.set_number(PropertyId::SessionExpiryInterval, 1);
        ASSERT_TRUE(client.connect(connect));
        client.disconnect();
    }
    std::this_thread::sleep_for(2500ms);  // the interval under test, with a margin
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect("expiry-one", false);
    ASSERT_TRUE(connack);
    EXPECT_FALSE(connack->session_present);
}

}  // namespace
}  // namespace petrel::test
