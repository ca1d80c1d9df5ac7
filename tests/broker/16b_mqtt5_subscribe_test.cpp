// MQTT 5 subscriber-side features through the real binary (spec 3.8.2.1.2, 3.8.3.1, 3.9.3,
// 3.11.3, 3.3.2.3.3): Subscription Identifiers on live and retained deliveries, the
// subscription options No Local, Retain As Published and Retain Handling, the per-filter
// reason codes of SUBACK and UNSUBACK, and Message Expiry as subscribers see it (online,
// queued for an offline session, across a restart, retained, behind the receive window). Every test
// runs two workers and puts the publisher and its subscribers on different ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/paho.hpp"
#include "support/raw_client.hpp"
#include "support/wait.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Properties;
using protocol::PropertyId;
using protocol::RetainHandling;
using protocol::Subscription;

constexpr unsigned kThreads = 2;

Subscription subscription(std::string filter, Qos qos,
                          RetainHandling handling = RetainHandling::SendOnSubscribe,
                          bool retain_as_published = false) {
    Subscription result;
    result.filter = std::move(filter);
    result.options.qos = qos;
    result.options.retain_handling = handling;
    result.options.retain_as_published = retain_as_published;
    return result;
}

// SUBSCRIBE with an optional Subscription Identifier; returns the SUBACK.
std::optional<protocol::Suback> subscribe(RawClient& client,
                                          std::vector<Subscription> subscriptions,
                                          std::optional<std::uint32_t> subscription_id = {}) {
    protocol::Subscribe subscribe;
    subscribe.packet_id = client.next_packet_id();
    subscribe.subscriptions = std::move(subscriptions);
    if (subscription_id) {
        subscribe.properties.add_number(PropertyId::SubscriptionIdentifier, *subscription_id);
    }
    if (!client.send(subscribe)) {
        ADD_FAILURE() << "could not send SUBSCRIBE";
        return std::nullopt;
    }
    const protocol::PacketId id = subscribe.packet_id;
    return client.wait_for<protocol::Suback>(
        kDefaultTimeout, [id](const protocol::Suback& ack) { return ack.packet_id == id; });
}

// The Subscription Identifiers of a PUBLISH, sorted (their order is not significant,
// [MQTT-3.3.4-4]).
std::vector<std::uint32_t> subscription_ids(const protocol::Publish& publish) {
    std::vector<std::uint32_t> ids;
    for (const protocol::Property& property : publish.properties) {
        if (property.id == PropertyId::SubscriptionIdentifier) {
            ids.push_back(property.number);
        }
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

class Mqtt5SubscribeTest : public ::testing::Test {
  protected:
    static std::string id_on(const std::string& stem, unsigned worker) {
        return client_id_on_worker(stem, worker, kThreads);
    }
    void expect_worker(const std::string& id, unsigned worker) {
        expect_on_worker(broker(), id, worker);
    }
    // A v5 client connected as `id`, which must be homed on `worker`.
    std::unique_ptr<RawClient> connect_as(const std::string& id, unsigned worker, bool clean = true,
                                          bool present = false) {
        auto client = connected(broker().port(), ProtocolVersion::V5, id, clean, present);
        expect_worker(id, worker);
        return client;
    }
    // A clean v5 client with a fresh id homed on `worker`.
    std::unique_ptr<RawClient> raw(const std::string& stem, unsigned worker) {
        return connect_as(id_on(stem, worker), worker);
    }
    BrokerProcess& broker() { return broker_; }

  private:
    BrokerProcess broker_{"threads 2"};
};

// --- Subscription Identifiers ---

TEST_F(Mqtt5SubscribeTest, OverlappingSubscriptionsDeliverOnceWithBothIdentifiers) {
    auto subscriber = raw("sid-sub", 1);
    ASSERT_TRUE(subscribe(*subscriber, {subscription("sid/+", 1)}, 5));
    ASSERT_TRUE(subscribe(*subscriber, {subscription("sid/#", 1)}, 7));
    const std::string paho_id = id_on("sid-paho", 1);
    auto paho = make_paho_client(broker().port(), paho_id, true);
    paho->start_consuming();
    paho->connect(paho_connect_options(true, true))->wait();
    expect_worker(paho_id, 1);
    using P = mqtt::property;
    paho->subscribe("sid/+", 1, mqtt::subscribe_options(), {P(P::SUBSCRIPTION_IDENTIFIER, 5)})
        ->wait();
    paho->subscribe("sid/#", 1, mqtt::subscribe_options(), {P(P::SUBSCRIPTION_IDENTIFIER, 7)})
        ->wait();

    auto publisher = raw("sid-pub", 0);
    ASSERT_TRUE(publisher->publish("sid/x", "one copy", 1));
    // [MQTT-3.3.4-3], [MQTT-3.3.4-4] one copy carrying the ids of both subscriptions.
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(subscription_ids(*message), (std::vector<std::uint32_t>{5, 7}));
    subscriber->expect_nothing();

    mqtt::const_message_ptr received;
    ASSERT_TRUE(paho->try_consume_message_for(&received, 5s));
    std::vector<std::uint32_t> ids;
    for (std::size_t i = 0; i < received->get_properties().count(P::SUBSCRIPTION_IDENTIFIER); ++i) {
        ids.push_back(
            mqtt::get<std::uint32_t>(received->get_properties(), P::SUBSCRIPTION_IDENTIFIER, i));
    }
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{5, 7}));
    EXPECT_FALSE(paho->try_consume_message_for(&received, 300ms)) << "delivered twice";
    paho->disconnect()->wait();
}

TEST_F(Mqtt5SubscribeTest, RetainedMessageCarriesTheSubscribingIdentifier) {
    auto publisher = raw("sid-ret-pub", 0);
    ASSERT_TRUE(publisher->publish("sidr/t", "kept", 1, /*retain=*/true));
    auto subscriber = raw("sid-ret-sub", 1);
    ASSERT_TRUE(subscribe(*subscriber, {subscription("sidr/#", 1)}, 9));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_TRUE(message->retain);
    EXPECT_EQ(subscription_ids(*message), std::vector<std::uint32_t>{9});
    // A later subscription with another id sends it with that id only.
    ASSERT_TRUE(subscribe(*subscriber, {subscription("sidr/t", 1)}, 11));
    message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(subscription_ids(*message), std::vector<std::uint32_t>{11});
}

TEST(Mqtt5SubscribeConfigTest, SubscriptionIdentifierRefusedWhenUnavailable) {
    BrokerProcess broker{"threads 2\nsubscription_identifier_available false"};
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect(client_id_on_worker("sid-off", 1, kThreads));
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->properties.number(PropertyId::SubscriptionIdentifierAvailable), 0u);
    auto suback = subscribe(client, {subscription("a/b", 1), subscription("c/d", 0)}, 3);
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons, (std::vector<protocol::SubackReason>{
                                   ReasonCode::SubscriptionIdentifiersNotSupported,
                                   ReasonCode::SubscriptionIdentifiersNotSupported}));
    // Without an id the same filters are accepted.
    suback = subscribe(client, {subscription("a/b", 1), subscription("c/d", 0)});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons,
              (std::vector<protocol::SubackReason>{ReasonCode::GrantedQos1, ReasonCode::Success}));
}

// --- subscription options ---

TEST_F(Mqtt5SubscribeTest, NoLocalWithPaho) {
    const std::string own_id = id_on("nl-paho", 0);
    auto own = make_paho_client(broker().port(), own_id, true);
    own->start_consuming();
    own->connect(paho_connect_options(true, true))->wait();
    expect_worker(own_id, 0);
    own->subscribe("nl/t", 1, mqtt::subscribe_options(/*noLocal=*/true))->wait();
    auto other = raw("nl-other", 1);
    ASSERT_TRUE(other->subscribe("nl/t", 1));

    own->publish(mqtt::make_message("nl/t", "own", 1, false))->wait();
    auto message = other->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "own");
    mqtt::const_message_ptr received;
    // [MQTT-3.8.3-3] not forwarded to the publishing client...
    EXPECT_FALSE(own->try_consume_message_for(&received, 300ms)) << received->get_payload_str();
    // ...but other clients' messages are.
    ASSERT_TRUE(other->publish("nl/t", "other", 1));
    ASSERT_TRUE(own->try_consume_message_for(&received, 5s));
    EXPECT_EQ(received->get_payload_str(), "other");
    own->disconnect()->wait();
}

TEST_F(Mqtt5SubscribeTest, RetainAsPublishedKeepsOrClearsTheFlag) {
    auto cleared = raw("rap-0", 1);
    ASSERT_TRUE(subscribe(*cleared, {subscription("rap/t", 1)}));
    auto kept = raw("rap-1", 1);
    ASSERT_TRUE(
        subscribe(*kept, {subscription("rap/t", 1, RetainHandling::SendOnSubscribe, true)}));
    auto publisher = raw("rap-pub", 0);
    ASSERT_TRUE(publisher->publish("rap/t", "retained", 1, /*retain=*/true));
    ASSERT_TRUE(publisher->publish("rap/t", "plain", 1, /*retain=*/false));

    auto first = cleared->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->retain);  // [MQTT-3.3.1-12]
    first = kept->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->retain);  // [MQTT-3.3.1-13]
    auto second = kept->receive_publish();
    ASSERT_TRUE(second);
    EXPECT_EQ(payload_of(*second), "plain");
    EXPECT_FALSE(second->retain);  // as published
}

TEST_F(Mqtt5SubscribeTest, RetainHandlingZeroOneTwo) {
    auto publisher = raw("rh-pub", 0);
    ASSERT_TRUE(publisher->publish("rh/t", "retained", 1, /*retain=*/true));
    auto subscriber = raw("rh-sub", 1);
    const auto expect_retained = [&](const char* what) {
        auto message = subscriber->receive_publish();
        ASSERT_TRUE(message) << what;
        EXPECT_EQ(payload_of(*message), "retained") << what;
        EXPECT_TRUE(message->retain) << what;
    };
    // [MQTT-3.3.1-9] 0: on every SUBSCRIBE, new or not.
    ASSERT_TRUE(subscribe(*subscriber, {subscription("rh/t", 1, RetainHandling::SendOnSubscribe)}));
    expect_retained("handling 0, new");
    ASSERT_TRUE(subscribe(*subscriber, {subscription("rh/t", 1, RetainHandling::SendOnSubscribe)}));
    expect_retained("handling 0, repeated");
    // [MQTT-3.3.1-10] 1: only when the subscription is new.
    const auto if_new = subscription("rh/+", 1, RetainHandling::SendIfNewSubscription);
    ASSERT_TRUE(subscribe(*subscriber, {if_new}));
    expect_retained("handling 1, new");
    ASSERT_TRUE(subscribe(*subscriber, {if_new}));
    subscriber->expect_nothing();
    // [MQTT-3.3.1-11] 2: never.
    ASSERT_TRUE(subscribe(*subscriber, {subscription("rh/#", 1, RetainHandling::DoNotSend)}));
    subscriber->expect_nothing();
    // The subscriptions are in force: a live message arrives once, RETAIN 0.
    ASSERT_TRUE(publisher->publish("rh/t", "live", 1));
    auto live = subscriber->receive_publish();
    ASSERT_TRUE(live);
    EXPECT_EQ(payload_of(*live), "live");
    EXPECT_FALSE(live->retain);
    subscriber->expect_nothing();
}

// --- reason codes ---

TEST(Mqtt5SubscribeConfigTest, SubackReasonCodePerFilter) {
    BrokerProcess broker{
        "threads 2\nshared_subscription_available false\nwildcard_subscription_available "
        "false\nmax_subscriptions_per_client 2"};
    const std::string id = client_id_on_worker("suback-codes", 1, kThreads);
    RawClient client(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(client.connect(id));
    auto suback = subscribe(client, {
                                        subscription("ok/one", 1),
                                        subscription("a/#/b", 1),
                                        subscription("$share/g/x", 1),
                                        subscription("a/+", 1),
                                        subscription("ok/two", 2),
                                        subscription("ok/three", 0),
                                    });
    ASSERT_TRUE(suback);
    // [MQTT-3.9.3-1] one reason per filter, in order; [MQTT-3.9.3-2] from the SUBACK set.
    EXPECT_EQ(suback->reasons, (std::vector<protocol::SubackReason>{
                                   ReasonCode::GrantedQos1,
                                   ReasonCode::TopicFilterInvalid,                 // 0x8F
                                   ReasonCode::SharedSubscriptionsNotSupported,    // 0x9E
                                   ReasonCode::WildcardSubscriptionsNotSupported,  // 0xA2
                                   ReasonCode::GrantedQos2,
                                   ReasonCode::QuotaExceeded,  // 0x97: a third subscription
                               }));
    // Replacing an existing subscription is within the limit.
    suback = subscribe(client, {subscription("ok/one", 0)});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons, std::vector<protocol::SubackReason>{ReasonCode::Success});

    // The granted ones work: a publisher on the other worker reaches them.
    RawClient publisher(broker.port(), ProtocolVersion::V5);
    const std::string publisher_id = client_id_on_worker("suback-pub", 0, kThreads);
    ASSERT_TRUE(publisher.connect(publisher_id));
    ASSERT_TRUE(publisher.publish("ok/two", "two", 2));
    auto message = client.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->topic, "ok/two");
    EXPECT_EQ(int{message->qos}, 2);
    EXPECT_EQ(worker_in_log(broker.log(), id), 1u);
    EXPECT_EQ(worker_in_log(broker.log(), publisher_id), 0u);
}

TEST_F(Mqtt5SubscribeTest, UnsubackReasonCodePerFilter) {
    auto client = raw("unsuback-codes", 1);
    ASSERT_TRUE(client->subscribe("un/sub", 1));
    auto unsuback = client->unsubscribe({"never/subscribed", "un/sub", "un/sub"});
    ASSERT_TRUE(unsuback);
    // [MQTT-3.11.3-1] in order; 0x11 when there was no such subscription.
    EXPECT_EQ(unsuback->reasons, (std::vector<protocol::UnsubackReason>{
                                     ReasonCode::NoSubscriptionExisted, ReasonCode::Success,
                                     ReasonCode::NoSubscriptionExisted}));
    auto publisher = raw("unsuback-pub", 0);
    ASSERT_TRUE(publisher->publish("un/sub", "gone", 1));
    client->expect_nothing();
}

// --- Message Expiry Interval (3.3.2.3.3) ---

Properties expiry(std::uint32_t seconds) {
    Properties properties;
    properties.add_number(PropertyId::MessageExpiryInterval, seconds);
    return properties;
}

protocol::Publish publish_with(std::string topic, std::string_view payload, Qos qos,
                               Properties properties, bool retain = false) {
    protocol::Publish publish = make_publish(std::move(topic), payload, qos, retain);
    publish.properties = std::move(properties);
    return publish;
}

class Mqtt5ExpiryTest : public Mqtt5SubscribeTest {
  protected:
    // A persistent session (Session Expiry 60 s) for `id` on `worker`, subscribed to
    // `filter` at QoS 1, then disconnected normally: offline from the broker's view.
    void subscribe_offline(const std::string& id, unsigned worker, const std::string& filter) {
        RawClient client(broker().port(), ProtocolVersion::V5);
        protocol::Connect connect = client.connect_packet(id, false);
        connect.properties.set_number(PropertyId::SessionExpiryInterval, 60);
        ASSERT_TRUE(client.connect(connect));
        expect_worker(id, worker);
        ASSERT_TRUE(client.subscribe(filter, 1));
        client.disconnect();
    }
};

TEST_F(Mqtt5ExpiryTest, OnlineSubscriberGetsTheRemainingExpiryInterval) {
    auto subscriber = connect_as(id_on("exp-online-sub", 1), 1);
    ASSERT_TRUE(subscriber->subscribe("exp/online", 1));
    auto publisher = connect_as(id_on("exp-online-pub", 0), 0);
    ASSERT_TRUE(publisher->publish(publish_with("exp/online", "m", 1, expiry(10))));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    // [MQTT-3.3.2-6] the received interval less the time waited.
    const auto left = message->properties.number(PropertyId::MessageExpiryInterval);
    ASSERT_TRUE(left);
    EXPECT_LE(*left, 10u);
    EXPECT_GE(*left, 9u);
}

TEST_F(Mqtt5ExpiryTest, ExpiredMessageIsNotDeliveredToAReconnectingSession) {
    const std::string sub_id = id_on("exp-queued-sub", 1);
    subscribe_offline(sub_id, 1, "exp/queued");
    auto publisher = connect_as(id_on("exp-queued-pub", 0), 0);
    ASSERT_TRUE(publisher->publish(publish_with("exp/queued", "short", 1, expiry(1))));
    ASSERT_TRUE(publisher->publish(publish_with("exp/queued", "long", 1, expiry(60))));
    std::this_thread::sleep_for(2s);  // let the short one expire

    auto subscriber = connect_as(sub_id, 1, false, true);
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    // [MQTT-3.3.2-5] the expired copy is deleted; [MQTT-3.3.2-6] the other one counts down.
    EXPECT_EQ(payload_of(*message), "long");
    const auto left = message->properties.number(PropertyId::MessageExpiryInterval);
    ASSERT_TRUE(left);
    EXPECT_LE(*left, 59u);
    EXPECT_GE(*left, 50u);
    subscriber->expect_nothing();
}

TEST_F(Mqtt5ExpiryTest, ExpiryCountsAcrossABrokerRestart) {
    const std::string sub_id = id_on("exp-restart-sub", 1);
    subscribe_offline(sub_id, 1, "exp/restart");
    {
        auto publisher = connect_as(id_on("exp-restart-pub", 0), 0);
        ASSERT_TRUE(publisher->publish(publish_with("exp/restart", "short", 1, expiry(2))));
        ASSERT_TRUE(publisher->publish(publish_with("exp/restart", "long", 1, expiry(60))));
    }
    const auto published = std::chrono::steady_clock::now();
    broker().restart();
    std::this_thread::sleep_until(published + 2500ms);  // past the short one's expiry

    auto subscriber = connect_as(sub_id, 1, false, true);
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "long");  // [MQTT-3.3.2-5]
    const auto left = message->properties.number(PropertyId::MessageExpiryInterval);
    ASSERT_TRUE(left);
    EXPECT_LE(*left, 58u);  // [MQTT-3.3.2-6] time across the restart counts
    EXPECT_GE(*left, 45u);
    subscriber->expect_nothing();
}

TEST_F(Mqtt5ExpiryTest, ExpiredRetainedMessageIsNotSent) {
    auto publisher = connect_as(id_on("exp-retained-pub", 0), 0);
    ASSERT_TRUE(publisher->publish(publish_with("exp/ret/short", "short", 1, expiry(1), true)));
    ASSERT_TRUE(publisher->publish(publish_with("exp/ret/long", "long", 1, expiry(60), true)));
    std::this_thread::sleep_for(2s);

    auto subscriber = connect_as(id_on("exp-retained-sub", 1), 1);
    ASSERT_TRUE(subscriber->subscribe("exp/ret/#", 1));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->topic, "exp/ret/long");  // [MQTT-3.3.2-5]
    EXPECT_TRUE(message->retain);
    const auto left = message->properties.number(PropertyId::MessageExpiryInterval);
    ASSERT_TRUE(left);
    EXPECT_LE(*left, 59u);
    subscriber->expect_nothing();
}

TEST_F(Mqtt5ExpiryTest, MessageExpiringBehindTheReceiveWindowIsNeverSent) {
    const std::string sub_id = id_on("exp-window-sub", 1);
    RawClient subscriber(broker().port(), ProtocolVersion::V5);
    protocol::Connect connect = subscriber.connect_packet(sub_id, true);
    connect.properties.set_number(PropertyId::ReceiveMaximum, 1);
    ASSERT_TRUE(subscriber.connect(connect));
    expect_worker(sub_id, 1);
    ASSERT_TRUE(subscriber.subscribe("exp/window", 1));

    auto publisher = connect_as(id_on("exp-window-pub", 0), 0);
    ASSERT_TRUE(publisher->publish("exp/window", "first", 1));
    ASSERT_TRUE(publisher->publish(publish_with("exp/window", "expires", 1, expiry(1))));
    ASSERT_TRUE(publisher->publish("exp/window", "third", 1));

    auto first = subscriber.receive_publish(kDefaultTimeout, /*ack=*/false);
    ASSERT_TRUE(first);
    EXPECT_EQ(payload_of(*first), "first");
    subscriber.expect_nothing(2s);  // the window is full while "expires" expires
    ASSERT_TRUE(subscriber.acknowledge(*first));

    auto next = subscriber.receive_publish();
    ASSERT_TRUE(next);
    EXPECT_EQ(payload_of(*next), "third") << "an expired message was sent [MQTT-3.3.2-5]";
    subscriber.expect_nothing();
}

}  // namespace
}  // namespace petrel::test
