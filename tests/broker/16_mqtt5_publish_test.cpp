// MQTT 5 PUBLISH features through the real binary (spec 3.3.2.3, 4.10, 3.1.3.2): properties
// forwarded unaltered, the Payload Format Indicator check, Response Topic validity, the
// request / response pattern and will properties (Message Expiry is in
// 16b_mqtt5_subscribe_test.cpp, with the other delivery-side rules). Every test runs two workers
// and puts the publisher and its subscribers on different ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/paho.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"
#include "support/worker_placement.hpp"

namespace petrel::protocol {
// Readable failure messages for properties: "0x26 'name'='value'", "0x02 30".
void PrintTo(const Property& property, std::ostream* out) {
    *out << "0x" << std::hex << int{static_cast<std::uint8_t>(property.id)} << std::dec;
    if (property_type(static_cast<std::uint8_t>(property.id)) >= PropertyType::Utf8String) {
        *out << " '" << property.text << "'";
        if (property.id == PropertyId::UserProperty) {
            *out << "='" << property.value << "'";
        }
    } else {
        *out << " " << property.number;
    }
}
void PrintTo(const Properties& properties, std::ostream* out) {
    *out << "{";
    for (const Property& property : properties) {
        *out << " ";
        PrintTo(property, out);
    }
    *out << " }";
}
}  // namespace petrel::protocol

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Properties;
using protocol::PropertyId;
using protocol::Publish;

constexpr unsigned kThreads = 2;
const std::string kCorrelation("corr\0id\xff", 8);  // binary, with a 0 byte

// `program` (found on PATH) and its space-separated `arguments`.
std::vector<std::string> command(const std::string& program, std::string_view arguments) {
    std::vector<std::string> argv{find_program(program)};
    for (std::size_t at = 0; at < arguments.size();) {
        const std::size_t end = std::min(arguments.find(' ', at), arguments.size());
        argv.emplace_back(arguments.substr(at, end - at));
        at = end + 1;
    }
    return argv;
}

// The properties the Paho forwarding test publishes: User Properties with a repeated name,
// interleaved with another, must keep their order [MQTT-3.3.2-18].
Properties sample_properties() {
    Properties properties;
    properties.add_number(PropertyId::PayloadFormatIndicator, 1);
    properties.add_text(PropertyId::ContentType, "text/plain; charset=utf-8");
    properties.add_text(PropertyId::ResponseTopic, "reply/to/me");
    properties.add_text(PropertyId::CorrelationData, kCorrelation);
    properties.add_user_property("k", "v1");
    properties.add_user_property("other", "x");
    properties.add_user_property("k", "v2");
    properties.add_user_property("k", "v1");
    return properties;
}

Publish publish_with(std::string topic, std::string_view payload, Qos qos, Properties properties,
                     bool retain = false) {
    Publish publish = make_publish(std::move(topic), payload, qos, retain);
    publish.properties = std::move(properties);
    return publish;
}

// `properties` ordered by identifier. The sort is stable, so User Properties keep their
// order: comparing two canonical lists checks the same properties with the User Property
// order kept, which is what the spec asks [MQTT-3.3.2-17], [MQTT-3.3.2-18].
std::vector<protocol::Property> canonical(const Properties& properties) {
    std::vector<protocol::Property> sorted(properties.begin(), properties.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.id < b.id; });
    return sorted;
}

// Connects Paho clients at the same time: Paho C's background thread notices a second
// client's new socket only after a 1 s select timeout, so one after the other costs 2 s.
void connect_together(
    const std::vector<std::pair<mqtt::async_client*, mqtt::connect_options>>& clients) {
    std::vector<mqtt::token_ptr> tokens;
    for (auto [client, options] : clients) {
        // A copied connect_options points at its source's properties (Paho C++ 1.2.0).
        options.set_properties(options.get_properties());
        tokens.push_back(client->connect(options));
    }
    for (const auto& token : tokens) {
        token->wait();
    }
}

class Mqtt5PublishTest : public ::testing::Test {
  protected:
    // A fresh id homed on `worker`.
    static std::string id_on(const std::string& stem, unsigned worker) {
        return client_id_on_worker(stem, worker, kThreads);
    }
    // The broker put `id`'s latest connection on `worker`.
    void expect_worker(const std::string& id, unsigned worker) {
        expect_on_worker(broker_, id, worker);
    }
    std::unique_ptr<RawClient> raw(const std::string& id, unsigned worker) {
        auto client = connected(broker_.port(), ProtocolVersion::V5, id, true);
        expect_worker(id, worker);
        return client;
    }

    BrokerProcess broker_{"threads 2"};
};

// --- properties forwarded unaltered ---

TEST_F(Mqtt5PublishTest, PropertiesForwardedUnalteredFromPahoToPahoAndRaw) {
    const std::string raw_id = id_on("props-raw", 1);
    auto raw_sub = raw(raw_id, 1);
    ASSERT_TRUE(raw_sub->subscribe("props/t", 1));

    const std::string sub_id = id_on("props-paho-sub", 1);
    auto paho_sub = make_paho_client(broker_.port(), sub_id, true);
    paho_sub->start_consuming();
    const std::string pub_id = id_on("props-paho-pub", 0);
    auto paho_pub = make_paho_client(broker_.port(), pub_id, true);
    connect_together({{paho_sub.get(), paho_connect_options(true, true)},
                      {paho_pub.get(), paho_connect_options(true, true)}});
    paho_sub->subscribe("props/t", 1)->wait();
    expect_worker(sub_id, 1);
    expect_worker(pub_id, 0);
    mqtt::properties sent;
    for (const protocol::Property& property : sample_properties()) {
        const auto code = static_cast<mqtt::property::code>(property.id);
        if (property.id == PropertyId::PayloadFormatIndicator) {
            sent.add(mqtt::property(code, static_cast<int>(property.number)));
        } else if (property.id == PropertyId::UserProperty) {
            sent.add(mqtt::property(code, property.text, property.value));
        } else {
            sent.add(mqtt::property(code, property.text));
        }
    }
    auto message = mqtt::make_message("props/t", "h\xc3\xa9llo", 1, false);
    message->set_properties(sent);
    paho_pub->publish(message)->wait();

    // The raw subscriber sees exactly the publisher's properties, User Properties in order
    // [MQTT-3.3.2-4],
    // [MQTT-3.3.2-15], [MQTT-3.3.2-16], [MQTT-3.3.2-17], [MQTT-3.3.2-18], [MQTT-3.3.2-20].
    auto forwarded = raw_sub->receive_publish();
    ASSERT_TRUE(forwarded);
    EXPECT_EQ(payload_of(*forwarded), "h\xc3\xa9llo");
    EXPECT_EQ(canonical(forwarded->properties), canonical(sample_properties()));

    mqtt::const_message_ptr received;
    ASSERT_TRUE(paho_sub->try_consume_message_for(&received, 5s));
    const mqtt::properties& got = received->get_properties();
    using P = mqtt::property;
    EXPECT_EQ(mqtt::get<std::uint8_t>(got, P::PAYLOAD_FORMAT_INDICATOR), 1);
    EXPECT_EQ(mqtt::get<std::string>(got, P::CONTENT_TYPE), "text/plain; charset=utf-8");
    EXPECT_EQ(mqtt::get<std::string>(got, P::RESPONSE_TOPIC), "reply/to/me");
    EXPECT_EQ(mqtt::get<std::string>(got, P::CORRELATION_DATA), kCorrelation);
    std::vector<std::string> users;
    for (std::size_t i = 0; i < got.count(P::USER_PROPERTY); ++i) {
        const auto [name, value] = mqtt::get<mqtt::string_pair>(got, P::USER_PROPERTY, i);
        users.push_back(name + "=" + value);
    }
    EXPECT_EQ(users, (std::vector<std::string>{"k=v1", "other=x", "k=v2", "k=v1"}));
    paho_pub->disconnect()->wait();
    paho_sub->disconnect()->wait();
}

TEST_F(Mqtt5PublishTest, PropertiesForwardedFromMosquittoPubToMosquittoSub) {
    const std::string raw_id = id_on("cli-raw", 1);
    auto raw_sub = raw(raw_id, 1);
    ASSERT_TRUE(raw_sub->subscribe("cli/props", 1));

    TempDir dir{"petrel-sub-"};
    const auto output = dir.path() / "sub.out";
    const std::string sub_id = id_on("cli-sub", 1);
    SpawnOptions options;
    options.argv = command("stdbuf", "-oL");
    const auto sub =
        command("mosquitto_sub",
                "-h 127.0.0.1 -V mqttv5 -t cli/props -q 1 -C 1 -W 10 -d -F MSG|%C|%R|%D|%F|%P|%p");
    options.argv.insert(options.argv.end(), sub.begin(), sub.end());
    options.argv.insert(options.argv.end(), {"-p", std::to_string(broker_.port()), "-i", sub_id});
    options.stdout_path = output;
    options.stderr_path = output;
    ChildProcess subscriber(options);
    ASSERT_TRUE(eventually([&] { return read_file(output).find("SUBACK") != std::string::npos; }))
        << read_file(output);
    expect_worker(sub_id, 1);

    const std::string pub_id = id_on("cli-pub", 0);
    std::vector<std::string> pub =
        command("mosquitto_pub",
                "-h 127.0.0.1 -V mqttv5 -t cli/props -q 1 -m payload "
                "-D PUBLISH content-type application/json -D PUBLISH response-topic cli/reply "
                "-D PUBLISH correlation-data c-42 -D PUBLISH payload-format-indicator 1 "
                "-D PUBLISH user-property k v1 -D PUBLISH user-property k v2");
    pub.insert(pub.end(), {"-p", std::to_string(broker_.port()), "-i", pub_id});
    const CommandResult published = run_command(pub);
    ASSERT_EQ(published.status, 0) << published.err;
    expect_worker(pub_id, 0);

    ASSERT_EQ(subscriber.wait_for_exit(12s), 0) << read_file(output);
    const std::string out = read_file(output);
    EXPECT_NE(out.find("MSG|application/json|cli/reply|c-42|1|"), std::string::npos) << out;
    EXPECT_NE(out.find("k:v1"), std::string::npos) << out;
    EXPECT_NE(out.find("k:v2"), std::string::npos) << out;
    EXPECT_LT(out.find("k:v1"), out.find("k:v2")) << out;

    auto forwarded = raw_sub->receive_publish();
    ASSERT_TRUE(forwarded);
    std::vector<std::string> users;
    for (const protocol::Property& property : forwarded->properties) {
        if (property.id == PropertyId::UserProperty) {
            users.push_back(property.text + "=" + property.value);
        }
    }
    EXPECT_EQ(users, (std::vector<std::string>{"k=v1", "k=v2"}));  // [MQTT-3.3.2-18]
    EXPECT_EQ(forwarded->properties.text(PropertyId::CorrelationData), "c-42");
}

// --- Payload Format Indicator (3.3.2.3.2) ---

TEST_F(Mqtt5PublishTest, InvalidUtf8WithPayloadFormatIndicatorIsRefused) {
    auto subscriber = raw(id_on("pfi-sub", 1), 1);
    ASSERT_TRUE(subscriber->subscribe("pfi/t", 2));
    auto publisher = raw(id_on("pfi-pub", 0), 0);
    Properties utf8;
    utf8.add_number(PropertyId::PayloadFormatIndicator, 1);
    const std::string invalid("bad \xff\xfe", 6);

    Publish qos1 = publish_with("pfi/t", invalid, 1, utf8);
    qos1.packet_id = publisher->next_packet_id();
    ASSERT_TRUE(publisher->send(qos1));
    auto puback = publisher->expect<protocol::Puback>();
    ASSERT_TRUE(puback);
    EXPECT_EQ(puback->packet_id, qos1.packet_id);
    EXPECT_EQ(puback->reason, ReasonCode::PayloadFormatInvalid);  // 0x99

    Publish qos2 = publish_with("pfi/t", invalid, 2, utf8);
    qos2.packet_id = publisher->next_packet_id();
    ASSERT_TRUE(publisher->send(qos2));
    auto pubrec = publisher->expect<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->packet_id, qos2.packet_id);
    EXPECT_EQ(pubrec->reason, ReasonCode::PayloadFormatInvalid);  // 0x99

    // QoS 0 cannot be refused: dropped, and the connection stays open.
    ASSERT_TRUE(publisher->send(publish_with("pfi/t", invalid, 0, utf8)));
    // A valid UTF-8 payload with the indicator is delivered, and is the first to arrive.
    ASSERT_TRUE(publisher->publish(publish_with("pfi/t", "valid \xc3\xa9", 1, utf8)));
    auto first = subscriber->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_EQ(payload_of(*first), "valid \xc3\xa9");
    EXPECT_EQ(first->properties.number(PropertyId::PayloadFormatIndicator), 1u);
    subscriber->expect_nothing();
    EXPECT_FALSE(publisher->closed());
}

// --- Response Topic ---

TEST_F(Mqtt5PublishTest, ResponseTopicWithWildcardIsAProtocolError) {
    auto subscriber = raw(id_on("rt-sub", 1), 1);
    ASSERT_TRUE(subscriber->subscribe("rt/#", 1));
    auto publisher = raw(id_on("rt-pub", 0), 0);
    Properties wildcard;
    wildcard.add_text(PropertyId::ResponseTopic, "a/+");
    Publish bad = publish_with("rt/t", "bad", 1, wildcard);
    bad.packet_id = publisher->next_packet_id();
    ASSERT_TRUE(publisher->send(bad));
    // [MQTT-3.3.2-14] a Response Topic has no wildcards.
    auto disconnect = publisher->wait_for<protocol::Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, ReasonCode::ProtocolError);  // 0x82
    EXPECT_TRUE(publisher->wait_closed());

    auto marker = raw(id_on("rt-marker", 0), 0);
    ASSERT_TRUE(marker->publish("rt/marker", "marker", 1));
    auto first = subscriber->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->topic, "rt/marker") << "the refused PUBLISH was delivered";
}

// --- request / response (4.10) ---

TEST_F(Mqtt5PublishTest, RequestResponseRoundTripWithPaho) {
    const std::string responder_id = id_on("rr-responder", 1);
    auto responder = make_paho_client(broker_.port(), responder_id, true);
    responder->start_consuming();
    const std::string requester_id = id_on("rr-requester", 0);
    auto requester = make_paho_client(broker_.port(), requester_id, true);
    requester->start_consuming();
    mqtt::connect_options options = paho_connect_options(true, true);
    options.set_properties({mqtt::property(mqtt::property::REQUEST_RESPONSE_INFORMATION, 1)});
    auto token = requester->connect(options);
    responder->connect(paho_connect_options(true, true))->wait();
    token->wait();
    expect_worker(responder_id, 1);
    expect_worker(requester_id, 0);
    responder->subscribe("service/request", 1)->wait();

    // [MQTT-3.1.2-28] asked for, so the CONNACK carries Response Information.
    const mqtt::connect_response response = token->get_connect_response();
    const mqtt::properties& connack = response.get_properties();
    ASSERT_TRUE(connack.contains(mqtt::property::RESPONSE_INFORMATION));
    const auto info = mqtt::get<std::string>(connack, mqtt::property::RESPONSE_INFORMATION);
    EXPECT_EQ(info, "response/" + requester_id);
    const std::string reply_topic = info + "/reply";
    requester->subscribe(reply_topic, 1)->wait();

    auto request = mqtt::make_message("service/request", "what time is it", 1, false);
    request->set_properties({mqtt::property(mqtt::property::RESPONSE_TOPIC, reply_topic),
                             mqtt::property(mqtt::property::CORRELATION_DATA, kCorrelation)});
    requester->publish(request)->wait();

    mqtt::const_message_ptr received;
    ASSERT_TRUE(responder->try_consume_message_for(&received, 5s));
    const mqtt::properties& asked = received->get_properties();
    const auto respond_to = mqtt::get<std::string>(asked, mqtt::property::RESPONSE_TOPIC);
    const auto correlation = mqtt::get<std::string>(asked, mqtt::property::CORRELATION_DATA);
    EXPECT_EQ(respond_to, reply_topic);
    EXPECT_EQ(correlation, kCorrelation);
    auto reply = mqtt::make_message(respond_to, "noon", 1, false);
    reply->set_properties({mqtt::property(mqtt::property::CORRELATION_DATA, correlation)});
    responder->publish(reply)->wait();

    mqtt::const_message_ptr answer;
    ASSERT_TRUE(requester->try_consume_message_for(&answer, 5s));
    EXPECT_EQ(answer->get_topic(), reply_topic);
    EXPECT_EQ(answer->get_payload_str(), "noon");
    EXPECT_EQ(mqtt::get<std::string>(answer->get_properties(), mqtt::property::CORRELATION_DATA),
              kCorrelation);
    requester->disconnect()->wait();
    responder->disconnect()->wait();
}

// --- will properties (3.1.3.2) ---

TEST_F(Mqtt5PublishTest, WillIsPublishedWithItsProperties) {
    auto watcher = raw(id_on("will-props-watcher", 1), 1);
    ASSERT_TRUE(watcher->subscribe("will/props", 1));

    const std::string id = id_on("will-props", 0);
    RawClient client(broker_.port(), ProtocolVersion::V5);
    protocol::Connect connect = client.connect_packet(id, true);
    protocol::Will will;
    will.topic = "will/props";
    will.payload = protocol::make_payload("gone");
    will.qos = 1;
    will.properties.add_number(PropertyId::WillDelayInterval, 5);  // the session ends first
    will.properties.add_text(PropertyId::ContentType, "text/plain");
    will.properties.add_user_property("w", "1");
    will.properties.add_number(PropertyId::MessageExpiryInterval, 30);
    will.properties.add_user_property("w", "2");
    connect.will = will;
    ASSERT_TRUE(client.connect(connect));
    expect_worker(id, 0);
    client.close();

    auto message = watcher->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "gone");
    Properties properties = message->properties;
    const auto left = properties.number(PropertyId::MessageExpiryInterval);
    ASSERT_TRUE(left);
    EXPECT_LE(*left, 30u);
    EXPECT_GE(*left, 29u);
    properties.set_number(PropertyId::MessageExpiryInterval, 30);
    // Will Delay Interval is not forwarded; the rest are, User Properties in order
    // [MQTT-3.1.3-10].
    Properties expected;
    expected.add_text(PropertyId::ContentType, "text/plain");
    expected.add_user_property("w", "1");
    expected.add_number(PropertyId::MessageExpiryInterval, 30);
    expected.add_user_property("w", "2");
    EXPECT_EQ(canonical(properties), canonical(expected));
}

}  // namespace
}  // namespace petrel::test
