// MQTT 5 through the real binary: topic aliases both ways (3.3.2.3.4), Request Problem
// Information (3.1.2.11.7), the broker's DISCONNECT reasons (3.14.2.1) and session expiry
// (3.1.2.11.2, 3.14.2.2.2). Two workers per broker; clients that exchange messages are on
// different ones.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/paho.hpp"
#include "support/raw_bytes.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Connect;
using protocol::PropertyId;
using protocol::Publish;

constexpr unsigned kThreads = 2;

std::string config(const std::string& extra = {}) {
    return "threads " + std::to_string(kThreads) + "\n" + extra;
}

std::string on_worker(const std::string& prefix, unsigned worker) {
    return client_id_on_worker(prefix, worker, kThreads);
}

// A v5 client connected as `id`, with `adjust` applied to its CONNECT; the CONNACK must be
// Success with Session Present equal to `expect_present`.
std::unique_ptr<RawClient> v5_client(const BrokerProcess& broker, const std::string& id,
                                     bool clean_start = true,
                                     const std::function<void(Connect&)>& adjust = {},
                                     bool expect_present = false) {
    auto client = std::make_unique<RawClient>(broker.port(), ProtocolVersion::V5);
    Connect connect = client->connect_packet(id, clean_start);
    if (adjust) {
        adjust(connect);
    }
    auto connack = client->connect(connect);
    EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << "CONNACK for " << id;
    EXPECT_TRUE(connack && connack->session_present == expect_present) << "session of " << id;
    return client;
}

std::function<void(Connect&)> with_number(PropertyId id, std::uint32_t value) {
    return [id, value](Connect& connect) { connect.properties.set_number(id, value); };
}

// The broker's DISCONNECT with `reason`, which never carries a Session Expiry Interval
// [MQTT-3.14.2-2], then the close [MQTT-3.14.4-2].
void expect_server_disconnect(RawClient& client, ReasonCode reason) {
    auto disconnect = client.wait_for<protocol::Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, reason);
    EXPECT_FALSE(disconnect->properties.contains(PropertyId::SessionExpiryInterval));
    EXPECT_TRUE(client.wait_closed());
}

// A QoS 1 PUBLISH with Topic Alias `alias`; an empty `topic` uses the alias alone.
Publish aliased(std::string topic, std::string_view payload, std::uint32_t alias) {
    Publish publish = make_publish(std::move(topic), payload, 1);
    publish.properties.set_number(PropertyId::TopicAlias, alias);
    return publish;
}

// Sends aliased() with a fresh packet id, without waiting for the acknowledgement.
bool send_aliased(RawClient& client, std::string topic, std::string_view payload,
                  std::uint32_t alias) {
    Publish publish = aliased(std::move(topic), payload, alias);
    publish.packet_id = client.next_packet_id();
    return client.send(publish);
}

// --- Topic aliases, client -> broker (topic_alias_maximum 10 by default) ---

class Mqtt5TopicAliasInTest : public ::testing::Test {
  protected:
    void SetUp() override {
        subscriber_ = v5_client(broker_, on_worker("alias-in-sub", 0));
        ASSERT_TRUE(subscriber_->subscribe("alias/#", 1));
        publisher_ = v5_client(broker_, publisher_id_, false);
        expect_on_worker(broker_, on_worker("alias-in-sub", 0), 0);
        expect_on_worker(broker_, publisher_id_, 1);
    }

    void expect_delivery(const std::string& topic, const std::string& payload) {
        const Publish message = subscriber_->receive_publish().value_or(Publish{});
        EXPECT_EQ(message.topic, topic);
        EXPECT_EQ(payload_of(message), payload);
        // The alias belongs to the publisher's connection, not to the message.
        EXPECT_FALSE(message.properties.contains(PropertyId::TopicAlias));
    }

    BrokerProcess broker_{config()};
    const std::string publisher_id_ = on_worker("alias-in-pub", 1);
    std::unique_ptr<RawClient> subscriber_;
    std::unique_ptr<RawClient> publisher_;
};

TEST_F(Mqtt5TopicAliasInTest, AliasSetWithATopicStandsForItAfterwards) {
    ASSERT_TRUE(publisher_->publish(aliased("alias/a", "one", 3)));
    ASSERT_TRUE(publisher_->publish(aliased("", "two", 3)));
    // [MQTT-3.3.2-12] every alias up to the announced maximum (10) is accepted.
    ASSERT_TRUE(publisher_->publish(aliased("alias/b", "three", 10)));
    ASSERT_TRUE(publisher_->publish(aliased("", "four", 10)));
    // Sending the alias with another topic changes its mapping.
    ASSERT_TRUE(publisher_->publish(aliased("alias/c", "five", 3)));
    ASSERT_TRUE(publisher_->publish(aliased("", "six", 3)));
    expect_delivery("alias/a", "one");
    expect_delivery("alias/a", "two");
    expect_delivery("alias/b", "three");
    expect_delivery("alias/b", "four");
    expect_delivery("alias/c", "five");
    expect_delivery("alias/c", "six");
}

TEST_F(Mqtt5TopicAliasInTest, AliasZeroOrAboveTheMaximumIsDisconnectedWith0x94) {
    // [MQTT-3.3.2-8] never 0; [MQTT-3.2.2-17] [MQTT-3.3.2-9] never above the maximum (10).
    for (std::uint32_t alias : {0u, 11u}) {
        SCOPED_TRACE("alias " + std::to_string(alias));
        publisher_ = v5_client(broker_, publisher_id_, false, {}, /*expect_present=*/true);
        ASSERT_TRUE(send_aliased(*publisher_, "alias/a", "invalid", alias));
        expect_server_disconnect(*publisher_, ReasonCode::TopicAliasInvalid);
    }
    subscriber_->expect_nothing(300ms);
}

TEST_F(Mqtt5TopicAliasInTest, EmptyTopicWithAnAliasNeverSetIsAProtocolError) {
    ASSERT_TRUE(send_aliased(*publisher_, "", "unknown", 4));
    expect_server_disconnect(*publisher_, ReasonCode::ProtocolError);  // 3.3.2.3.4
    subscriber_->expect_nothing(300ms);
}

TEST_F(Mqtt5TopicAliasInTest, AliasesDoNotSurviveAReconnect) {
    ASSERT_TRUE(publisher_->publish(aliased("alias/a", "set", 5)));
    expect_delivery("alias/a", "set");
    publisher_->disconnect();
    // Same session, new connection: the mapping is gone [MQTT-3.3.2-7].
    publisher_ = v5_client(broker_, publisher_id_, false, {}, /*expect_present=*/true);
    ASSERT_TRUE(send_aliased(*publisher_, "", "stale", 5));
    expect_server_disconnect(*publisher_, ReasonCode::ProtocolError);
    subscriber_->expect_nothing(300ms);
}

TEST(Mqtt5TopicAliasMaximumZeroTest, AnyAliasIsDisconnectedWith0x94) {
    BrokerProcess broker(config("topic_alias_maximum 0\n"));
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect(on_worker("alias-none", 1));
    ASSERT_TRUE(connack);
    EXPECT_FALSE(connack->properties.contains(PropertyId::TopicAliasMaximum));  // absent = 0
    ASSERT_TRUE(send_aliased(client, "alias/a", "any", 1));
    expect_server_disconnect(client, ReasonCode::TopicAliasInvalid);  // [MQTT-3.2.2-18]
}

// --- Topic aliases, broker -> client ---

// The receiving side of broker -> client aliases, as a client keeps it: every use is
// checked against the rules and the last mapping the broker sent.
class AliasTable {
  public:
    explicit AliasTable(std::uint32_t maximum) : maximum_(maximum) {}

    // The topic a PUBLISH with `topic` and Topic Alias `alias` stands for.
    std::string resolve(const std::string& topic, std::optional<std::uint32_t> alias) {
        if (!alias) {
            EXPECT_FALSE(topic.empty()) << "empty topic without an alias";
            return topic;
        }
        EXPECT_GE(*alias, 1u);        // [MQTT-3.3.2-8]
        EXPECT_LE(*alias, maximum_);  // [MQTT-3.1.2-26] [MQTT-3.3.2-11]
        if (!topic.empty()) {
            return topics_[*alias] = topic;
        }
        ++alias_only_;
        EXPECT_TRUE(topics_.contains(*alias)) << "alias " << *alias << " used before it was set";
        return topics_[*alias];
    }

    int alias_only() const { return alias_only_; }

  private:
    std::uint32_t maximum_;
    std::map<std::uint32_t, std::string> topics_;
    int alias_only_ = 0;
};

class Mqtt5TopicAliasOutTest : public ::testing::Test {
  protected:
    // A raw subscriber to "out/#" on worker 0, Topic Alias Maximum `maximum` when given.
    std::unique_ptr<RawClient> subscriber(const BrokerProcess& broker,
                                          std::optional<std::uint32_t> maximum) {
        auto client = v5_client(broker, on_worker("alias-out-sub", 0), true, [&](Connect& c) {
            if (maximum) {
                c.properties.set_number(PropertyId::TopicAliasMaximum, *maximum);
            }
        });
        EXPECT_TRUE(client->subscribe("out/#", 1));
        return client;
    }

    void publish(const BrokerProcess& broker, const std::vector<std::string>& topics) {
        auto publisher = v5_client(broker, on_worker("alias-out-pub", 1));
        expect_on_worker(broker, on_worker("alias-out-pub", 1), 1);
        for (std::size_t i = 0; i < topics.size(); ++i) {
            ASSERT_TRUE(publisher->publish(topics[i], std::to_string(i), 1));
        }
    }

    // What a subscriber without aliases must see: every topic in full, no alias.
    void expect_no_aliases(RawClient& client, const std::vector<std::string>& topics) {
        for (std::size_t i = 0; i < topics.size(); ++i) {
            const Publish message = client.receive_publish().value_or(Publish{});
            EXPECT_EQ(message.topic, topics[i]);
            EXPECT_FALSE(message.properties.contains(PropertyId::TopicAlias));
        }
    }

    const std::vector<std::string> cycle_{"out/a", "out/b", "out/a", "out/c", "out/a",
                                          "out/b", "out/c", "out/c", "out/b", "out/a",
                                          "out/c", "out/b", "out/a", "out/a"};
};

TEST_F(Mqtt5TopicAliasOutTest, FirstMessageCarriesTheTopicLaterOnesOnlyTheAlias) {
    BrokerProcess broker(config());
    auto client = subscriber(broker, 2);
    publish(broker, {"out/x", "out/x", "out/x"});
    const Publish first = client->receive_publish().value_or(Publish{});
    EXPECT_EQ(first.topic, "out/x");
    const auto alias = first.properties.number(PropertyId::TopicAlias);
    EXPECT_TRUE(alias == 1u || alias == 2u);
    for (int i = 1; i < 3; ++i) {
        const Publish later = client->receive_publish().value_or(Publish{});
        EXPECT_EQ(later.topic, "");
        EXPECT_EQ(later.properties.number(PropertyId::TopicAlias), alias);
        EXPECT_EQ(payload_of(later), std::to_string(i));
    }
}

TEST_F(Mqtt5TopicAliasOutTest, ThreeTopicsOverTwoAliasesStayConsistent) {
    BrokerProcess broker(config());
    auto client = subscriber(broker, 2);
    publish(broker, cycle_);
    AliasTable table(2);
    for (std::size_t i = 0; i < cycle_.size(); ++i) {
        const Publish message = client->receive_publish().value_or(Publish{});
        EXPECT_EQ(table.resolve(message.topic, message.properties.number(PropertyId::TopicAlias)),
                  cycle_[i])
            << "message " << i;
        EXPECT_EQ(payload_of(message), std::to_string(i));
    }
    EXPECT_GT(table.alias_only(), 0);  // aliases were used, not only set
}

TEST_F(Mqtt5TopicAliasOutTest, NoAliasForAClientThatAllowsNone) {
    BrokerProcess broker(config());
    // [MQTT-3.1.2-27] Topic Alias Maximum absent, or 0.
    for (std::optional<std::uint32_t> maximum : {std::optional<std::uint32_t>{}, {0u}}) {
        SCOPED_TRACE(maximum ? "Topic Alias Maximum 0" : "no Topic Alias Maximum");
        auto client = subscriber(broker, maximum);
        publish(broker, cycle_);
        expect_no_aliases(*client, cycle_);
        client->disconnect();
    }
}

TEST_F(Mqtt5TopicAliasOutTest, OutgoingTopicAliasMaximumZeroNeverAssignsOne) {
    BrokerProcess broker(config("outgoing_topic_alias_maximum 0\n"));
    auto client = subscriber(broker, 5);
    publish(broker, cycle_);
    expect_no_aliases(*client, cycle_);
}

// A real client gets every message. Paho C 1.3.12 passes an alias-only PUBLISH on with an
// empty topic and its Topic Alias, unresolved (libmosquitto 2.0.11 even drops the
// connection), so the test resolves the aliases from what Paho passes on.
TEST_F(Mqtt5TopicAliasOutTest, PahoSubscriberGetsEveryMessageWithUsableAliases) {
    BrokerProcess broker(config());
    auto paho = make_paho_client(broker.port(), on_worker("alias-out-paho", 0), true);
    paho->start_consuming();
    mqtt::connect_options options = paho_connect_options(true, true);
    options.set_properties({mqtt::property(mqtt::property::TOPIC_ALIAS_MAXIMUM, 2)});
    paho->connect(options)->wait();
    paho->subscribe("out/#", 1)->wait();
    publish(broker, cycle_);
    AliasTable table(2);
    for (std::size_t i = 0; i < cycle_.size(); ++i) {
        mqtt::const_message_ptr message;
        ASSERT_TRUE(paho->try_consume_message_for(&message, 5s)) << "message " << i;
        EXPECT_EQ(message->get_payload_str(), std::to_string(i));
        const mqtt::properties& props = message->get_properties();
        const auto alias = props.contains(mqtt::property::TOPIC_ALIAS)
                               ? std::optional<std::uint32_t>{mqtt::get<uint16_t>(
                                     props, mqtt::property::TOPIC_ALIAS)}
                               : std::nullopt;
        EXPECT_EQ(table.resolve(message->get_topic(), alias), cycle_[i]) << "message " << i;
    }
    EXPECT_GT(table.alias_only(), 0);
    paho->disconnect()->wait();
}

// --- Request Problem Information (3.1.2.11.7) ---

const std::vector<std::optional<std::uint32_t>> kProblemRequests = {std::nullopt, 1u, 0u};
std::function<void(Connect&)> with_problem(std::optional<std::uint32_t> request) {
    return request ? with_number(PropertyId::RequestProblemInformation, *request) : nullptr;
}

TEST(Mqtt5ProblemInformationTest, SubackReasonStringOnlyWhenAllowed) {
    BrokerProcess broker(config());
    for (const auto request : kProblemRequests) {
        SCOPED_TRACE("Request Problem Information " + std::to_string(request.value_or(99)));
        auto client = v5_client(broker, on_worker("problem-sub", 0), true, with_problem(request));
        auto suback = client->subscribe({{"problem/ok", {1}}, {"problem/#/bad", {1}}});
        ASSERT_TRUE(suback);
        EXPECT_EQ(suback->reasons, (std::vector<protocol::SubackReason>{
                                       ReasonCode::GrantedQos1, ReasonCode::TopicFilterInvalid}));
        // [MQTT-3.1.2-29] 0: no Reason String on a SUBACK.
        EXPECT_EQ(suback->properties.contains(PropertyId::ReasonString), request != 0u);
        client->disconnect();
    }
}

// The refusal of a PUBLISH whose payload is not UTF-8 though its Payload Format Indicator
// says so: 0x99 (3.3.2.3.2), with a Reason String only when allowed [MQTT-3.1.2-29].
template <class Ack>
void expect_refusal(RawClient& client, bool reason_string) {
    auto ack = client.expect<Ack>();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->reason, ReasonCode::PayloadFormatInvalid);
    EXPECT_EQ(ack->properties.contains(PropertyId::ReasonString), reason_string)
        << packet_name<Ack>();
}

TEST(Mqtt5ProblemInformationTest, RefusedPublishReasonStringOnlyWhenAllowed) {
    BrokerProcess broker(config());
    auto subscriber = v5_client(broker, on_worker("problem-pub-sub", 0));
    ASSERT_TRUE(subscriber->subscribe("problem/pfi", 2));
    for (const auto request : kProblemRequests) {
        SCOPED_TRACE("Request Problem Information " + std::to_string(request.value_or(99)));
        auto client = v5_client(broker, on_worker("problem-pub", 1), true, with_problem(request));
        for (Qos qos : {Qos{1}, Qos{2}}) {
            Publish publish =
                make_publish("problem/pfi", "\xff\xfe", qos, false, client->next_packet_id());
            publish.properties.set_number(PropertyId::PayloadFormatIndicator, 1);
            ASSERT_TRUE(client->send(publish));
            if (qos == 1) {
                expect_refusal<protocol::Puback>(*client, request != 0u);
            } else {
                expect_refusal<protocol::Pubrec>(*client, request != 0u);
            }
        }
        client->disconnect();
    }
    subscriber->expect_nothing(300ms);  // a refused message is not forwarded
}

// --- DISCONNECT from the broker, with its reason (3.14.2.1) ---

TEST(Mqtt5ServerDisconnectTest, ShutdownSendsServerShuttingDown0x8B) {
    BrokerProcess broker(config());
    auto first = v5_client(broker, on_worker("shutdown-raw", 0));
    auto second = v5_client(broker, on_worker("shutdown-raw", 1));
    expect_on_worker(broker, on_worker("shutdown-raw", 0), 0);
    expect_on_worker(broker, on_worker("shutdown-raw", 1), 1);
    MosquittoOptions options;
    options.client_id = on_worker("shutdown-mosq", 1);
    options.v5 = true;
    MosquittoClient mosquitto(options);
    ASSERT_EQ(mosquitto.connect(broker.port()), 0);

    EXPECT_EQ(broker.stop(SIGTERM), 0);
    expect_server_disconnect(*first, ReasonCode::ServerShuttingDown);
    expect_server_disconnect(*second, ReasonCode::ServerShuttingDown);
    ASSERT_TRUE(mosquitto.wait_disconnected());
    EXPECT_EQ(mosquitto.disconnect_reason(), 0x8B);
}

TEST(Mqtt5ServerDisconnectTest, TakeoverSendsSessionTakenOver0x8E) {
    BrokerProcess broker(config());
    auto first = v5_client(broker, on_worker("takeover", 1));
    auto second = v5_client(broker, on_worker("takeover", 1));
    expect_server_disconnect(*first, ReasonCode::SessionTakenOver);  // [MQTT-3.1.4-3]
    EXPECT_FALSE(second->closed());
}

TEST(Mqtt5ServerDisconnectTest, SecondConnectSendsProtocolError0x82) {
    BrokerProcess broker(config());
    auto client = v5_client(broker, on_worker("second-connect", 1));
    ASSERT_TRUE(client->send(client->connect_packet(on_worker("second-connect", 1))));
    expect_server_disconnect(*client, ReasonCode::ProtocolError);  // [MQTT-3.1.0-2]
}

TEST(Mqtt5ServerDisconnectTest, MalformedPacketSends0x81) {
    BrokerProcess broker(config());
    auto client = v5_client(broker, on_worker("malformed", 0));
    // PUBLISH "a/b" whose Property Length (5) runs past the end of the packet.
    ASSERT_TRUE(client->send_raw(packet_bytes(0x30, prefixed("a/b") + '\x05')));
    expect_server_disconnect(*client, ReasonCode::MalformedPacket);  // [MQTT-4.13.1-1]
}

TEST(Mqtt5ServerDisconnectTest, WillOnlyAfterDisconnectWithWillMessage) {
    BrokerProcess broker(config());
    auto watcher = v5_client(broker, on_worker("will-watcher", 0));
    ASSERT_TRUE(watcher->subscribe("will/#", 1));
    expect_on_worker(broker, on_worker("will-watcher", 0), 0);
    const auto will_on = [](std::string topic) {  // a QoS 1 will on `topic`
        return [topic](Connect& c) {
            c.will =
                protocol::Will{topic, protocol::make_payload("will of " + topic), 1, false, {}};
        };
    };
    auto normal = v5_client(broker, on_worker("will-normal", 1), true, will_on("will/normal"));
    normal->disconnect(ReasonCode::Success);  // [MQTT-3.14.4-3] the will is discarded
    auto asking = v5_client(broker, on_worker("will-asking", 1), true, will_on("will/asking"));
    expect_on_worker(broker, on_worker("will-asking", 1), 1);
    asking->disconnect(ReasonCode::DisconnectWithWillMessage);  // 3.14.2.1: 0x04
    auto will = watcher->receive_publish();
    ASSERT_TRUE(will);
    EXPECT_EQ(will->topic, "will/asking");
    EXPECT_EQ(payload_of(*will), "will of will/asking");
    watcher->expect_nothing(300ms);
}

// --- Session expiry (3.1.2.11.2) ---

TEST(Mqtt5SessionExpiryTest, ZeroEndsAtDisconnectOneSecondExpiresMaximumNever) {
    BrokerProcess broker(config());
    const std::string zero = on_worker("expiry-zero", 1);
    const std::string brief = on_worker("expiry-one", 0);
    const std::string forever = on_worker("expiry-forever", 0);
    const auto one_second = with_number(PropertyId::SessionExpiryInterval, 1);
    // 0: the session ends with the connection (3.1.2.11.2).
    v5_client(broker, zero, false, with_number(PropertyId::SessionExpiryInterval, 0))->disconnect();
    v5_client(broker, zero, false, {}, /*expect_present=*/false);

    auto client = v5_client(broker, brief, false, one_second);
    ASSERT_TRUE(client->subscribe("expiry/t", 1));
    client->disconnect();
    {
        auto publisher = v5_client(broker, on_worker("expiry-pub", 1));
        ASSERT_TRUE(publisher->publish("expiry/t", "while away", 1));
        expect_on_worker(broker, on_worker("expiry-pub", 1), 1);
    }
    // Back within the interval: the session, its subscription and its queue [MQTT-3.1.2-23].
    client = v5_client(broker, brief, false, one_second, /*expect_present=*/true);
    EXPECT_EQ(payload_of(client->receive_publish().value_or(Publish{})), "while away");
    client->disconnect();
    v5_client(broker, forever, false, with_number(PropertyId::SessionExpiryInterval, 0xFFFFFFFF))
        ->disconnect();

    std::this_thread::sleep_for(2s);  // twice the 1 s interval
    v5_client(broker, brief, false, one_second, /*expect_present=*/false);
    // 0xFFFFFFFF: the session does not expire.
    v5_client(broker, forever, false, {}, /*expect_present=*/true);
}

TEST(Mqtt5SessionExpiryTest, DisconnectCanEndTheSessionBySettingZero) {
    BrokerProcess broker(config());
    const std::string id = on_worker("expiry-shorten", 1);
    auto client = v5_client(broker, id, false, with_number(PropertyId::SessionExpiryInterval, 10));
    ASSERT_TRUE(client->subscribe("expiry/t", 1));
    protocol::Disconnect disconnect;
    disconnect.properties.set_number(PropertyId::SessionExpiryInterval, 0);  // 3.14.2.2.2
    ASSERT_TRUE(client->send(disconnect));
    EXPECT_TRUE(client->wait_closed());
    client = v5_client(broker, id, false, {}, /*expect_present=*/false);
}

TEST(Mqtt5SessionExpiryTest, DisconnectSettingAnExpiryAfterZeroIsAProtocolError) {
    BrokerProcess broker(config());
    const std::string id = on_worker("expiry-revive", 0);
    auto client = v5_client(broker, id, false, with_number(PropertyId::SessionExpiryInterval, 0));
    protocol::Disconnect disconnect;
    disconnect.properties.set_number(PropertyId::SessionExpiryInterval, 5);
    ASSERT_TRUE(client->send(disconnect));
    // 3.14.2.2.2: a Protocol Error; the broker says so, without an expiry of its own.
    expect_server_disconnect(*client, ReasonCode::ProtocolError);
    client = v5_client(broker, id, false, {}, /*expect_present=*/false);
}

}  // namespace
}  // namespace petrel::test
