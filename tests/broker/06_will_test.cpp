// Will messages (spec 3.1.2.5, 3.1.3.3): published when a connection ends without a
// normal DISCONNECT (socket closed, keep-alive timeout, protocol error, takeover), with the
// will's QoS and retain flag; never after a normal DISCONNECT.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Connect;
using protocol::Publish;
using protocol::Will;

class WillTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    void SetUp() override {
        watcher_ = std::make_unique<RawClient>(broker_.port(), version());
        ASSERT_TRUE(watcher_->connect("will-watcher"));
        ASSERT_TRUE(watcher_->subscribe("will/#", 2));
    }

    // A connected client with a will on `topic`.
    std::unique_ptr<RawClient> client_with_will(const std::string& id, const std::string& topic,
                                                Qos qos = 1, bool retain = false,
                                                std::uint16_t keep_alive = 60) {
        auto client = std::make_unique<RawClient>(broker_.port(), version());
        Connect connect = client->connect_packet(id, true, keep_alive);
        Will will;
        will.topic = topic;
        will.payload = protocol::make_payload("gone: " + id);
        will.qos = qos;
        will.retain = retain;
        connect.will = will;
        auto connack = client->connect(connect);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success);
        return client;
    }

    // The watcher receives the will of `id` on `topic` at `qos`, as a live message.
    void expect_will(const std::string& id, const std::string& topic, Qos qos,
                     std::chrono::milliseconds timeout = kDefaultTimeout) {
        auto message = watcher_->receive_publish(timeout);
        ASSERT_TRUE(message) << "no will from " << id;
        EXPECT_EQ(message->topic, topic);
        EXPECT_EQ(payload_of(*message), "gone: " + id);
        EXPECT_EQ(int{message->qos}, int{qos});
        EXPECT_FALSE(message->retain);  // live delivery
    }

    BrokerProcess broker_;
    std::unique_ptr<RawClient> watcher_;
};

TEST_P(WillTest, PublishedWhenTheSocketClosesWithoutDisconnect) {
    auto client = client_with_will("will-close", "will/close", 1);
    client->close();
    expect_will("will-close", "will/close", 1);
}

TEST_P(WillTest, PublishedWithItsQos) {
    auto two = client_with_will("will-q2", "will/q2", 2);
    two->close();
    expect_will("will-q2", "will/q2", 2);
    auto zero = client_with_will("will-q0", "will/q0", 0);
    zero->close();
    expect_will("will-q0", "will/q0", 0);
}

TEST_P(WillTest, PublishedOnKeepAliveTimeout) {
    const auto started = std::chrono::steady_clock::now();
    auto client = client_with_will("will-keepalive", "will/keepalive", 1, false, 1);
    // Silent for 1.5 x 1 s: the broker must end the connection [MQTT-3.1.2-24].
    expect_will("will-keepalive", "will/keepalive", 1, 5s);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
    EXPECT_TRUE(client->wait_closed(1s));
}

TEST_P(WillTest, PublishedOnProtocolError) {
    auto client = client_with_will("will-error", "will/error", 1);
    // PUBLISH with QoS 3 is malformed [MQTT-3.3.1-4].
    ASSERT_TRUE(client->send_raw(std::string("\x36\x05\x00\x01x\x00\x01", 7)));
    expect_will("will-error", "will/error", 1);
    EXPECT_TRUE(client->wait_closed());
}

TEST_P(WillTest, PublishedOnSessionTakeover) {
    auto client = client_with_will("will-takeover", "will/takeover", 1);
    RawClient successor(broker_.port(), version());
    auto connack = successor.connect("will-takeover", /*clean_start=*/true);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);
    expect_will("will-takeover", "will/takeover", 1);
}

TEST_P(WillTest, RetainedWillIsStored) {
    auto client = client_with_will("will-retained", "will/retained", 1, /*retain=*/true);
    client->close();
    expect_will("will-retained", "will/retained", 1);

    RawClient late(broker_.port(), version());
    ASSERT_TRUE(late.connect("will-late"));
    ASSERT_TRUE(late.subscribe("will/retained", 1));
    auto stored = late.receive_publish();
    ASSERT_TRUE(stored);
    EXPECT_EQ(payload_of(*stored), "gone: will-retained");
    EXPECT_TRUE(stored->retain);
}

TEST_P(WillTest, NotPublishedAfterNormalDisconnect) {
    auto client = client_with_will("will-clean", "will/clean", 1);
    client->disconnect();  // waits until the broker closed its side
    EXPECT_TRUE(client->closed());

    // A message published after the DISCONNECT is the first and only one to arrive.
    RawClient publisher(broker_.port(), version());
    ASSERT_TRUE(publisher.connect("will-clean-marker"));
    ASSERT_TRUE(publisher.publish("will/marker", "marker", 1));
    auto first = watcher_->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->topic, "will/marker") << "will published after DISCONNECT";
    watcher_->expect_nothing(500ms);
}

INSTANTIATE_TEST_SUITE_P(Versions, WillTest, both_versions(), VersionParamName{});

class WillV5Test : public WillTest {};

TEST_P(WillV5Test, DisconnectWithWillMessagePublishesIt) {
    auto client = client_with_will("will-0x04", "will/with-reason", 1);
    client->disconnect(ReasonCode::DisconnectWithWillMessage);  // v5 3.14.2.1
    expect_will("will-0x04", "will/with-reason", 1);
}

INSTANTIATE_TEST_SUITE_P(V5, WillV5Test, ::testing::Values(ProtocolVersion::V5),
                         VersionParamName{});

}  // namespace
}  // namespace petrel::test
