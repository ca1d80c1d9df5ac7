// The Will Delay Interval (v5 3.1.3.2.2): a will waits for its delay or for the end of the
// session, whichever comes first [MQTT-3.1.2-8]; a new connection for the client id within
// the delay cancels it [MQTT-3.1.3-9]; DISCONNECT 0x00 deletes it [MQTT-3.1.2-10]. The
// pending will is kept across a restart and a crash. The client with the will lives on
// worker 0 and the watcher on worker 1, so every will crosses threads.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/paho.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using protocol::Connect;
using protocol::PropertyId;
using protocol::Will;

constexpr unsigned kThreads = 2;
constexpr unsigned kWillWorker = 0;
constexpr unsigned kWatcherWorker = 1;

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

class WillDelayTest : public ::testing::Test {
  protected:
    void SetUp() override { connect_watcher(/*clean_start=*/true); }

    // The watcher keeps a persistent session (its QoS 1 subscription and anything queued for
    // it survive a restart), on the other worker than every client with a will.
    void connect_watcher(bool clean_start) {
        watcher_ = std::make_unique<RawClient>(broker_.port(), ProtocolVersion::V5);
        Connect connect = watcher_->connect_packet(watcher_id_, clean_start);
        connect.properties.set_number(PropertyId::SessionExpiryInterval, 600);
        auto connack = watcher_->connect(connect);
        ASSERT_TRUE(connack && connack->reason == ReasonCode::Success);
        EXPECT_EQ(connack->session_present, !clean_start);
        if (clean_start) {
            ASSERT_TRUE(watcher_->subscribe("will/#", 1));
        }
        ASSERT_EQ(worker_in_log(broker_.log(), watcher_id_), kWatcherWorker);
    }

    // Waits until the broker has seen `id` close its socket (a debug line, hence -v).
    bool close_seen(const std::string& id) {
        const std::string needle = "client '" + id + "' (";
        return eventually([&] {
            const std::string log = broker_.log();
            for (auto at = log.find(needle); at != std::string::npos;
                 at = log.find(needle, at + 1)) {
                const auto end = log.find('\n', at);
                if (log.substr(at, end - at).find("closed by the client") != std::string::npos) {
                    return true;
                }
            }
            return false;
        });
    }

    static std::string will_client_id(const std::string& stem) {
        return client_id_on_worker(stem, kWillWorker, kThreads);
    }

    // CONNECT (v5) of `id` with a QoS 1 will on `topic`; `session_expiry` 0 means no property.
    static Connect connect_with_will(const std::string& id, const std::string& topic,
                                     std::uint32_t will_delay, std::uint32_t session_expiry,
                                     bool clean_start = true) {
        Connect connect;
        connect.version = ProtocolVersion::V5;
        connect.client_id = id;
        connect.clean_start = clean_start;
        connect.keep_alive = 60;
        if (session_expiry > 0) {
            connect.properties.set_number(PropertyId::SessionExpiryInterval, session_expiry);
        }
        Will will;
        will.topic = topic;
        will.payload = protocol::make_payload("gone: " + id);
        will.qos = 1;
        will.properties.set_number(PropertyId::WillDelayInterval, will_delay);
        connect.will = will;
        return connect;
    }

    std::unique_ptr<RawClient> client_with_will(const std::string& id, const std::string& topic,
                                                std::uint32_t will_delay,
                                                std::uint32_t session_expiry) {
        auto client = std::make_unique<RawClient>(broker_.port(), ProtocolVersion::V5);
        auto connack = client->connect(connect_with_will(id, topic, will_delay, session_expiry));
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success);
        EXPECT_EQ(worker_in_log(broker_.log(), id), kWillWorker);
        return client;
    }

    // The will of `id` reaches the watcher within `limit`; returns the time it took from
    // `start`, or nullopt (a test failure) when it did not come.
    std::optional<std::chrono::milliseconds> will_arrives(const std::string& id,
                                                          const std::string& topic,
                                                          Clock::time_point start,
                                                          std::chrono::milliseconds limit) {
        auto message = watcher_->try_receive_publish(remaining(start + limit));
        if (!message) {
            ADD_FAILURE() << "no will from " << id << " within " << limit.count() << " ms";
            return std::nullopt;
        }
        EXPECT_EQ(message->topic, topic);
        EXPECT_EQ(payload_of(*message), "gone: " + id);
        EXPECT_EQ(int{message->qos}, 1);
        return since(start);
    }

    static BrokerOptions options() {
        BrokerOptions options;
        options.extra_config = "threads 2\n";
        options.extra_args = {"-v"};  // debug lines: "closed by the client"
        return options;
    }

    BrokerProcess broker_{options()};
    std::string watcher_id_ = client_id_on_worker("wd-watcher", kWatcherWorker, kThreads);
    std::unique_ptr<RawClient> watcher_;
};

// [MQTT-3.1.2-8] the will goes out once the delay has passed, not when the socket closes.
TEST_F(WillDelayTest, PublishedAfterTheDelay) {
    const std::string id = will_client_id("wd-close");
    auto client = client_with_will(id, "will/close", 2, 60);
    client->close();
    const auto closed_at = Clock::now();
    const auto took = will_arrives(id, "will/close", closed_at, 4s);
    ASSERT_TRUE(took);
    EXPECT_GE(*took, 1500ms) << "will published before its delay";
}

// [MQTT-3.1.3-9] a new connection to the session before the delay passed: no will.
TEST_F(WillDelayTest, ReconnectWithinTheDelayCancelsTheWill) {
    const std::string id = will_client_id("wd-resume");
    auto client = client_with_will(id, "will/resume", 2, 60);
    client->close();
    ASSERT_TRUE(close_seen(id));  // a reconnect, not a takeover of a live connection
    auto again = connected(broker_.port(), ProtocolVersion::V5, id, /*clean_start=*/false,
                           /*expect_present=*/true);
    watcher_->expect_nothing(3s);  // one second past the delay
}

// [MQTT-3.1.2-8] a new network connection for the client id, even with Clean Start 1 (which
// ends the session), deletes the will before the delay passed. Contested reading: the
// non-normative comment after [MQTT-3.1.3-9] says a Clean Start 1 successor gets the will
// sent "because the Session ends", and Mosquitto and HiveMQ publish it.
TEST_F(WillDelayTest, CleanStartReconnectWithinTheDelayCancelsTheWill) {
    const std::string id = will_client_id("wd-clean");
    auto client = client_with_will(id, "will/clean", 2, 60);
    client->close();
    ASSERT_TRUE(close_seen(id));
    auto again = connected(broker_.port(), ProtocolVersion::V5, id, /*clean_start=*/true);
    watcher_->expect_nothing(3s);
}

// [MQTT-3.1.2-8] "or the Session ends, whichever happens first": expiry 1 s before delay 10 s.
TEST_F(WillDelayTest, SessionEndBeforeTheDelayPublishesTheWill) {
    const std::string id = will_client_id("wd-expiry");
    auto client = client_with_will(id, "will/expiry", 10, 1);
    client->close();
    const auto closed_at = Clock::now();
    const auto took = will_arrives(id, "will/expiry", closed_at, 3500ms);
    ASSERT_TRUE(took);
    EXPECT_GE(*took, 500ms) << "will published before the session ended";
}

// Session Expiry 0: the session ends with the connection, so the will goes out at once.
TEST_F(WillDelayTest, ZeroSessionExpiryPublishesAtOnce) {
    const std::string id = will_client_id("wd-no-session");
    auto client = client_with_will(id, "will/no-session", 5, 0);
    client->close();
    const auto took = will_arrives(id, "will/no-session", Clock::now(), 1500ms);
    ASSERT_TRUE(took);
}

// DISCONNECT 0x04 (v5 3.14.2.1) keeps the will, and its delay still applies.
TEST_F(WillDelayTest, DisconnectWithWillMessageWaitsForTheDelay) {
    const std::string id = will_client_id("wd-0x04");
    auto client = client_with_will(id, "will/0x04", 2, 60);
    client->disconnect(ReasonCode::DisconnectWithWillMessage);
    const auto took = will_arrives(id, "will/0x04", Clock::now(), 4s);
    ASSERT_TRUE(took);
    EXPECT_GE(*took, 1500ms) << "will published before its delay";
}

// [MQTT-3.1.3-9] a takeover with Clean Start 0 is a new connection to the session before
// the delay passed: the taken-over connection's will is not sent (the comment after
// [MQTT-3.1.3-9]). The will client is Paho, so the delay comes from a real client's CONNECT.
TEST_F(WillDelayTest, TakeoverWithCleanStartZeroDoesNotSendTheWill) {
    const std::string id = will_client_id("wd-takeover");
    auto client = make_paho_client(broker_.port(), id, /*v5=*/true);
    auto options = paho_connect_options(/*v5=*/true, /*clean=*/true, /*session_expiry=*/60);
    const mqtt::properties will_properties{mqtt::property(mqtt::property::WILL_DELAY_INTERVAL, 2)};
    options.set_will(
        mqtt::will_options("will/takeover", std::string("gone: " + id), 1, false, will_properties));
    ASSERT_NO_THROW(client->connect(options)->wait());
    EXPECT_EQ(worker_in_log(broker_.log(), id), kWillWorker);

    auto successor = connected(broker_.port(), ProtocolVersion::V5, id, /*clean_start=*/false,
                               /*expect_present=*/true);
    EXPECT_TRUE(eventually([&] { return !client->is_connected(); }));  // DISCONNECT 0x8E
    watcher_->expect_nothing(3s);                                      // one second past the delay
}

// [MQTT-3.1.2-10] DISCONNECT 0x00 deletes the delayed will: nothing when the delay is over.
TEST_F(WillDelayTest, NormalDisconnectDeletesTheDelayedWill) {
    const std::string id = will_client_id("wd-normal");
    auto client = client_with_will(id, "will/normal", 1, 60);
    client->disconnect(ReasonCode::Success);
    watcher_->expect_nothing(2500ms);
}

// A pending will is part of the stored session: after SIGTERM and a restart it goes out
// when its delay, counted from the disconnect, has passed; not at start-up, not never.
TEST_F(WillDelayTest, DelayedWillSurvivesARestart) {
    const std::string id = will_client_id("wd-restart");
    auto client = client_with_will(id, "will/restart", 3, 60);
    client->close();
    const auto closed_at = Clock::now();
    ASSERT_TRUE(close_seen(id));  // the disconnect happened before the SIGTERM
    broker_.restart();
    connect_watcher(/*clean_start=*/false);
    const auto took = will_arrives(id, "will/restart", closed_at, 6s);
    ASSERT_TRUE(took);
    EXPECT_GE(*took, 2500ms) << "will published before its delay (at the restart?)";
}

// After a crash the client counts as disconnected at the crash (the broker records an
// "alive" time every 5 s): its will goes out once the delay has passed from then.
TEST_F(WillDelayTest, DelayedWillSurvivesACrash) {
    const std::string id = will_client_id("wd-crash");
    auto client = client_with_will(id, "will/crash", 2, 60);
    {
        // The CONNACK does not wait for the commit of the session and its will; a QoS 1
        // PUBLISH queued for an offline persistent session does, and the store commits in
        // submit order.
        const std::string parked = client_id_on_worker("wd-parked", kWillWorker, kThreads);
        ASSERT_TRUE(
            connected(broker_.port(), ProtocolVersion::V5, parked, false)->subscribe("sync/#", 1));
        auto sync = connected(broker_.port(), ProtocolVersion::V5,
                              client_id_on_worker("wd-sync", kWatcherWorker, kThreads), true);
        ASSERT_TRUE(sync->publish("sync/now", "synced", 1));
    }
    EXPECT_EQ(broker_.kill_hard(), 137);
    const auto crashed_at = Clock::now();
    client->close();
    broker_.restart();
    connect_watcher(/*clean_start=*/false);
    const auto took = will_arrives(id, "will/crash", crashed_at, 2s + 6s);
    ASSERT_TRUE(took);
    EXPECT_GE(*took, 1500ms) << "will published before its delay";
}

// The Will Delay Interval is for the server: the published will carries the other will
// properties (User Properties in order [MQTT-3.1.3-10], Content Type) but not 0x18, which a
// PUBLISH may not contain (Table 2-4).
TEST_F(WillDelayTest, DelayIntervalIsNotForwarded) {
    const std::string id = will_client_id("wd-properties");
    Connect connect = connect_with_will(id, "will/properties", 1, 60);
    connect.will->properties.add_text(PropertyId::ContentType, "text/plain");
    connect.will->properties.add_user_property("first", "1");
    connect.will->properties.add_user_property("second", "2");
    RawClient client(broker_.port(), ProtocolVersion::V5);
    auto connack = client.connect(connect);
    ASSERT_TRUE(connack && connack->reason == ReasonCode::Success);
    client.close();

    auto message = watcher_->receive_publish(3s);
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "gone: " + id);
    EXPECT_FALSE(message->properties.contains(PropertyId::WillDelayInterval));
    EXPECT_EQ(message->properties.text(PropertyId::ContentType), "text/plain");
    std::vector<std::string> users;
    for (const auto& property : message->properties) {
        if (property.id == PropertyId::UserProperty) {
            users.push_back(property.text + "=" + property.value);
        }
    }
    EXPECT_EQ(users, (std::vector<std::string>{"first=1", "second=2"}));
}

}  // namespace
}  // namespace petrel::test
