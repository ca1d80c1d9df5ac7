// MQTT 5 CONNECT / CONNACK: what the CONNACK announces from the configuration (3.2.2.3) and
// the broker holding clients to it, and itself to the client's limits: Maximum QoS, Retain
// Available, Receive Maximum and Maximum Packet Size both ways, Assigned Client Identifier,
// Server Keep Alive, Response Information, server redirection. Two workers per broker;
// clients that exchange messages are on different ones.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/paho.hpp"
#include "support/raw_bytes.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Connack;
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

// A v5 client connected as `id` (CONNACK Success), with `adjust` applied to its CONNECT.
struct V5Connection {
    std::unique_ptr<RawClient> client;
    Connack connack;
};
V5Connection connect_v5(const BrokerProcess& broker, const std::string& id, bool clean_start = true,
                        const std::function<void(Connect&)>& adjust = {}) {
    auto client = std::make_unique<RawClient>(broker.port(), ProtocolVersion::V5);
    Connect connect = client->connect_packet(id, clean_start);
    if (adjust) {
        adjust(connect);
    }
    auto connack = client->connect(connect);
    EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << "CONNACK for " << id;
    return {std::move(client), connack.value_or(Connack{false, ReasonCode::UnspecifiedError, {}})};
}
std::unique_ptr<RawClient> v5_client(const BrokerProcess& broker, const std::string& id,
                                     bool clean_start = true,
                                     const std::function<void(Connect&)>& adjust = {}) {
    return connect_v5(broker, id, clean_start, adjust).client;
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

// --- CONNACK properties from the configuration (3.2.2.3) ---

TEST(Mqtt5ConnackTest, DefaultsAnnounceOnlyTheTopicAliasMaximum) {
    BrokerProcess broker(config());
    auto [client, connack] = connect_v5(broker, on_worker("connack-defaults", 0));
    EXPECT_EQ(connack.properties.number(PropertyId::TopicAliasMaximum), 10u);
    // Absent means supported, or the protocol maximum: nothing to announce.
    for (PropertyId absent :
         {PropertyId::MaximumQos, PropertyId::RetainAvailable,
          PropertyId::WildcardSubscriptionAvailable, PropertyId::SubscriptionIdentifierAvailable,
          PropertyId::SharedSubscriptionAvailable, PropertyId::ReceiveMaximum,
          PropertyId::MaximumPacketSize, PropertyId::ServerKeepAlive,
          PropertyId::AssignedClientIdentifier, PropertyId::ResponseInformation}) {
        EXPECT_FALSE(connack.properties.contains(absent))
            << "property " << static_cast<int>(absent) << " announced by default";
    }
}

TEST(Mqtt5ConnackTest, LimitsFromTheConfigurationAreAnnounced) {
    BrokerProcess broker(
        config("max_qos 1\nretain_available false\nwildcard_subscription_available false\n"
               "subscription_identifier_available false\nshared_subscription_available false\n"
               "receive_maximum 5\nmax_packet_size 1000\ntopic_alias_maximum 0\n"));
    auto [client, connack] = connect_v5(broker, on_worker("connack-limits", 0));
    const protocol::Properties& p = connack.properties;
    EXPECT_EQ(p.number(PropertyId::MaximumQos), 1u);       // [MQTT-3.2.2-9]
    EXPECT_EQ(p.number(PropertyId::RetainAvailable), 0u);  // 3.2.2.3.5
    EXPECT_EQ(p.number(PropertyId::WildcardSubscriptionAvailable), 0u);
    EXPECT_EQ(p.number(PropertyId::SubscriptionIdentifierAvailable), 0u);
    EXPECT_EQ(p.number(PropertyId::SharedSubscriptionAvailable), 0u);
    EXPECT_EQ(p.number(PropertyId::ReceiveMaximum), 5u);        // 3.2.2.3.3
    EXPECT_EQ(p.number(PropertyId::MaximumPacketSize), 1000u);  // 3.2.2.3.6
    EXPECT_FALSE(p.contains(PropertyId::TopicAliasMaximum));    // absent = 0 (3.2.2.3.8)

    // A real client reads the same values.
    auto paho = make_paho_client(broker.port(), on_worker("connack-limits-paho", 1), true);
    const auto response = paho->connect(paho_connect_options(true, true))->get_connect_response();
    const mqtt::properties& props = response.get_properties();
    EXPECT_EQ(mqtt::get<uint8_t>(props, mqtt::property::MAXIMUM_QOS), 1);
    EXPECT_EQ(mqtt::get<uint8_t>(props, mqtt::property::RETAIN_AVAILABLE), 0);
    EXPECT_EQ(mqtt::get<uint16_t>(props, mqtt::property::RECEIVE_MAXIMUM), 5);
    EXPECT_EQ(mqtt::get<uint32_t>(props, mqtt::property::MAXIMUM_PACKET_SIZE), 1000u);
    EXPECT_FALSE(props.contains(mqtt::property::TOPIC_ALIAS_MAXIMUM));
    paho->disconnect()->wait();
}

TEST(Mqtt5ConnackTest, EmptyClientIdGetsAnAssignedClientIdentifier) {
    BrokerProcess broker(config());
    auto [client, first] = connect_v5(broker, "", true, [](Connect& connect) {
        connect.properties.set_number(PropertyId::SessionExpiryInterval, 600);
    });
    // [MQTT-3.2.2-16]
    const std::string assigned{
        first.properties.text(PropertyId::AssignedClientIdentifier).value_or("")};
    EXPECT_FALSE(assigned.empty());
    ASSERT_TRUE(client->subscribe("assigned/t", 1));
    client->disconnect();

    // Unique: another client without an id gets another one [MQTT-3.2.2-16].
    auto [other, second] = connect_v5(broker, "");
    EXPECT_NE(second.properties.text(PropertyId::AssignedClientIdentifier).value_or(assigned),
              assigned);

    // The assigned id names the session: it resumes under it, and a named client gets none.
    auto [again, resumed] = connect_v5(broker, assigned, false);
    EXPECT_TRUE(resumed.session_present);
    EXPECT_FALSE(resumed.properties.contains(PropertyId::AssignedClientIdentifier));
}

TEST(Mqtt5ConnackTest, ServerKeepAliveLowersTheClientsAndIsEnforced) {
    BrokerProcess broker(config("max_keepalive 1\n"));
    const auto keep_alive = [](std::uint16_t seconds) {
        return [seconds](Connect& connect) { connect.keep_alive = seconds; };
    };
    auto [within, kept] = connect_v5(broker, on_worker("keepalive-1", 0), true, keep_alive(1));
    EXPECT_FALSE(kept.properties.contains(PropertyId::ServerKeepAlive));  // [MQTT-3.2.2-22]
    within->disconnect();

    const auto started = std::chrono::steady_clock::now();
    auto [client, lowered] = connect_v5(broker, on_worker("keepalive-60", 1), true, keep_alive(60));
    EXPECT_EQ(lowered.properties.number(PropertyId::ServerKeepAlive), 1u);  // 3.2.2.3.14
    // The broker holds the client to the value it announced: silent for 1.5 x 1 s.
    expect_server_disconnect(*client, ReasonCode::KeepAliveTimeout);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
}

// --- Maximum QoS (max_qos 0 and 1) ---

class Mqtt5MaximumQosTest : public ::testing::TestWithParam<int> {
  protected:
    Qos maximum() const { return static_cast<Qos>(GetParam()); }
    BrokerProcess broker_{config("max_qos " + std::to_string(GetParam()) + "\n")};
};

TEST_P(Mqtt5MaximumQosTest, SubscribeAboveTheMaximumIsGrantedTheMaximum) {
    auto subscriber = v5_client(broker_, on_worker("maxqos-sub", 0));
    auto suback = subscriber->subscribe("maxqos/t", 2);
    ASSERT_TRUE(suback);
    // [MQTT-3.2.2-10] accepted, at the QoS the server supports.
    EXPECT_EQ(suback->reasons, std::vector{protocol::granted_qos(maximum())});
    auto publisher = v5_client(broker_, on_worker("maxqos-pub", 1));
    ASSERT_TRUE(publisher->publish("maxqos/t", "at the maximum", maximum()));
    const Publish message = subscriber->receive_publish().value_or(Publish{});
    EXPECT_EQ(payload_of(message), "at the maximum");
    EXPECT_EQ(int{message.qos}, int{maximum()});
}

TEST_P(Mqtt5MaximumQosTest, PublishAboveTheMaximumIsDisconnectedWith0x9B) {
    auto subscriber = v5_client(broker_, on_worker("maxqos-pub-sub", 0));
    ASSERT_TRUE(subscriber->subscribe("maxqos/t", 2));
    auto [publisher, connack] = connect_v5(broker_, on_worker("maxqos-pub-over", 1));
    EXPECT_EQ(connack.properties.number(PropertyId::MaximumQos), unsigned{maximum()});
    const Qos above = static_cast<Qos>(maximum() + 1);
    ASSERT_TRUE(publisher->send(
        make_publish("maxqos/t", "above", above, false, publisher->next_packet_id())));
    expect_server_disconnect(*publisher, ReasonCode::QosNotSupported);  // [MQTT-3.2.2-11]
    subscriber->expect_nothing(300ms);
}

TEST_P(Mqtt5MaximumQosTest, WillAboveTheMaximumIsRefusedWith0x9B) {
    RawClient client(broker_.port(), ProtocolVersion::V5);
    Connect connect = client.connect_packet(on_worker("maxqos-will", 1));
    connect.will = protocol::Will{
        "maxqos/will", protocol::make_payload("gone"), static_cast<Qos>(maximum() + 1), false, {}};
    auto connack = client.connect(connect);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::QosNotSupported);  // [MQTT-3.2.2-12]
    EXPECT_FALSE(connack->session_present);                   // [MQTT-3.2.2-6]
    EXPECT_TRUE(client.wait_closed());
}

INSTANTIATE_TEST_SUITE_P(MaxQos, Mqtt5MaximumQosTest, ::testing::Values(0, 1),
                         [](const auto& info) { return "max" + std::to_string(info.param); });

// --- Retain Available 0 ---

TEST(Mqtt5RetainAvailableTest, RetainedPublishIsDisconnectedWith0x9A) {
    BrokerProcess broker(config("retain_available false\n"));
    auto subscriber = v5_client(broker, on_worker("noretain-sub", 0));
    ASSERT_TRUE(subscriber->subscribe("noretain/t", 1));
    auto publisher = v5_client(broker, on_worker("noretain-pub", 1));
    ASSERT_TRUE(publisher->publish("noretain/t", "plain", 1));
    EXPECT_EQ(payload_of(subscriber->receive_publish().value_or(Publish{})), "plain");
    ASSERT_TRUE(publisher->send(
        make_publish("noretain/t", "retained", 1, true, publisher->next_packet_id())));
    expect_server_disconnect(*publisher, ReasonCode::RetainNotSupported);  // [MQTT-3.2.2-14]
    subscriber->expect_nothing(300ms);
    // Nothing was stored either.
    auto late = v5_client(broker, on_worker("noretain-late", 1));
    ASSERT_TRUE(late->subscribe("noretain/t", 1));
    late->expect_nothing(300ms);
}

TEST(Mqtt5RetainAvailableTest, RetainedWillIsRefusedWith0x9A) {
    BrokerProcess broker(config("retain_available false\n"));
    RawClient client(broker.port(), ProtocolVersion::V5);
    Connect connect = client.connect_packet(on_worker("noretain-will", 0));
    connect.will = protocol::Will{"noretain/will", protocol::make_payload("gone"), 1, true, {}};
    auto connack = client.connect(connect);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::RetainNotSupported);  // [MQTT-3.2.2-13]
    EXPECT_TRUE(client.wait_closed());
}

// --- Receive Maximum, broker -> client, at QoS 1 and 2 ---

class Mqtt5ReceiveMaximumTest : public ::testing::TestWithParam<int> {
  protected:
    Qos qos() const { return static_cast<Qos>(GetParam()); }

    std::unique_ptr<RawClient> subscriber(std::uint16_t receive_maximum, bool expect_present) {
        auto [client, connack] = connect_v5(broker_, subscriber_id_, false, [&](Connect& c) {
            c.properties.set_number(PropertyId::ReceiveMaximum, receive_maximum);
        });
        EXPECT_EQ(connack.session_present, expect_present);
        return std::move(client);
    }

    // A held delivery, released: PUBACK, or PUBREC, PUBREL, PUBCOMP. A QoS 2 message keeps
    // its slot until the PUBCOMP: nothing new may come between PUBREC and PUBCOMP.
    void release(RawClient& client, const Publish& publish) {
        if (publish.qos == 1) {
            ASSERT_TRUE(client.send(protocol::Puback{publish.packet_id, ReasonCode::Success, {}}));
            return;
        }
        ASSERT_TRUE(client.send(protocol::Pubrec{publish.packet_id, ReasonCode::Success, {}}));
        auto pubrel = client.expect<protocol::Pubrel>();
        ASSERT_TRUE(pubrel);
        EXPECT_EQ(pubrel->packet_id, publish.packet_id);
        client.expect_nothing(200ms);
        ASSERT_TRUE(client.send(protocol::Pubcomp{publish.packet_id, ReasonCode::Success, {}}));
    }

    // The next delivery, held (not acknowledged); it must carry `payload`.
    Publish next(RawClient& client, const std::string& payload, bool dup) {
        const Publish publish =
            client.receive_publish(kDefaultTimeout, /*ack=*/false).value_or(Publish{});
        EXPECT_EQ(payload_of(publish), payload);
        EXPECT_EQ(publish.dup, dup) << payload;
        EXPECT_EQ(int{publish.qos}, int{qos()}) << payload;
        return publish;
    }

    BrokerProcess broker_{config()};
    const std::string subscriber_id_ = on_worker("recvmax-sub", 0);
};

TEST_P(Mqtt5ReceiveMaximumTest, NeverMoreUnacknowledgedThanTheClientsReceiveMaximum) {
    auto client = subscriber(2, false);
    ASSERT_TRUE(client->subscribe("recvmax/t", qos()));
    auto publisher = v5_client(broker_, on_worker("recvmax-pub", 1));
    expect_on_worker(broker_, subscriber_id_, 0);
    expect_on_worker(broker_, on_worker("recvmax-pub", 1), 1);
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(publisher->publish("recvmax/t", std::to_string(i), qos()));
    }
    // [MQTT-3.3.4-9] [MQTT-4.9.0-2] two in flight, then nothing until one is released.
    Publish zero = next(*client, "0", false);
    Publish one = next(*client, "1", false);
    client->expect_nothing(300ms);
    // [MQTT-3.3.4-10] [MQTT-4.9.0-3] other packets are answered while the quota is 0.
    ASSERT_TRUE(client->send(protocol::Pingreq{}));
    EXPECT_TRUE(client->expect<protocol::Pingresp>());

    release(*client, zero);
    Publish two = next(*client, "2", false);
    client->expect_nothing(200ms);
    release(*client, one);
    Publish three = next(*client, "3", false);
    client->expect_nothing(200ms);

    // Reconnect with Receive Maximum 1: the quota starts again from the new value.
    client->close();
    client = subscriber(1, true);
    // [MQTT-4.4.0-1] resent with DUP and the original packet id, one at a time.
    for (const Publish& held : {two, three}) {
        Publish resent = next(*client, payload_of(held), true);
        EXPECT_EQ(resent.packet_id, held.packet_id);
        client->expect_nothing(200ms);
        release(*client, resent);
    }
    for (int i = 4; i < 10; ++i) {
        Publish fresh = next(*client, std::to_string(i), false);
        client->expect_nothing(100ms);
        release(*client, fresh);
    }
    client->expect_nothing(200ms);
}

INSTANTIATE_TEST_SUITE_P(Qos, Mqtt5ReceiveMaximumTest, ::testing::Values(1, 2),
                         [](const auto& info) { return "qos" + std::to_string(info.param); });

// --- Receive Maximum, client -> broker (receive_maximum 3) ---

class Mqtt5InboundReceiveMaximumTest : public ::testing::Test {
  protected:
    void SetUp() override {
        subscriber_ = v5_client(broker_, on_worker("inbound-sub", 0));
        ASSERT_TRUE(subscriber_->subscribe("inbound/t", 2));
        V5Connection publisher = connect_v5(broker_, on_worker("inbound-pub", 1));
        EXPECT_EQ(publisher.connack.properties.number(PropertyId::ReceiveMaximum), 3u);
        publisher_ = std::move(publisher.client);
        expect_on_worker(broker_, on_worker("inbound-sub", 0), 0);
        expect_on_worker(broker_, on_worker("inbound-pub", 1), 1);
    }

    // Sends a QoS 2 PUBLISH and waits for its PUBREC, but sends no PUBREL.
    void publish_unreleased(protocol::PacketId id) {
        ASSERT_TRUE(publisher_->send(make_publish("inbound/t", std::to_string(id), 2, false, id)));
        EXPECT_TRUE(publisher_->wait_for<protocol::Pubrec>(
            kDefaultTimeout, [id](const protocol::Pubrec& ack) { return ack.packet_id == id; }));
    }

    void release(protocol::PacketId id) {
        ASSERT_TRUE(publisher_->send(protocol::Pubrel{id, ReasonCode::Success, {}}));
        EXPECT_TRUE(publisher_->wait_for<protocol::Pubcomp>(
            kDefaultTimeout, [id](const protocol::Pubcomp& ack) { return ack.packet_id == id; }));
    }

    BrokerProcess broker_{config("receive_maximum 3\n")};
    std::unique_ptr<RawClient> subscriber_;
    std::unique_ptr<RawClient> publisher_;
};

TEST_F(Mqtt5InboundReceiveMaximumTest, OneMoreUnacknowledgedPublishIsDisconnectedWith0x93) {
    // QoS 1 and 2 share the quota: a fourth PUBLISH of either QoS is one too many.
    for (Qos fourth : {Qos{2}, Qos{1}}) {
        SCOPED_TRACE("fourth PUBLISH at QoS " + std::to_string(fourth));
        publisher_ = v5_client(broker_, on_worker("inbound-pub", 1));
        for (protocol::PacketId id = 1; id <= 3; ++id) {
            publish_unreleased(id);
        }
        ASSERT_TRUE(publisher_->send(make_publish("inbound/t", "4", fourth, false, 4)));
        // [MQTT-3.3.4-7] server as receiver.
        expect_server_disconnect(*publisher_, ReasonCode::ReceiveMaximumExceeded);
    }
}

TEST_F(Mqtt5InboundReceiveMaximumTest, ReleasingAQos2PublishFreesASlot) {
    for (protocol::PacketId id = 1; id <= 3; ++id) {
        publish_unreleased(id);
    }
    release(1);
    publish_unreleased(4);  // the freed slot: PUBREC, no DISCONNECT
    for (protocol::PacketId id = 2; id <= 4; ++id) {
        release(id);
    }
    EXPECT_FALSE(publisher_->closed());
    for (int id = 1; id <= 4; ++id) {
        EXPECT_EQ(payload_of(subscriber_->receive_publish().value_or(Publish{})),
                  std::to_string(id));
    }
}

// --- Maximum Packet Size ---

TEST(Mqtt5MaximumPacketSizeTest, MessagesOverTheClientsLimitAreSkipped) {
    BrokerProcess broker(config());
    // Receive Maximum 1 too: a skipped QoS 1 message must not hold the only slot.
    auto small = v5_client(broker, on_worker("mps-small", 0), true, [](Connect& c) {
        c.properties.set_number(PropertyId::MaximumPacketSize, 200);
        c.properties.set_number(PropertyId::ReceiveMaximum, 1);
    });
    ASSERT_TRUE(small->subscribe("mps/t", 1));
    auto publisher = v5_client(broker, on_worker("mps-pub", 1));
    expect_on_worker(broker, on_worker("mps-small", 0), 0);
    expect_on_worker(broker, on_worker("mps-pub", 1), 1);
    const std::string big(500, 'x');
    ASSERT_TRUE(publisher->publish("mps/t", big, 1));
    ASSERT_TRUE(publisher->publish("mps/t", "small 1", 1));
    ASSERT_TRUE(publisher->publish("mps/t", big, 0));
    ASSERT_TRUE(publisher->publish("mps/t", "small 0", 0));

    // [MQTT-3.1.2-24] never sent to it; [MQTT-3.1.2-25] discarded as if sent.
    for (const char* expected : {"small 1", "small 0"}) {
        EXPECT_EQ(payload_of(small->receive_publish().value_or(Publish{})), expected);
    }
    small->expect_nothing(300ms);
    EXPECT_FALSE(small->closed());
}

TEST(Mqtt5MaximumPacketSizeTest, PacketOverTheBrokersLimitIsDisconnectedWith0x95) {
    BrokerProcess broker(config("max_packet_size 1000\n"));
    auto subscriber = v5_client(broker, on_worker("mps-limit-sub", 0));
    ASSERT_TRUE(subscriber->subscribe("mps/limit", 1));
    auto [publisher, connack] = connect_v5(broker, on_worker("mps-limit-pub", 1));
    EXPECT_EQ(connack.properties.number(PropertyId::MaximumPacketSize), 1000u);
    ASSERT_TRUE(publisher->publish("mps/limit", std::string(900, 'a'), 1));
    EXPECT_EQ(payload_of(subscriber->receive_publish().value_or(Publish{})).size(), 900u);
    ASSERT_TRUE(publisher->send(
        make_publish("mps/limit", std::string(1200, 'b'), 1, false, publisher->next_packet_id())));
    // [MQTT-3.2.2-15] server as receiver: 0x95 Packet too large.
    expect_server_disconnect(*publisher, ReasonCode::PacketTooLarge);
    subscriber->expect_nothing(300ms);
}

// --- Request Response Information / Response Information ---

std::optional<std::string> response_information(const BrokerProcess& broker, const std::string& id,
                                                std::optional<std::uint32_t> request) {
    auto [client, connack] = connect_v5(broker, id, true, [&](Connect& c) {
        if (request) {
            c.properties.set_number(PropertyId::RequestResponseInformation, *request);
        }
    });
    const auto text = connack.properties.text(PropertyId::ResponseInformation);
    return text ? std::optional<std::string>{std::string{*text}} : std::nullopt;
}

TEST(Mqtt5ResponseInformationTest, GivenOnlyWhenRequested) {
    BrokerProcess broker(config());
    const std::string id = on_worker("respinfo", 1);
    EXPECT_EQ(response_information(broker, id, 1), "response/" + id);
    // [MQTT-3.1.2-28] absent or 0: none.
    EXPECT_EQ(response_information(broker, id, std::nullopt), std::nullopt);
    EXPECT_EQ(response_information(broker, id, 0), std::nullopt);
}

TEST(Mqtt5ResponseInformationTest, EmptyPrefixOffersNone) {
    for (const char* line : {"response_topic_prefix\n", "response_topic_prefix \"\"\n"}) {
        SCOPED_TRACE(line);
        BrokerProcess broker(config(line));
        EXPECT_EQ(response_information(broker, on_worker("respinfo-none", 0), 1), std::nullopt);
    }
}

// --- Server redirection (4.11) ---

TEST(Mqtt5ServerRedirectTest, UseAnotherServerCarriesTheServerReference) {
    BrokerProcess broker(config("server_redirect other.example:1883\n"));
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect(on_worker("redirect", 0));
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::UseAnotherServer);  // 0x9C
    EXPECT_FALSE(connack->session_present);
    EXPECT_EQ(connack->properties.text(PropertyId::ServerReference), "other.example:1883");
    EXPECT_TRUE(client.wait_closed());  // [MQTT-3.2.2-7]
}

TEST(Mqtt5ServerRedirectTest, ServerMovedWith0x9D) {
    BrokerProcess broker(config("server_redirect x moved\n"));
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect(on_worker("moved", 0));
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::ServerMoved);
    EXPECT_EQ(connack->properties.text(PropertyId::ServerReference), "x");
    EXPECT_TRUE(client.wait_closed());
}

TEST(Mqtt5ServerRedirectTest, V311ClientGetsServerUnavailable) {
    BrokerProcess broker(config("server_redirect other.example:1883\n"));
    RawClient client(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(client.send(client.connect_packet(on_worker("redirect-v311", 1))));
    // 3.1.1 has no redirection: return code 3, Server unavailable (3.1.1 section 3.2.2.3).
    auto frame = client.receive_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(bytes_hex(*frame), bytes_hex(std::string("\x20\x02\x00\x03", 4)));
    EXPECT_TRUE(client.wait_closed());
}

}  // namespace
}  // namespace petrel::test
