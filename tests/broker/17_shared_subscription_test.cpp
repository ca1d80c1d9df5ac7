// Shared subscriptions (spec 4.8.2), through the real binary with three workers: each
// group delivers each message to exactly one member, picked among the online members by
// `shared_subscription_strategy`; no retained messages for a shared subscription; the
// subscription options are per member. Publishers and members sit on different workers,
// so every delivery crosses threads. Members leaving are in
// 17_shared_subscription_handover_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/paho.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"
#include "support/wait.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PropertyId;
using protocol::Publish;

constexpr unsigned kThreads = 3;
constexpr unsigned kPublisherWorker = 0;  // members live on workers 1 and 2

std::string config(const std::string& strategy = "round_robin") {
    return "threads " + std::to_string(kThreads) + "\nshared_subscription_strategy " + strategy +
           "\n";
}

// A client id homed on `worker`.
std::string id_on(const std::string& prefix, unsigned worker) {
    return client_id_on_worker(prefix, worker, kThreads);
}

std::unique_ptr<RawClient> raw_client(const BrokerProcess& broker, ProtocolVersion version,
                                      const std::string& prefix, unsigned worker) {
    const std::string id = id_on(prefix, worker);
    auto client = connected(broker.port(), version, id, /*clean_start=*/true);
    expect_on_worker(broker, id, worker);
    return client;
}

// A member of `filter`'s group, its subscription granted at `qos`.
std::unique_ptr<RawClient> raw_member(const BrokerProcess& broker, ProtocolVersion version,
                                      const std::string& prefix, unsigned worker,
                                      const std::string& filter, Qos qos = 1) {
    auto client = raw_client(broker, version, prefix, worker);
    auto suback = client->subscribe(filter, qos);
    EXPECT_TRUE(suback && suback->reasons == std::vector{protocol::granted_qos(qos)}) << prefix;
    return client;
}

// Publishes "<prefix><i>" for i in [0, count) and returns the payloads.
std::vector<std::string> publish_numbered(RawClient& publisher, const std::string& topic, int count,
                                          Qos qos = 1, const std::string& prefix = "m") {
    std::vector<std::string> sent;
    for (int i = 0; i < count; ++i) {
        sent.push_back(prefix + std::to_string(i));
        EXPECT_TRUE(publisher.publish(topic, sent.back(), qos)) << sent.back();
    }
    return sent;
}

// Reads and acknowledges PUBLISHes from `members` until `total` arrived in all; what each
// member got, in arrival order.
std::vector<std::vector<Publish>> drain(const std::vector<RawClient*>& members, std::size_t total) {
    std::vector<std::vector<Publish>> got(members.size());
    std::size_t count = 0;
    const auto deadline = std::chrono::steady_clock::now() + kDefaultTimeout;
    while (count < total && std::chrono::steady_clock::now() < deadline) {
        for (std::size_t i = 0; i < members.size(); ++i) {
            while (auto publish = members[i]->try_receive_publish(5ms)) {
                got[i].push_back(std::move(*publish));
                ++count;
            }
        }
    }
    EXPECT_EQ(count, total) << "messages received by the members together";
    return got;
}

std::vector<std::string> payloads(const std::vector<Publish>& publishes) {
    std::vector<std::string> out;
    for (const Publish& publish : publishes) {
        out.push_back(payload_of(publish));
    }
    return out;
}

// Each sent payload arrived exactly once over all members.
void expect_exactly_once(std::vector<std::vector<std::string>> per_member,
                         std::vector<std::string> sent) {
    std::vector<std::string> all;
    for (auto& got : per_member) {
        all.insert(all.end(), got.begin(), got.end());
    }
    std::sort(all.begin(), all.end());
    std::sort(sent.begin(), sent.end());
    EXPECT_EQ(all, sent) << "not every message exactly once";
}

void expect_exactly_once(const std::vector<std::vector<Publish>>& per_member,
                         std::vector<std::string> sent) {
    std::vector<std::vector<std::string>> texts;
    for (const auto& got : per_member) {
        texts.push_back(payloads(got));
    }
    expect_exactly_once(std::move(texts), std::move(sent));
}

// Subscribes a Paho MQTT 5 client to `filter` at QoS 1; the SUBACK must grant it.
void expect_granted_qos1(mqtt::async_client& client, const std::string& filter) {
    auto token = client.subscribe(filter, 1);
    token->wait();
    EXPECT_EQ(token->get_subscribe_response().get_reason_codes(),
              std::vector<mqtt::ReasonCode>{mqtt::GRANTED_QOS_1})
        << filter;
}

class SharedSubscriptionTest : public ::testing::Test {
  protected:
    BrokerProcess broker_{config()};
};

// Three members speaking MQTT 5 (Paho, raw) and 3.1.1 (libmosquitto) on workers 1 and 2,
// the publisher on worker 0: each message reaches exactly one member (4.8.2).
TEST_F(SharedSubscriptionTest, RoundRobinGivesEachMessageToExactlyOneMember) {
    const std::string filter = "$share/group/rr/t";
    const std::string paho_id = id_on("paho", 1);
    auto paho = make_paho_client(broker_.port(), paho_id, /*v5=*/true);
    paho->start_consuming();
    paho->connect(paho_connect_options(true, true))->wait();
    expect_granted_qos1(*paho, filter);
    const std::string mosquitto_id = id_on("mosq", 2);
    MosquittoOptions mosquitto_options;
    mosquitto_options.client_id = mosquitto_id;  // MQTT 3.1.1
    MosquittoClient mosquitto(mosquitto_options);
    ASSERT_EQ(mosquitto.connect(broker_.port()), 0);
    ASSERT_EQ(mosquitto.subscribe(filter, 1), std::optional{std::vector{1}});
    auto raw = raw_member(broker_, ProtocolVersion::V5, "raw", 2, filter);
    expect_on_worker(broker_, paho_id, 1);
    expect_on_worker(broker_, mosquitto_id, 2);
    auto publisher = raw_client(broker_, ProtocolVersion::V5, "pub", kPublisherWorker);

    const auto sent = publish_numbered(*publisher, "rr/t", 300);
    std::vector<std::string> by_paho, by_raw;
    const bool all_arrived = eventually([&] {
        for (mqtt::const_message_ptr message; paho->try_consume_message(&message);) {
            by_paho.push_back(message->get_payload_str());
        }
        while (auto publish = raw->try_receive_publish(1ms)) {
            by_raw.push_back(payload_of(*publish));
        }
        return by_paho.size() + by_raw.size() + mosquitto.message_count() >= sent.size();
    });
    EXPECT_TRUE(all_arrived);
    raw->expect_nothing(200ms);  // no late duplicate
    std::vector<std::string> by_mosquitto;
    for (const ReceivedMessage& message : mosquitto.messages()) {
        by_mosquitto.push_back(message.payload);
        EXPECT_EQ(message.qos, 1);
    }
    // Members take turns: about 100 each.
    EXPECT_GE(by_paho.size(), 80u);
    EXPECT_GE(by_mosquitto.size(), 80u);
    EXPECT_GE(by_raw.size(), 80u);
    expect_exactly_once({by_paho, by_mosquitto, by_raw}, sent);
    paho->disconnect()->wait();
}

TEST(SharedSubscriptionStrategyTest, RandomGivesEachMessageToOneMemberAndReachesAll) {
    BrokerProcess broker(config("random"));
    const std::string filter = "$share/group/random/t";
    auto first = raw_member(broker, ProtocolVersion::V5, "r1", 1, filter);
    auto second = raw_member(broker, ProtocolVersion::V311, "r2", 2, filter);
    auto third = raw_member(broker, ProtocolVersion::V5, "r3", 2, filter);
    auto publisher = raw_client(broker, ProtocolVersion::V5, "pub", kPublisherWorker);

    const auto sent = publish_numbered(*publisher, "random/t", 300);
    const auto got = drain({first.get(), second.get(), third.get()}, sent.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_GT(got[i].size(), 30u) << "member " << i;
    }
    expect_exactly_once(got, sent);
}

// hash_client picks the member by the publisher's client id: one publisher's messages all
// go to one member, which keeps them in order.
TEST(SharedSubscriptionStrategyTest, HashClientKeepsEachPublisherOnOneMemberInOrder) {
    BrokerProcess broker(config("hash_client"));
    const std::string filter = "$share/group/hash/t";
    auto first = raw_member(broker, ProtocolVersion::V5, "h1", 1, filter);
    auto second = raw_member(broker, ProtocolVersion::V311, "h2", 2, filter);
    auto publisher_a = raw_client(broker, ProtocolVersion::V5, "pub-a", kPublisherWorker);
    auto publisher_b = raw_client(broker, ProtocolVersion::V311, "pub-b", kPublisherWorker);

    std::vector<std::string> sent_a, sent_b;
    for (int i = 0; i < 100; ++i) {
        sent_a.push_back("a" + std::to_string(i));
        sent_b.push_back("b" + std::to_string(i));
        ASSERT_TRUE(publisher_a->publish("hash/t", sent_a.back(), 1));
        ASSERT_TRUE(publisher_b->publish("hash/t", sent_b.back(), 1));
    }
    const auto got = drain({first.get(), second.get()}, 200);
    for (const auto& [prefix, sent] : {std::pair{'a', sent_a}, std::pair{'b', sent_b}}) {
        std::vector<std::vector<std::string>> seen(got.size());
        for (std::size_t member = 0; member < got.size(); ++member) {
            for (const std::string& payload : payloads(got[member])) {
                if (payload.front() == prefix) {
                    seen[member].push_back(payload);
                }
            }
        }
        // Everything on one member, in publishing order.
        EXPECT_TRUE(seen[0].empty() || seen[1].empty()) << "publisher " << prefix << " split";
        EXPECT_EQ(seen[0].empty() ? seen[1] : seen[0], sent) << "publisher " << prefix;
    }
}

// [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error; on a non-shared
// one it is fine.
TEST_F(SharedSubscriptionTest, NoLocalOnASharedSubscriptionIsAProtocolError) {
    auto client = raw_client(broker_, ProtocolVersion::V5, "nolocal", 1);
    protocol::Subscription plain{"nolocal/t", {.qos = 1, .no_local = true}};
    auto suback = client->subscribe({plain});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons, std::vector<protocol::SubackReason>{ReasonCode::GrantedQos1});

    protocol::Subscribe subscribe;
    subscribe.packet_id = client->next_packet_id();
    subscribe.subscriptions = {{"$share/group/nolocal/t", {.qos = 1, .no_local = true}}};
    ASSERT_TRUE(client->send(subscribe));
    auto disconnect = client->expect<protocol::Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, ReasonCode::ProtocolError);
    EXPECT_TRUE(client->wait_closed());
}

// shared_subscription_available false: CONNACK says Shared Subscription Available 0
// (3.2.2.3.17) and a $share filter gets SUBACK 0x9E (3.1.1: 0x80), the rest is granted.
TEST(SharedSubscriptionDisabledTest, ConnackSaysUnavailableAndSubackRefusesWith0x9E) {
    BrokerProcess broker(config() + "shared_subscription_available false\n");
    for (const ProtocolVersion version : {ProtocolVersion::V5, ProtocolVersion::V311}) {
        SCOPED_TRACE(version_name(version));
        RawClient client(broker.port(), version);
        auto connack = client.connect(id_on(std::string{version_name(version)}, 1));
        ASSERT_TRUE(connack);
        EXPECT_EQ(connack->reason, ReasonCode::Success);
        if (is_v5(version)) {
            EXPECT_EQ(connack->properties.number(PropertyId::SharedSubscriptionAvailable),
                      std::optional<std::uint32_t>{0});
        }
        auto suback = client.subscribe({{"$share/group/off/t", {.qos = 1}}, {"off/t", {.qos = 1}}});
        ASSERT_TRUE(suback);
        const auto refused =
            is_v5(version) ? protocol::SubackReason(ReasonCode::SharedSubscriptionsNotSupported)
                           : protocol::SubackReason(ReasonCode::UnspecifiedError);
        EXPECT_EQ(suback->reasons,
                  (std::vector{refused, protocol::SubackReason(ReasonCode::GrantedQos1)}));
        client.disconnect();
    }
}

// mosquitto_sub as a group member next to a Paho member.
TEST_F(SharedSubscriptionTest, MosquittoSubAndPahoShareAGroup) {
    const std::string filter = "$share/cli/cli/t";
    TempDir dir;
    const auto output_path = dir.path() / "sub.out";
    const std::string cli_id = id_on("mosquitto-sub", 1);
    SpawnOptions options;
    options.argv = {find_program("stdbuf"),
                    "-oL",
                    find_program("mosquitto_sub"),
                    "-h",
                    kLoopback,
                    "-p",
                    std::to_string(broker_.port()),
                    "-V",
                    "mqttv5",
                    "-i",
                    cli_id,
                    "-t",
                    filter,
                    "-q",
                    "1",
                    "-d",
                    "-F",
                    "MSG|%p"};
    options.stdout_path = output_path;
    options.stderr_path = output_path;
    ChildProcess cli(options);
    ASSERT_TRUE(eventually([&] {
        return read_file(output_path).find("SUBACK") != std::string::npos;
    })) << read_file(output_path);
    expect_on_worker(broker_, cli_id, 1);
    const std::string paho_id = id_on("paho", 2);
    auto paho = make_paho_client(broker_.port(), paho_id, /*v5=*/true);
    paho->start_consuming();
    paho->connect(paho_connect_options(true, true))->wait();
    expect_granted_qos1(*paho, filter);
    expect_on_worker(broker_, paho_id, 2);
    auto publisher = raw_client(broker_, ProtocolVersion::V5, "pub", kPublisherWorker);

    const auto sent = publish_numbered(*publisher, "cli/t", 40);
    std::vector<std::string> by_paho, by_cli;
    const auto cli_messages = [&] {
        std::vector<std::string> lines;
        std::ifstream in(output_path);
        for (std::string line; std::getline(in, line);) {
            if (line.starts_with("MSG|")) {
                lines.push_back(line.substr(4));
            }
        }
        return lines;
    };
    EXPECT_TRUE(eventually([&] {
        for (mqtt::const_message_ptr message; paho->try_consume_message(&message);) {
            by_paho.push_back(message->get_payload_str());
        }
        by_cli = cli_messages();
        return by_paho.size() + by_cli.size() >= sent.size();
    })) << read_file(output_path);
    EXPECT_FALSE(by_paho.empty());
    EXPECT_FALSE(by_cli.empty());
    expect_exactly_once({by_paho, by_cli}, sent);
    paho->disconnect()->wait();
}

class SharedSubscriptionVersionTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }
    std::unique_ptr<RawClient> member(const std::string& prefix, unsigned worker,
                                      const std::string& filter, Qos qos = 1) {
        return raw_member(broker_, version(), prefix, worker, filter, qos);
    }
    std::unique_ptr<RawClient> publisher() {
        return raw_client(broker_, version(), "pub", kPublisherWorker);
    }

    BrokerProcess broker_{config()};
};

// Each group gets each message once; a plain subscription gets every message, in order.
TEST_P(SharedSubscriptionVersionTest, TwoGroupsAndAPlainSubscriberEachGetEveryMessage) {
    auto g1_a = member("g1-a", 1, "$share/g1/two/t");
    auto g1_b = member("g1-b", 2, "$share/g1/two/t");
    auto g2_a = member("g2-a", 1, "$share/g2/two/+");
    auto g2_b = member("g2-b", 2, "$share/g2/two/+");
    auto plain = member("plain", 2, "two/t");
    auto pub = publisher();

    const auto sent = publish_numbered(*pub, "two/t", 40);
    expect_exactly_once(drain({g1_a.get(), g1_b.get()}, sent.size()), sent);
    expect_exactly_once(drain({g2_a.get(), g2_b.get()}, sent.size()), sent);
    EXPECT_EQ(payloads(drain({plain.get()}, sent.size()).at(0)), sent);
    for (RawClient* client : {g1_a.get(), g1_b.get(), g2_a.get(), g2_b.get(), plain.get()}) {
        client->expect_nothing(100ms);
    }
}

// Retained messages are not sent for a new shared subscription (3.3.1.3: only a new
// Non-shared Subscription gets them), while a plain subscription does.
TEST_P(SharedSubscriptionVersionTest, RetainedMessagesAreNotSentForASharedSubscription) {
    auto pub = publisher();
    ASSERT_TRUE(pub->publish("kept/t", "retained", 1, /*retain=*/true));
    auto shared = member("shared", 1, "$share/group/kept/t");
    auto plain = member("plain", 2, "kept/t");
    auto stored = plain->receive_publish();
    ASSERT_TRUE(stored);
    EXPECT_EQ(payload_of(*stored), "retained");
    EXPECT_TRUE(stored->retain);

    // A retained message would come right after the SUBACK, before any live one.
    ASSERT_TRUE(pub->publish("kept/t", "live", 1));
    auto first = shared->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_EQ(payload_of(*first), "live");
    EXPECT_FALSE(first->retain);
}

// [MQTT-4.8.2-3] each member gets the QoS its own subscription was granted.
TEST_P(SharedSubscriptionVersionTest, EachMemberGetsItsGrantedQos) {
    auto at_qos0 = member("q0", 1, "$share/group/qos/t", 0);
    auto at_qos2 = member("q2", 2, "$share/group/qos/t", 2);
    auto pub = publisher();

    const auto sent = publish_numbered(*pub, "qos/t", 10, 2);
    const auto got = drain({at_qos0.get(), at_qos2.get()}, sent.size());
    ASSERT_FALSE(got[0].empty());
    ASSERT_FALSE(got[1].empty());
    for (const Publish& publish : got[0]) {
        EXPECT_EQ(int{publish.qos}, 0) << describe(Packet{publish});
    }
    for (const Publish& publish : got[1]) {
        EXPECT_EQ(int{publish.qos}, 2) << describe(Packet{publish});
    }
    expect_exactly_once(got, sent);
}

TEST_P(SharedSubscriptionVersionTest, UnsubscribedMemberStopsReceiving) {
    const std::string filter = "$share/group/unsub/t";
    auto leaving = member("leaving", 1, filter);
    auto staying_1 = member("staying-1", 1, filter);
    auto staying_2 = member("staying-2", 2, filter);
    auto pub = publisher();
    auto unsuback = leaving->unsubscribe({filter});
    ASSERT_TRUE(unsuback);
    if (is_v5(version())) {
        EXPECT_EQ(unsuback->reasons, std::vector<protocol::UnsubackReason>{ReasonCode::Success});
    }

    const auto sent = publish_numbered(*pub, "unsub/t", 30);
    const auto got = drain({staying_1.get(), staying_2.get()}, sent.size());
    EXPECT_FALSE(got[0].empty());
    EXPECT_FALSE(got[1].empty());
    expect_exactly_once(got, sent);
    leaving->expect_nothing(200ms);
}

// A session with a non-shared and a shared subscription matching a topic gets one copy
// for each (4.8.2: the shared subscription is a subscription of its own).
TEST_P(SharedSubscriptionVersionTest, SharedAndNonSharedSubscriptionsGiveTwoCopies) {
    auto client = member("both", 1, "copies/t");
    auto suback = client->subscribe("$share/group/copies/#", 1);
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons, std::vector<protocol::SubackReason>{ReasonCode::GrantedQos1});
    auto pub = publisher();

    const auto sent = publish_numbered(*pub, "copies/t", 5);
    const auto got = payloads(drain({client.get()}, 2 * sent.size()).at(0));
    expect_exactly_once({got}, [&] {
        auto twice = sent;
        twice.insert(twice.end(), sent.begin(), sent.end());
        return twice;
    }());
    client->expect_nothing(200ms);
}

INSTANTIATE_TEST_SUITE_P(Versions, SharedSubscriptionVersionTest, both_versions(),
                         VersionParamName{});

}  // namespace
}  // namespace petrel::test
