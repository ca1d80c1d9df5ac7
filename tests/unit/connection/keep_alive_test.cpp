// Keep alive for both roles, with time passed in.
#include "petrel/connection/keep_alive.hpp"

#include <gtest/gtest.h>

namespace petrel::connection {
namespace {

using namespace std::chrono_literals;
using protocol::ProtocolVersion;

TEST(KeepAliveTerms, WithinMaxKeepaliveTheRequestStands) {
    for (const auto version : {ProtocolVersion::V31, ProtocolVersion::V311, ProtocolVersion::V5}) {
        const KeepAliveTerms terms = negotiate_keep_alive(30, 60, version);
        EXPECT_EQ(terms.seconds, 30);
        EXPECT_FALSE(terms.announce);
        EXPECT_FALSE(terms.refuse);
        // No limit configured: even 0 (no keep alive) stands.
        EXPECT_EQ(negotiate_keep_alive(0, 0, version).seconds, 0);
        EXPECT_FALSE(negotiate_keep_alive(0, 0, version).refuse);
    }
}

TEST(KeepAliveTerms, Mqtt5IsToldTheServersValue) {
    for (const std::uint16_t requested : {std::uint16_t{0}, std::uint16_t{100}}) {
        const KeepAliveTerms terms = negotiate_keep_alive(requested, 60, ProtocolVersion::V5);
        EXPECT_EQ(terms.seconds, 60);
        EXPECT_TRUE(terms.announce);  // [MQTT-3.2.2-21]
        EXPECT_FALSE(terms.refuse);
    }
}

TEST(KeepAliveTerms, OlderVersionsBeyondTheLimitAreRefused) {
    for (const auto version : {ProtocolVersion::V31, ProtocolVersion::V311}) {
        for (const std::uint16_t requested : {std::uint16_t{0}, std::uint16_t{61}}) {
            EXPECT_TRUE(negotiate_keep_alive(requested, 60, version).refuse) << requested;
        }
        EXPECT_FALSE(negotiate_keep_alive(60, 60, version).refuse);
    }
}

TEST(KeepAlive, ExpiresAfterOneAndAHalfTimesWithoutAPacket) {
    const TimePoint start{};
    KeepAlive keep_alive(10, start);
    EXPECT_FALSE(keep_alive.expired(start + 15s));
    EXPECT_TRUE(keep_alive.expired(start + 15001ms));
    keep_alive.on_received(start + 14s);
    EXPECT_FALSE(keep_alive.expired(start + 29s));
    EXPECT_TRUE(keep_alive.expired(start + 30s));
}

TEST(KeepAlive, ZeroNeverExpiresNorPings) {
    const TimePoint start{};
    const KeepAlive keep_alive(0, start);
    EXPECT_FALSE(keep_alive.expired(start + 24h));
    EXPECT_FALSE(keep_alive.ping_due(start + 24h));
}

TEST(KeepAlive, AClientPingsWhenItHasSentNothingForTheKeepAlive) {
    const TimePoint start{};
    KeepAlive keep_alive(10, start);
    EXPECT_FALSE(keep_alive.ping_due(start + 9s));
    EXPECT_TRUE(keep_alive.ping_due(start + 10s));
    keep_alive.on_sent(start + 10s);
    EXPECT_FALSE(keep_alive.ping_due(start + 19s));
    // Receiving does not stand in for sending [MQTT-3.1.2-23].
    keep_alive.on_received(start + 19s);
    EXPECT_TRUE(keep_alive.ping_due(start + 20s));
}

}  // namespace
}  // namespace petrel::connection
