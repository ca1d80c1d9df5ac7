#include "petrel/connection/server_capabilities.hpp"

#include <gtest/gtest.h>

#include "petrel/protocol/codec.hpp"

namespace petrel::connection {
namespace {

using protocol::PropertyId;

TEST(ServerCapabilities, DefaultsAnnounceNothing) {
    protocol::Properties properties;
    ServerCapabilities{}.announce(properties);
    EXPECT_EQ(properties.begin(), properties.end());
    EXPECT_EQ(ServerCapabilities::read(properties), ServerCapabilities{});
}

TEST(ServerCapabilities, LimitsAreAnnounced) {
    ServerCapabilities limited;
    limited.receive_maximum = 10;
    limited.maximum_packet_size = 2048;
    limited.topic_alias_maximum = 5;
    limited.maximum_qos = 1;
    limited.retain_available = false;
    limited.wildcard_subscription_available = false;
    limited.subscription_identifier_available = false;
    limited.shared_subscription_available = false;
    protocol::Properties properties;
    limited.announce(properties);
    EXPECT_EQ(properties.number(PropertyId::ReceiveMaximum), 10u);
    EXPECT_EQ(properties.number(PropertyId::MaximumPacketSize), 2048u);
    EXPECT_EQ(properties.number(PropertyId::TopicAliasMaximum), 5u);
    EXPECT_EQ(properties.number(PropertyId::MaximumQos), 1u);
    EXPECT_EQ(properties.number(PropertyId::RetainAvailable), 0u);
    EXPECT_EQ(properties.number(PropertyId::WildcardSubscriptionAvailable), 0u);
    EXPECT_EQ(properties.number(PropertyId::SubscriptionIdentifierAvailable), 0u);
    EXPECT_EQ(properties.number(PropertyId::SharedSubscriptionAvailable), 0u);
    EXPECT_EQ(ServerCapabilities::read(properties), limited);
}

TEST(ServerCapabilities, ReadThroughTheCodec) {
    // What a bridge sees of a remote broker's CONNACK after decoding it.
    ServerCapabilities remote;
    remote.receive_maximum = 3;
    remote.maximum_qos = 0;
    protocol::Connack connack;
    remote.announce(connack.properties);
    std::string bytes;
    protocol::encode(connack, protocol::ProtocolVersion::V5, bytes);
    const auto decoded = protocol::decode(
        protocol::ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
        protocol::ProtocolVersion::V5);
    ASSERT_TRUE(decoded.has_value());
    const auto& read = std::get<protocol::Connack>(decoded.value()).properties;
    EXPECT_EQ(ServerCapabilities::read(read), remote);
}

}  // namespace
}  // namespace petrel::connection
