// $SYS is the broker's own namespace: no client may publish there, so nobody can spoof
// broker status topics. A client PUBLISH to $SYS/… is refused (v5 PUBACK/PUBREC 0x87,
// QoS 0 dropped and counted; 3.1.1 acknowledged and dropped [MQTT-3.3.5-2]), a will
// there refuses the CONNECT; other $ topics behave like any topic.
#include <gtest/gtest.h>

#include <string>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

class BrokerTopicsTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    BrokerProcess broker_{"persistence false\nlog_level debug\n"};
};

TEST_P(BrokerTopicsTest, PublishToSysIsRefusedAndReachesNobody) {
    auto watcher =
        connected(broker_.port(), ProtocolVersion::V5, unique_client_id("sys-watch"), true);
    ASSERT_TRUE(watcher->subscribe("$SYS/#", 2));
    RawClient client(broker_.port(), version());
    ASSERT_TRUE(client.connect(unique_client_id("sys-spoof")));

    ASSERT_TRUE(client.send(make_publish("$SYS/broker/version", "fake", 0)));
    const protocol::PacketId qos1_id = client.next_packet_id();
    ASSERT_TRUE(client.send(make_publish("$SYS/broker/uptime", "fake", 1, false, qos1_id)));
    const auto puback = client.expect<protocol::Puback>();
    ASSERT_TRUE(puback);
    EXPECT_EQ(puback->packet_id, qos1_id);
    const protocol::PacketId qos2_id = client.next_packet_id();
    ASSERT_TRUE(client.send(make_publish("$SYS/broker/clients", "fake", 2, true, qos2_id)));
    const auto pubrec = client.expect<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    if (is_v5(version())) {
        EXPECT_EQ(puback->reason, ReasonCode::NotAuthorized);
        EXPECT_EQ(pubrec->reason, ReasonCode::NotAuthorized);
    } else {
        // 3.1.1 cannot refuse: acknowledged as usual, and the exchange completes.
        ASSERT_TRUE(client.send(protocol::Pubrel{qos2_id, ReasonCode::Success, {}}));
        const auto pubcomp = client.expect<protocol::Pubcomp>();
        ASSERT_TRUE(pubcomp);
    }
    EXPECT_TRUE(broker_.wait_for_log("$SYS topics are the broker's (3 so far)"));
    // The connection stays up and serves other topics.
    ASSERT_TRUE(client.publish("$SYS-like/but/not", "ok", 1));
    watcher->expect_nothing(300ms);
    // Nothing was retained either.
    auto late = connected(broker_.port(), ProtocolVersion::V5, unique_client_id("sys-late"), true);
    ASSERT_TRUE(late->subscribe("$SYS/#", 1));
    late->expect_nothing(300ms);
}

TEST_P(BrokerTopicsTest, WillOnSysRefusesTheConnect) {
    RawClient client(broker_.port(), version());
    protocol::Connect connect = client.connect_packet(unique_client_id("sys-will"));
    connect.will =
        protocol::Will{"$SYS/broker/clients/connected", protocol::make_payload("0"), 1, false, {}};
    const auto connack = client.connect(connect);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::NotAuthorized);
    EXPECT_TRUE(client.wait_closed());
    EXPECT_TRUE(
        broker_.wait_for_log("CONNECT refused: Not authorized ($SYS topics are the broker's)"));
}

TEST_P(BrokerTopicsTest, OtherDollarTopicsAreOrdinary) {
    auto reader = connected(broker_.port(), version(), unique_client_id("dollar-read"), true);
    ASSERT_TRUE(reader->subscribe("$app/#", 1));
    RawClient writer(broker_.port(), version());
    ASSERT_TRUE(writer.connect(unique_client_id("dollar-write")));
    ASSERT_TRUE(writer.publish("$app/status", "up", 1));
    const auto got = reader->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "$app/status");
}

INSTANTIATE_TEST_SUITE_P(Versions, BrokerTopicsTest, both_versions(), VersionParamName{});

}  // namespace
}  // namespace petrel::test
