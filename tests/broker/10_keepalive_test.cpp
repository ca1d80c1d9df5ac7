// Keep-alive (spec 3.1.2.10) and the CONNECT timeout through the real binary: a silent
// client is dropped after 1.5 x its keep-alive (v5: DISCONNECT 0x8D first), and a socket
// that never finishes its CONNECT is closed. The rules on their own are unit-tested on a
// test clock in tests/unit/connection/server_timeouts_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/broker_process.hpp"
#include "support/raw_bytes.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using protocol::PropertyId;

class KeepAliveTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }
    BrokerProcess broker_;
};

TEST_P(KeepAliveTest, SilentClientIsDroppedAfterOneAndAHalfKeepAlives) {
    RawClient client(broker_.port(), version());
    const auto started = Clock::now();
    ASSERT_TRUE(client.connect("silent", true, /*keep_alive=*/2));
    if (is_v5(version())) {
        auto disconnect = client.expect<protocol::Disconnect>(6s);
        ASSERT_TRUE(disconnect);
        EXPECT_EQ(disconnect->reason, ReasonCode::KeepAliveTimeout);
    }
    ASSERT_TRUE(client.wait_closed(6s));
    // [MQTT-3.1.2-24] not before 1.5 x 2 s (allowing for timer granularity), and soon after.
    const auto elapsed = Clock::now() - started;
    EXPECT_GE(elapsed, 2500ms);
    EXPECT_LE(elapsed, 4500ms);
}

// PINGREQ and any other packet keeping the connection alive, keep alive 0 and the default
// connect timeout are the endpoint's rules on a clock of their own: unit tests in
// tests/unit/connection/server_timeouts_test.cpp (and server_settings_test.cpp for the
// default), which need no seconds of waiting.

INSTANTIATE_TEST_SUITE_P(Versions, KeepAliveTest, both_versions(), VersionParamName{});

TEST(ConnectTimeoutTest, ConfiguredTimeoutAppliesToAPartialConnect) {
    BrokerProcess broker("connect_timeout 1\n");
    RawClient silent(broker.port());
    RawClient partial(broker.port());
    const std::string connect = connect_bytes("MQTT", 4, "slow-loris");
    ASSERT_TRUE(partial.send_raw(connect.substr(0, 5)));  // never finished
    EXPECT_TRUE(silent.wait_closed(3s));
    EXPECT_TRUE(partial.wait_closed(3s));
    // A client that connects in time is not affected.
    RawClient prompt(broker.port());
    ASSERT_TRUE(prompt.connect("prompt", true, 60));
    prompt.expect_nothing(1500ms);
    EXPECT_FALSE(prompt.closed());
}

TEST(KeepAliveV5Test, ServerKeepAliveCapsTheClientsValue) {
    BrokerProcess broker("max_keepalive 10\n");
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect("long-keepalive", true, 100);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);
    // v5 3.2.2.3.14: the server's keep-alive replaces the client's.
    EXPECT_EQ(connack->properties.number(PropertyId::ServerKeepAlive),
              std::optional<std::uint32_t>{10});
}

TEST(KeepAliveMaxTest, OlderClientsBeyondMaxKeepaliveAreRefusedNotSilentlyCapped) {
    // MQTT 3.1/3.1.1 have no Server Keep Alive: a client asking for more than
    // max_keepalive (or for none) would be held to a timeout it does not know about, so
    // it is refused with return code 2, as Mosquitto documents.
    BrokerProcess broker("max_keepalive 10\n");
    for (const ProtocolVersion version : {ProtocolVersion::V31, ProtocolVersion::V311}) {
        for (const std::uint16_t keep_alive : {std::uint16_t{0}, std::uint16_t{11}}) {
            RawClient client(broker.port(), version);
            auto connack =
                client.connect(version, "ka-" + std::to_string(keep_alive), true, keep_alive);
            ASSERT_TRUE(connack);
            EXPECT_EQ(connack->reason, ReasonCode::ClientIdentifierNotValid) << keep_alive;
            EXPECT_TRUE(client.wait_closed());
        }
        RawClient within(broker.port(), version);
        auto connack = within.connect(version, "ka-within", true, 10);
        ASSERT_TRUE(connack);
        EXPECT_EQ(connack->reason, ReasonCode::Success);
    }
    EXPECT_TRUE(broker.wait_for_log("keep alive beyond max_keepalive"));
}

}  // namespace
}  // namespace petrel::test
