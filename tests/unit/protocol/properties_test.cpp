// MQTT 5 properties (2.2.2): the table, the container, and the decoding rules.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

// A v5 DISCONNECT (reason 0) carrying `props`: a convenient vehicle for property tests.
Bytes disconnect_with(const Bytes& props) {
    std::string length;
    encode_varint(static_cast<std::uint32_t>(props.size()), length);
    return packet(0xE0, bytes({0x00}) + bytes(length) + props);
}

// A v5 CONNACK carrying `props`: the context that allows the most properties.
Bytes connack_with(const Bytes& props) {
    std::string length;
    encode_varint(static_cast<std::uint32_t>(props.size()), length);
    return packet(0x20, bytes({0x00, 0x00}) + bytes(length) + props);
}

// A v5 PUBLISH "t" at QoS 0 carrying `props`.
Bytes publish_with(const Bytes& props) {
    std::string length;
    encode_varint(static_cast<std::uint32_t>(props.size()), length);
    return packet(0x30, str("t") + bytes(length) + props);
}

TEST(PropertyTable, Types) {
    EXPECT_EQ(property_type(0x01), PropertyType::Byte);
    EXPECT_EQ(property_type(0x02), PropertyType::FourByteInteger);
    EXPECT_EQ(property_type(0x03), PropertyType::Utf8String);
    EXPECT_EQ(property_type(0x09), PropertyType::BinaryData);
    EXPECT_EQ(property_type(0x0B), PropertyType::VariableByteInteger);
    EXPECT_EQ(property_type(0x13), PropertyType::TwoByteInteger);
    EXPECT_EQ(property_type(0x26), PropertyType::Utf8StringPair);
    EXPECT_EQ(property_type(0x2A), PropertyType::Byte);
    for (int undefined : {0x00, 0x04, 0x0A, 0x0C, 0x14, 0x1B, 0x1D, 0x20, 0x2B, 0x7F, 0xFF}) {
        EXPECT_FALSE(property_type(static_cast<std::uint8_t>(undefined)).has_value()) << undefined;
    }
}

TEST(PropertyTable, Contexts) {
    using C = PropertyContext;
    EXPECT_TRUE(property_allowed(PropertyId::TopicAlias, C::Publish));
    EXPECT_FALSE(property_allowed(PropertyId::TopicAlias, C::Will));
    EXPECT_TRUE(property_allowed(PropertyId::WillDelayInterval, C::Will));
    EXPECT_FALSE(property_allowed(PropertyId::WillDelayInterval, C::Connect));
    EXPECT_TRUE(property_allowed(PropertyId::SubscriptionIdentifier, C::Subscribe));
    EXPECT_FALSE(property_allowed(PropertyId::SubscriptionIdentifier, C::Unsubscribe));
    EXPECT_TRUE(property_allowed(PropertyId::ReasonString, C::Puback));
    EXPECT_FALSE(property_allowed(PropertyId::ReasonString, C::Publish));
    EXPECT_FALSE(property_allowed(PropertyId::ReasonString, C::Connect));
    EXPECT_TRUE(property_allowed(PropertyId::ServerReference, C::Disconnect));
    EXPECT_FALSE(property_allowed(PropertyId::MaximumQos, C::Connect));
    EXPECT_TRUE(property_allowed(PropertyId::AuthenticationMethod, C::Auth));
    EXPECT_TRUE(property_allowed(PropertyId::SessionExpiryInterval, C::Disconnect));
    for (int c = 0; c <= static_cast<int>(C::Auth); ++c) {
        EXPECT_TRUE(property_allowed(PropertyId::UserProperty, static_cast<C>(c)));
    }
}

TEST(PropertiesContainer, FindSetRemove) {
    Properties p;
    EXPECT_TRUE(p.empty());
    EXPECT_EQ(p.number(PropertyId::TopicAlias), std::nullopt);
    p.add_number(PropertyId::TopicAlias, 4);
    p.add_user_property("k", "v1");
    p.add_user_property("k", "v2");
    p.add_text(PropertyId::ContentType, "json");
    EXPECT_EQ(p.size(), 4U);
    EXPECT_EQ(p.number(PropertyId::TopicAlias), 4U);
    EXPECT_EQ(p.text(PropertyId::ContentType), "json");
    EXPECT_EQ(p.find(PropertyId::UserProperty)->value, "v1");  // the first one
    p.set_number(PropertyId::TopicAlias, 9);
    EXPECT_EQ(p.number(PropertyId::TopicAlias), 9U);
    EXPECT_EQ(p.size(), 4U);
    p.set_text(PropertyId::ResponseTopic, "r");
    EXPECT_EQ(p.text(PropertyId::ResponseTopic), "r");
    p.remove(PropertyId::UserProperty);  // removes every instance
    EXPECT_FALSE(p.contains(PropertyId::UserProperty));
    EXPECT_EQ(p.size(), 3U);
}

TEST(PropertiesDecode, EveryWireType) {
    const auto c = decode_as<Connack>(
        connack_with(bytes({0x24, 0x01,                             // byte
                            0x13, 0x01, 0x02,                       // two byte integer
                            0x11, 0x01, 0x02, 0x03, 0x04,           // four byte integer
                            0x12, 0x00, 0x02, 'i',  'd',            // UTF-8 string
                            0x16, 0x00, 0x02, 0x00, 0xFF,           // binary data
                            0x26, 0x00, 0x01, 'n',  0x00, 0x00})),  // string pair, empty value
        kV5);
    EXPECT_EQ(c.properties.number(PropertyId::MaximumQos), 1U);
    EXPECT_EQ(c.properties.number(PropertyId::ServerKeepAlive), 0x0102U);
    EXPECT_EQ(c.properties.number(PropertyId::SessionExpiryInterval), 0x01020304U);
    EXPECT_EQ(c.properties.text(PropertyId::AssignedClientIdentifier), "id");
    EXPECT_EQ(c.properties.text(PropertyId::AuthenticationData), std::string("\0\xFF", 2));
    EXPECT_EQ(c.properties.find(PropertyId::UserProperty)->text, "n");
    EXPECT_EQ(c.properties.find(PropertyId::UserProperty)->value, "");
    const auto p = decode_as<Publish>(publish_with(bytes({0x0B, 0x80, 0x01})), kV5);
    EXPECT_EQ(p.properties.number(PropertyId::SubscriptionIdentifier), 128U);  // varint
}

TEST(PropertiesDecode, UnknownIdentifierIsMalformed) {
    EXPECT_EQ(decode_error(disconnect_with(bytes({0x04, 0x00})), kV5), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(disconnect_with(bytes({0x00})), kV5), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(disconnect_with(bytes({0x2B, 0x00})), kV5), ReasonCode::MalformedPacket);
    // Identifiers are variable byte integers: 0x80 0x01 is 128, which is undefined.
    EXPECT_EQ(decode_error(disconnect_with(bytes({0x80, 0x01, 0x00})), kV5),
              ReasonCode::MalformedPacket);
}

// 2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its
// packet type ... is a Malformed Packet", whichever the packet.
TEST(PropertiesDecode, NotAllowedInPacketIsMalformed) {
    const Bytes session_expiry = bytes({0x11, 0x00, 0x00, 0x00, 0x01});
    EXPECT_EQ(decode_error(disconnect_with(bytes({0x23, 0x00, 0x01})), kV5),
              ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(publish_with(session_expiry), kV5), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(publish_with(bytes({0x1F, 0x00, 0x00})), kV5),
              ReasonCode::MalformedPacket);
    // SUBSCRIBE id 1, properties, filter "a" with options 0.
    EXPECT_EQ(decode_error(packet(0x82, bytes({0x00, 0x01, 0x05}) + session_expiry + str("a") +
                                            bytes({0x00})),
                           kV5),
              ReasonCode::MalformedPacket);
    // UNSUBSCRIBE id 1, properties, filter "a".
    EXPECT_EQ(
        decode_error(packet(0xA2, bytes({0x00, 0x01, 0x05}) + session_expiry + str("a")), kV5),
        ReasonCode::MalformedPacket);
    // PUBACK, PUBREC, PUBREL, PUBCOMP: id 1, reason 0, properties.
    for (const int first : {0x40, 0x50, 0x62, 0x70}) {
        EXPECT_EQ(decode_error(packet(static_cast<std::uint8_t>(first),
                                      bytes({0x00, 0x01, 0x00, 0x05}) + session_expiry),
                               kV5),
                  ReasonCode::MalformedPacket)
            << first;
    }
    // CONNECT with a Reason String; a will with a Session Expiry Interval.
    const Bytes connect_reason_string =
        str("MQTT") + bytes({0x05, 0x02, 0x00, 0x00}) + bytes({0x03, 0x1F, 0x00, 0x00}) + str("id");
    EXPECT_EQ(decode_error(packet(0x10, connect_reason_string), kV5), ReasonCode::MalformedPacket);
    const Bytes will_session_expiry = str("MQTT") + bytes({0x05, 0x06, 0x00, 0x00, 0x00}) +
                                      str("id") + bytes({0x05}) + session_expiry + str("w") +
                                      str("");
    EXPECT_EQ(decode_error(packet(0x10, will_session_expiry), kV5), ReasonCode::MalformedPacket);
    // CONNACK with a Will Delay Interval; AUTH with a Topic Alias.
    EXPECT_EQ(decode_error(connack_with(bytes({0x18, 0x00, 0x00, 0x00, 0x01})), kV5),
              ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(packet(0xF0, bytes({0x18, 0x03, 0x23, 0x00, 0x01})), kV5),
              ReasonCode::MalformedPacket);
}

TEST(PropertiesDecode, DuplicateSingleValuedPropertyIsProtocolError) {
    EXPECT_EQ(decode_error(publish_with(bytes({0x23, 0x00, 0x01, 0x23, 0x00, 0x02})), kV5),
              ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(connack_with(bytes({0x24, 0x00, 0x24, 0x00})), kV5),
              ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(disconnect_with(bytes({0x1F, 0x00, 0x00, 0x1F, 0x00, 0x00})), kV5),
              ReasonCode::ProtocolError);
    // User Property may repeat anywhere, also with the same name.
    const auto d = decode_as<Disconnect>(
        disconnect_with(bytes({0x26, 0, 1, 'a', 0, 1, 'b', 0x26, 0, 1, 'a', 0, 1, 'b'})), kV5);
    EXPECT_EQ(d.properties.size(), 2U);
}

TEST(PropertiesDecode, LengthPastPacketIsMalformed) {
    // Property length 5 but only 3 bytes follow.
    EXPECT_EQ(decode_error(packet(0xE0, bytes({0x00, 0x05, 0x1F, 0x00, 0x00})), kV5),
              ReasonCode::MalformedPacket);
    // A property value running past the property length (though inside the packet).
    EXPECT_EQ(
        decode_error(packet(0x30, str("t") + bytes({0x02, 0x02, 0x00, 0x00, 0x00, 0x01})), kV5),
        ReasonCode::MalformedPacket);
    // A string property whose length runs past the property length.
    EXPECT_EQ(decode_error(disconnect_with(bytes({0x1F, 0x00, 0x05, 'a'})), kV5),
              ReasonCode::MalformedPacket);
    // Property length as a 5-byte variable byte integer.
    EXPECT_EQ(decode_error(packet(0xE0, bytes({0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})), kV5),
              ReasonCode::MalformedPacket);
    // Subscription Identifier as a 5-byte variable byte integer.
    EXPECT_EQ(decode_error(publish_with(bytes({0x0B, 0x80, 0x80, 0x80, 0x80, 0x01})), kV5),
              ReasonCode::MalformedPacket);
}

TEST(PropertiesDecode, BooleanPropertiesMustBeZeroOrOne) {
    EXPECT_EQ(decode_error(publish_with(bytes({0x01, 0x02})), kV5), ReasonCode::ProtocolError);
    for (int id : {0x24, 0x25, 0x28, 0x29, 0x2A}) {
        EXPECT_EQ(decode_error(connack_with(bytes({id, 0x02})), kV5), ReasonCode::ProtocolError)
            << id;
        EXPECT_EQ(decode_error(connack_with(bytes({id, 0x01})), kV5), ReasonCode::Success) << id;
    }
    for (int id : {0x17, 0x19}) {
        const Bytes data =
            packet(0x10, str("MQTT") + bytes({0x05, 0x02, 0x00, 0x00, 0x02, id, 0x02}) + str("id"));
        EXPECT_EQ(decode_error(data, kV5), ReasonCode::ProtocolError) << id;
    }
}

TEST(PropertiesDecode, ZeroValuesThatAreProtocolErrors) {
    EXPECT_EQ(decode_error(connack_with(bytes({0x21, 0x00, 0x00})), kV5),
              ReasonCode::ProtocolError);  // Receive Maximum 0
    EXPECT_EQ(decode_error(connack_with(bytes({0x27, 0x00, 0x00, 0x00, 0x00})), kV5),
              ReasonCode::ProtocolError);  // Maximum Packet Size 0
    EXPECT_EQ(decode_error(publish_with(bytes({0x23, 0x00, 0x00})), kV5),
              ReasonCode::TopicAliasInvalid);  // Topic Alias 0: its own code (3.3.2.3.4)
    EXPECT_EQ(decode_error(publish_with(bytes({0x0B, 0x00})), kV5),
              ReasonCode::ProtocolError);  // Subscription Identifier 0
    // Topic Alias Maximum 0 is allowed: it means "no aliases".
    EXPECT_EQ(decode_error(connack_with(bytes({0x22, 0x00, 0x00})), kV5), ReasonCode::Success);
}

TEST(PropertiesEncode, EveryWireTypeRoundTrips) {
    Connack c;
    c.properties.add_number(PropertyId::RetainAvailable, 1);
    c.properties.add_number(PropertyId::ServerKeepAlive, 0xFFFF);
    c.properties.add_number(PropertyId::MaximumPacketSize, 0xFFFFFFFF);
    c.properties.add_text(PropertyId::ReasonString, "\xF0\x9F\x98\x80");
    c.properties.add_text(PropertyId::AuthenticationData, std::string(300, '\0'));
    c.properties.add_user_property("", "");
    const Bytes encoded = encode_bytes(c, kV5);
    EXPECT_TRUE(same_packet(decode_as<Connack>(encoded, kV5), c));
    // Header (3 bytes), flags, reason, then property length 325 in two bytes.
    EXPECT_EQ(encoded[5], 0xC5);
    EXPECT_EQ(encoded[6], 0x02);
}

TEST(PropertiesEncode, SubscriptionIdentifierIsAVarint) {
    Publish p;
    p.topic = "t";
    p.properties.add_number(PropertyId::SubscriptionIdentifier, 16384);
    EXPECT_EQ(encode_bytes(p, kV5), packet(0x30, str("t") + bytes({0x04, 0x0B, 0x80, 0x80, 0x01})));
}

}  // namespace
}  // namespace petrel::protocol::testing
