// Persistence across restarts (the LMDB store): persistent sessions with their
// subscriptions, queued and in-flight messages and incoming QoS 2 state, session expiry
// counted while the broker is down, retained messages, and the wills of clients that
// were connected when the broker died. A SIGKILL stands for a crash: in the default sync
// mode whatever the broker acknowledged must survive it.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Connect;
using protocol::PacketId;
using protocol::PropertyId;
using protocol::Publish;

// Every PUBLISH that arrives until `quiet` passes without one, acknowledged.
std::vector<Publish> drain(RawClient& client, std::chrono::milliseconds quiet = 500ms) {
    std::vector<Publish> received;
    while (auto message = client.try_receive_publish(quiet)) {
        received.push_back(*message);
    }
    return received;
}

// --- sessions, with the broker stopped by SIGTERM or SIGKILL ---

class PersistenceRestartTest : public ::testing::TestWithParam<std::tuple<ProtocolVersion, int>> {
  protected:
    ProtocolVersion version() const { return std::get<0>(GetParam()); }
    void stop_and_restart() {
        broker_.stop(std::get<1>(GetParam()));
        broker_.restart();
    }

    BrokerProcess broker_;
};

TEST_P(PersistenceRestartTest, SessionKeepsSubscriptionsAndQueuedMessages) {
    {
        auto subscriber = connected(broker_.port(), version(), "restart-sub", false);
        ASSERT_TRUE(subscriber->subscribe("queue/1", 1));
        ASSERT_TRUE(subscriber->subscribe("queue/2", 2));
        ASSERT_TRUE(subscriber->subscribe("queue/gone", 1));
        ASSERT_TRUE(subscriber->unsubscribe({"queue/gone"}));
        subscriber->disconnect();
    }
    {
        auto publisher = connected(broker_.port(), version(), "restart-pub", true);
        for (int i = 0; i < 3; ++i) {
            ASSERT_TRUE(publisher->publish("queue/1", "one " + std::to_string(i), 1));
            ASSERT_TRUE(publisher->publish("queue/2", "two " + std::to_string(i), 2));
        }
    }
    stop_and_restart();

    auto subscriber = connected(broker_.port(), version(), "restart-sub", false, true);
    for (int i = 0; i < 3; ++i) {
        for (int qos = 1; qos <= 2; ++qos) {
            auto message = subscriber->receive_publish();
            ASSERT_TRUE(message) << "message " << i << " qos " << qos;
            EXPECT_EQ(payload_of(*message), (qos == 1 ? "one " : "two ") + std::to_string(i));
            EXPECT_EQ(int{message->qos}, qos);
        }
    }
    // The subscriptions are in force without a new SUBSCRIBE; the unsubscribed one is not.
    auto publisher = connected(broker_.port(), version(), "restart-pub", true);
    ASSERT_TRUE(publisher->publish("queue/gone", "unsubscribed", 1));
    ASSERT_TRUE(publisher->publish("queue/2", "live", 2));
    auto live = subscriber->receive_publish();
    ASSERT_TRUE(live);
    EXPECT_EQ(payload_of(*live), "live") << describe(*live);
    subscriber->expect_nothing(200ms);
}

std::string restart_case_name(
    const ::testing::TestParamInfo<std::tuple<ProtocolVersion, int>>& info) {
    return std::string{version_name(std::get<0>(info.param))} +
           (std::get<1>(info.param) == SIGKILL ? "_SIGKILL" : "_SIGTERM");
}

INSTANTIATE_TEST_SUITE_P(Versions, PersistenceRestartTest,
                         ::testing::Combine(both_versions(), ::testing::Values(SIGTERM, SIGKILL)),
                         restart_case_name);

// --- crash (SIGKILL) cases, once per protocol version ---

class PersistenceCrashTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }
    std::unique_ptr<RawClient> client(const std::string& id, bool clean_start,
                                      bool expect_present = false) {
        return connected(broker_.port(), version(), id, clean_start, expect_present);
    }
    void crash_and_restart() {
        EXPECT_EQ(broker_.kill_hard(), 128 + SIGKILL);
        broker_.restart();
    }

    BrokerProcess broker_;
};

TEST_P(PersistenceCrashTest, SubackedSubscriptionSurvivesAnImmediateCrash) {
    {
        auto subscriber = client("suback-sub", false);
        auto suback = subscriber->subscribe("suback/t", 1);
        ASSERT_TRUE(suback);
        ASSERT_FALSE(protocol::is_failure(suback->reasons.at(0)));
        crash_and_restart();  // at once: the SUBACK promised the subscription is stored
    }
    ASSERT_TRUE(client("suback-pub", true)->publish("suback/t", "after the crash", 1));
    auto subscriber = client("suback-sub", false, true);
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "after the crash");
}

// Sent but unacknowledged deliveries are resent with DUP=1 and their packet ids; a
// PUBREC'd QoS 2 delivery continues with PUBREL [MQTT-4.4.0-1], [MQTT-4.6.0-1].
TEST_P(PersistenceCrashTest, InflightMessagesAreResentAfterACrash) {
    auto subscriber = client("inflight-sub", false);
    ASSERT_TRUE(subscriber->subscribe("inflight/#", 2));
    auto publisher = client("inflight-pub", true);
    ASSERT_TRUE(publisher->publish("inflight/a", "one", 1));
    ASSERT_TRUE(publisher->publish("inflight/b", "two", 2));
    ASSERT_TRUE(publisher->publish("inflight/c", "three", 2));
    std::map<std::string, Publish> sent;
    for (int i = 0; i < 3; ++i) {
        auto message = subscriber->receive_publish(kDefaultTimeout, /*ack=*/false);
        ASSERT_TRUE(message);
        sent[payload_of(*message)] = *message;
    }
    ASSERT_EQ(sent.size(), 3U);
    const PacketId released = sent["three"].packet_id;
    subscriber->send(protocol::Pubrec{released, ReasonCode::Success, {}});
    ASSERT_TRUE(subscriber->wait_for<protocol::Pubrel>(
        kDefaultTimeout, [&](const protocol::Pubrel& rel) { return rel.packet_id == released; }));
    crash_and_restart();

    subscriber = client("inflight-sub", false, true);
    std::vector<Publish> resent;
    bool pubrel_resent = false;
    while (auto packet = subscriber->receive(1s)) {
        if (auto* publish = std::get_if<Publish>(&*packet)) {
            resent.push_back(*publish);
        } else if (auto* rel = std::get_if<protocol::Pubrel>(&*packet)) {
            EXPECT_EQ(rel->packet_id, released);
            pubrel_resent = true;
        } else {
            ADD_FAILURE() << "unexpected " << describe(*packet);
        }
    }
    EXPECT_TRUE(pubrel_resent) << "no PUBREL for the PUBREC'd delivery";
    ASSERT_EQ(resent.size(), 2U) << "want 'one' and 'two' resent, not 'three'";
    const char* order[] = {"one", "two"};
    for (std::size_t i = 0; i < resent.size(); ++i) {
        const Publish& original = sent[order[i]];
        EXPECT_EQ(payload_of(resent[i]), order[i]);
        EXPECT_TRUE(resent[i].dup) << describe(resent[i]);
        EXPECT_EQ(resent[i].packet_id, original.packet_id) << order[i];
        EXPECT_EQ(resent[i].qos, original.qos) << order[i];
        subscriber->acknowledge(resent[i]);
    }
    subscriber->send(protocol::Pubcomp{released, ReasonCode::Success, {}});
    subscriber->expect_nothing(300ms);  // nothing more, and no third copy of anything
}

// The broker keeps the id of a QoS 2 PUBLISH it has PUBREC'd until PUBREL: a resend
// after the crash is acknowledged, not delivered again [MQTT-4.3.3-9].
TEST_P(PersistenceCrashTest, IncomingQos2StateSurvivesACrash) {
    {
        auto watcher = client("in2-watch-before", true);
        ASSERT_TRUE(watcher->subscribe("in2/t", 2));
        auto publisher = client("in2-pub", false);
        Publish publish = make_publish("in2/t", "exactly once", 2, false, 7);
        ASSERT_TRUE(publisher->send(publish));
        auto pubrec = publisher->expect<protocol::Pubrec>();
        ASSERT_TRUE(pubrec);
        EXPECT_EQ(pubrec->packet_id, 7);
        EXPECT_FALSE(protocol::is_failure(pubrec->reason));
        auto delivered = watcher->receive_publish();
        ASSERT_TRUE(delivered);
        EXPECT_EQ(payload_of(*delivered), "exactly once");
        crash_and_restart();
    }
    auto watcher = client("in2-watch-after", true);
    ASSERT_TRUE(watcher->subscribe("in2/t", 2));
    auto publisher = client("in2-pub", false, true);
    Publish resend = make_publish("in2/t", "exactly once", 2, false, 7);
    resend.dup = true;
    ASSERT_TRUE(publisher->send(resend));
    auto pubrec = publisher->expect<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->packet_id, 7);
    EXPECT_FALSE(protocol::is_failure(pubrec->reason)) << describe(*pubrec);
    ASSERT_TRUE(publisher->send(protocol::Pubrel{7, ReasonCode::Success, {}}));
    auto pubcomp = publisher->expect<protocol::Pubcomp>();
    ASSERT_TRUE(pubcomp);
    EXPECT_EQ(pubcomp->packet_id, 7);
    EXPECT_EQ(pubcomp->reason, ReasonCode::Success) << describe(*pubcomp);
    // Released: the same id now carries a new message, which is delivered.
    ASSERT_TRUE(publisher->publish(make_publish("in2/t", "new message", 2, false, 7)));
    auto next = watcher->receive_publish();
    ASSERT_TRUE(next);
    EXPECT_EQ(payload_of(*next), "new message") << "the resend was delivered a second time";
    watcher->expect_nothing(200ms);
}

TEST_P(PersistenceCrashTest, AcknowledgedRetainedMessagesSurviveACrash) {
    {
        auto publisher = client("ret-crash-pub", true);
        ASSERT_TRUE(publisher->publish("ret/one", "old", 1, true));
        ASSERT_TRUE(publisher->publish("ret/one", "newest", 1, true));  // replaces
        ASSERT_TRUE(publisher->publish("ret/two", "two", 2, true));
        ASSERT_TRUE(publisher->publish("ret/deleted", "soon gone", 1, true));
        ASSERT_TRUE(publisher->publish("ret/deleted", "", 1, true));  // deletes [MQTT-3.3.1-10]
        crash_and_restart();
    }
    auto subscriber = client("ret-crash-sub", true);
    ASSERT_TRUE(subscriber->subscribe("ret/#", 2));
    std::map<std::string, Publish> got;
    for (const Publish& message : drain(*subscriber)) {
        EXPECT_TRUE(message.retain) << describe(message);
        EXPECT_TRUE(got.emplace(message.topic, message).second) << "twice: " << describe(message);
    }
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(payload_of(got["ret/one"]), "newest");
    EXPECT_EQ(int{got["ret/one"].qos}, 1);
    EXPECT_EQ(payload_of(got["ret/two"]), "two");
    EXPECT_EQ(int{got["ret/two"].qos}, 2);
}

// A client that was connected when the broker died never got to disconnect: its will is
// published when the broker starts again.
TEST_P(PersistenceCrashTest, WillsOfConnectedClientsArePublishedAfterACrash) {
    {
        auto watcher = client("will-watcher", false);
        ASSERT_TRUE(watcher->subscribe("will/#", 1));
        watcher->disconnect();
    }
    std::vector<std::unique_ptr<RawClient>> doomed;
    for (const bool retain : {false, true}) {
        const std::string id = retain ? "will-retained" : "will-plain";
        auto with_will = std::make_unique<RawClient>(broker_.port(), version());
        Connect connect = with_will->connect_packet(id, true);
        connect.will = protocol::Will{};
        connect.will->topic = "will/" + id;
        connect.will->payload = protocol::make_payload("gone: " + id);
        connect.will->qos = 1;
        connect.will->retain = retain;
        ASSERT_TRUE(with_will->connect(connect));
        doomed.push_back(std::move(with_will));
    }
    {
        // Its DISCONNECT discards the will (3.1.2.5); the next commit follows that one.
        auto polite = std::make_unique<RawClient>(broker_.port(), version());
        Connect connect = polite->connect_packet("will-polite", true);
        connect.will = protocol::Will{};
        connect.will->topic = "will/will-polite";
        connect.will->payload = protocol::make_payload("must not appear");
        ASSERT_TRUE(polite->connect(connect));
        polite->disconnect();
    }
    // The CONNACK does not wait for the will's commit; this PUBACK waits for a commit
    // (the queue entry for the offline watcher) and the store commits in submit order.
    ASSERT_TRUE(client("will-sync", true)->publish("will/sync", "synced", 1));
    crash_and_restart();

    auto watcher = client("will-watcher", false, true);
    std::map<std::string, int> payloads;
    for (const Publish& message : drain(*watcher)) {
        ++payloads[payload_of(message)];
    }
    EXPECT_EQ(payloads["synced"], 1);
    EXPECT_EQ(payloads["gone: will-plain"], 1);
    EXPECT_EQ(payloads["gone: will-retained"], 1);
    EXPECT_EQ(payloads.count("must not appear"), 0U) << "will published after DISCONNECT";
    EXPECT_EQ(payloads.size(), 3U);

    auto late = client("will-late", true);  // subscribes after the restart
    ASSERT_TRUE(late->subscribe("will/+", 1));
    auto retained = late->receive_publish();
    ASSERT_TRUE(retained);
    EXPECT_EQ(retained->topic, "will/will-retained");
    EXPECT_EQ(payload_of(*retained), "gone: will-retained");
    EXPECT_TRUE(retained->retain);
    late->expect_nothing(200ms);
}

INSTANTIATE_TEST_SUITE_P(Versions, PersistenceCrashTest, both_versions(), VersionParamName{});

// --- v5 session expiry: the time the broker is stopped counts ---

bool session_present(std::uint16_t port, const std::string& id, std::uint32_t expiry,
                     bool subscribe) {
    RawClient client(port, ProtocolVersion::V5);
    auto connect = client.connect_packet(id, false);
    connect.properties.set_number(PropertyId::SessionExpiryInterval, expiry);
    auto connack = client.connect(connect);
    EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << id;
    if (subscribe) {
        EXPECT_TRUE(client.subscribe("expiry/" + id, 1));
    }
    client.disconnect();
    return connack && connack->session_present;
}

TEST(PersistenceExpiryTest, SessionsExpireWhileTheBrokerIsStopped) {
    BrokerProcess broker;
    EXPECT_FALSE(session_present(broker.port(), "expiry-short", 3, true));
    EXPECT_FALSE(session_present(broker.port(), "expiry-long", 600, true));
    broker.stop(SIGTERM);
    std::this_thread::sleep_for(3500ms);  // longer than the short session's interval
    broker.restart();
    EXPECT_FALSE(session_present(broker.port(), "expiry-short", 3, false))
        << "a session whose expiry passed while the broker was down came back";
    EXPECT_TRUE(session_present(broker.port(), "expiry-long", 600, false));
}

// Clients still connected when the broker is killed lost their connection then; the broker
// writes an "alive" time every 5 s, and counts their downtime from the end of that period.
TEST(PersistenceExpiryTest, DowntimeCountsForClientsConnectedAtACrash) {
    BrokerProcess broker;
    auto connect_v5 = [&](const std::string& id, std::uint32_t expiry) {
        auto client = std::make_unique<RawClient>(broker.port(), ProtocolVersion::V5);
        auto connect = client->connect_packet(id, false);
        connect.properties.set_number(PropertyId::SessionExpiryInterval, expiry);
        auto connack = client->connect(connect);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << id;
        EXPECT_TRUE(client->subscribe("expiry/" + id, 1));
        return client;
    };
    auto short_lived = connect_v5("crash-expiry-short", 2);
    auto long_lived = connect_v5("crash-expiry-long", 600);
    broker.kill_hard();
    // At most 5 s of the last clock period, plus more than the short session's 2 s.
    std::this_thread::sleep_for(7500ms);
    broker.restart();
    EXPECT_FALSE(session_present(broker.port(), "crash-expiry-short", 2, false))
        << "the time the broker was down did not count for a client connected at the crash";
    EXPECT_TRUE(session_present(broker.port(), "crash-expiry-long", 600, false));
}

// A persistent session's SUBACK/UNSUBACK waits for its commit; one that changed nothing
// has nothing to wait for and must not be held until some other write comes along.
TEST(PersistenceSubscribeTest, AcksThatStoreNothingAreNotHeld) {
    BrokerProcess broker("threads 1\n");
    auto client = connected(broker.port(), ProtocolVersion::V311, "acks-store-nothing", false);
    const auto started = std::chrono::steady_clock::now();
    auto unsuback = client->unsubscribe({"never/subscribed"});
    ASSERT_TRUE(unsuback);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "UNSUBACK was held";
    auto suback = client->subscribe("invalid/#/filter", 1);
    ASSERT_TRUE(suback);
    ASSERT_EQ(suback->reasons.size(), 1U);
    EXPECT_EQ(suback->reasons[0], ReasonCode::UnspecifiedError);  // 3.1.1: 0x80 failure
}

// --- retained messages of every QoS across a clean restart ---

TEST(PersistenceRetainedTest, RetainedMessagesOfEveryQosSurviveACleanRestart) {
    BrokerProcess broker;
    {
        auto publisher = connected(broker.port(), ProtocolVersion::V311, "ret-all-pub", true);
        ASSERT_TRUE(publisher->publish("keep/0", "zero", 0, true));
        ASSERT_TRUE(publisher->publish("keep/1", "one", 1, true));
        ASSERT_TRUE(publisher->publish("keep/2", "two", 2, true));
        publisher->disconnect();
    }
    broker.restart();
    auto subscriber = connected(broker.port(), ProtocolVersion::V5, "ret-all-sub", true);
    ASSERT_TRUE(subscriber->subscribe("keep/#", 2));
    std::map<std::string, Publish> got;
    for (const Publish& message : drain(*subscriber)) {
        EXPECT_TRUE(message.retain) << describe(message);
        got[message.topic] = message;
    }
    ASSERT_EQ(got.size(), 3U);
    for (int qos = 0; qos <= 2; ++qos) {
        const Publish& message = got["keep/" + std::to_string(qos)];
        EXPECT_EQ(payload_of(message), std::vector<std::string>({"zero", "one", "two"})[qos]);
        EXPECT_EQ(int{message.qos}, qos);
    }
}

// --- modes ---

TEST(PersistenceModeTest, BatchModeKeepsEverythingOnACleanRestart) {
    BrokerProcess broker("persistence_mode batch\npersistence_batch_ms 20\n");
    {
        auto subscriber = connected(broker.port(), ProtocolVersion::V5, "batch-sub", false);
        ASSERT_TRUE(subscriber->subscribe("batch/t", 1));
        subscriber->disconnect();
        auto publisher = connected(broker.port(), ProtocolVersion::V5, "batch-pub", true);
        for (int i = 0; i < 5; ++i) {
            ASSERT_TRUE(publisher->publish("batch/t", "b" + std::to_string(i), 1));
        }
        ASSERT_TRUE(publisher->publish("batch/retained", "kept", 1, true));
    }
    broker.restart();
    auto subscriber = connected(broker.port(), ProtocolVersion::V5, "batch-sub", false, true);
    for (int i = 0; i < 5; ++i) {
        auto message = subscriber->receive_publish();
        ASSERT_TRUE(message) << i;
        EXPECT_EQ(payload_of(*message), "b" + std::to_string(i));
    }
    ASSERT_TRUE(subscriber->subscribe("batch/retained", 1));
    auto retained = subscriber->receive_publish();
    ASSERT_TRUE(retained);
    EXPECT_EQ(payload_of(*retained), "kept");
}

TEST(PersistenceModeTest, PersistenceOffKeepsNothing) {
    BrokerProcess broker("persistence false\n");
    {
        auto subscriber = connected(broker.port(), ProtocolVersion::V311, "off-sub", false);
        ASSERT_TRUE(subscriber->subscribe("off/t", 1));
        subscriber->disconnect();
        auto publisher = connected(broker.port(), ProtocolVersion::V311, "off-pub", true);
        ASSERT_TRUE(publisher->publish("off/t", "queued", 1));
        ASSERT_TRUE(publisher->publish("off/retained", "retained", 1, true));
        // Still kept in memory while the broker runs.
        connected(broker.port(), ProtocolVersion::V311, "off-sub", false, /*expect_present=*/true);
    }
    EXPECT_TRUE(std::filesystem::is_empty(broker.data_dir()));
    broker.restart();
    auto subscriber = connected(broker.port(), ProtocolVersion::V311, "off-sub", false, false);
    ASSERT_TRUE(subscriber->subscribe("off/#", 1));
    subscriber->expect_nothing(300ms);  // neither the queued nor the retained message
    EXPECT_TRUE(std::filesystem::is_empty(broker.data_dir()));
}

}  // namespace
}  // namespace petrel::test
