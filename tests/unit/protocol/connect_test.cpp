// CONNECT (3.1) for MQTT 3.1, 3.1.1 and 5, and CONNACK (3.2).
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

// The 3.1.1 example of 3.1.2.10: "MQTT", level 4, clean session, keep alive 10.
TEST(ConnectV311, DecodesMinimalConnect) {
    const Bytes data = bytes({0x10, 0x0F, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x0A,
                              0x00, 0x03, 'a', 'b', 'c'});
    const auto c = decode_as<Connect>(data, kV311);
    EXPECT_EQ(c.version, ProtocolVersion::V311);
    EXPECT_TRUE(c.clean_start);
    EXPECT_EQ(c.keep_alive, 10);
    EXPECT_EQ(c.client_id, "abc");
    EXPECT_FALSE(c.will.has_value());
    EXPECT_FALSE(c.username.has_value());
    EXPECT_FALSE(c.password.has_value());
    EXPECT_TRUE(c.properties.empty());
}

TEST(ConnectV311, DecodesWillUsernameAndPassword) {
    // flags: user, password, will retain, will QoS 1, will, clean session = 0xEE
    const Bytes body = str("MQTT") + bytes({0x04, 0xEE, 0x01, 0x2C}) + str("client") +
                       str("last/will") + str("bye") + str("alice") + str("secret");
    const auto c = decode_as<Connect>(packet(0x10, body), kV311);
    EXPECT_EQ(c.keep_alive, 300);
    EXPECT_EQ(c.client_id, "client");
    ASSERT_TRUE(c.will.has_value());
    EXPECT_EQ(c.will->topic, "last/will");
    EXPECT_EQ(*c.will->payload, "bye");
    EXPECT_EQ(c.will->qos, 1);
    EXPECT_TRUE(c.will->retain);
    EXPECT_EQ(c.username, "alice");
    EXPECT_EQ(c.password, "secret");
}

TEST(ConnectV311, DecodedWhateverVersionTheConnectionHas) {
    // The CONNECT sets the version, so the `version` argument does not matter for it.
    const Bytes data = packet(0x10, str("MQTT") + bytes({0x05, 0x02, 0x00, 0x00, 0x00}) + str(""));
    EXPECT_EQ(decode_as<Connect>(data, kV311).version, ProtocolVersion::V5);
    EXPECT_EQ(decode_as<Connect>(data, kV31).version, ProtocolVersion::V5);
}

TEST(ConnectV31, DecodesMQIsdpLevel3) {
    const Bytes body = str("MQIsdp") + bytes({0x03, 0x02, 0x00, 0x3C}) + str("old-client");
    const auto c = decode_as<Connect>(packet(0x10, body), kV311);
    EXPECT_EQ(c.version, ProtocolVersion::V31);
    EXPECT_EQ(c.client_id, "old-client");
    EXPECT_EQ(c.keep_alive, 60);
}

TEST(ConnectV31, RoundTripWritesMQIsdp) {
    Connect c;
    c.version = ProtocolVersion::V31;
    c.client_id = "x";
    c.username = "u";
    c.password = "p";
    const Bytes encoded = encode_bytes(c, kV31);
    const Bytes expected = packet(
        0x10, str("MQIsdp") + bytes({0x03, 0xC2, 0x00, 0x00}) + str("x") + str("u") + str("p"));
    EXPECT_EQ(encoded, expected);
    EXPECT_TRUE(same_packet(decode_as<Connect>(encoded, kV31), c));
}

TEST(Connect, UnsupportedNamesAndLevelsAreRefusedWithReasonCode0x84) {
    const auto with = [](std::string_view name, int level) {
        return packet(0x10, str(name) + bytes({level, 0x02, 0x00, 0x00}) + str("id"));
    };
    EXPECT_EQ(decode_error(with("MQTT", 3), kV311), ReasonCode::UnsupportedProtocolVersion);
    EXPECT_EQ(decode_error(with("MQTT", 6), kV311), ReasonCode::UnsupportedProtocolVersion);
    EXPECT_EQ(decode_error(with("MQIsdp", 4), kV311), ReasonCode::UnsupportedProtocolVersion);
    EXPECT_EQ(decode_error(with("MQIsdp", 5), kV311), ReasonCode::UnsupportedProtocolVersion);
    EXPECT_EQ(decode_error(with("mqtt", 4), kV311), ReasonCode::UnsupportedProtocolVersion);
    EXPECT_EQ(decode_error(with("HTTP", 4), kV311), ReasonCode::UnsupportedProtocolVersion);
    EXPECT_EQ(decode_error(with("MQTT", 0x84), kV311), ReasonCode::UnsupportedProtocolVersion);
}

TEST(Connect, PeekLevelFindsTheLevelByte) {
    const Bytes data = packet(0x10, str("MQTT") + bytes({0x07, 0x02, 0x00, 0x00}) + str("id"));
    EXPECT_EQ(peek_connect_level(ByteView(data.data(), data.size())), 7);
    // Gets that far with only a prefix of the packet.
    EXPECT_EQ(peek_connect_level(ByteView(data.data(), 9)), 7);
    EXPECT_EQ(peek_connect_level(ByteView(data.data(), 8)), std::nullopt);
    EXPECT_EQ(peek_connect_level(ByteView{}), std::nullopt);
    const Bytes mqisdp = packet(0x10, str("MQIsdp") + bytes({0x03, 0x02, 0x00, 0x00}) + str(""));
    EXPECT_EQ(peek_connect_level(ByteView(mqisdp.data(), mqisdp.size())), 3);
}

TEST(Connect, PeekLevelIgnoresOtherPacketsAndStaysInsideRemainingLength) {
    const Bytes publish = packet(0x30, str("MQTT") + bytes({0x04}));
    EXPECT_EQ(peek_connect_level(ByteView(publish.data(), publish.size())), std::nullopt);
    // Remaining length 6 ends right before the level byte that follows in the buffer.
    const Bytes cut = bytes({0x10, 0x06, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04});
    EXPECT_EQ(peek_connect_level(ByteView(cut.data(), cut.size())), std::nullopt);
}

TEST(Connect, ReservedFlagIsMalformed) {
    const Bytes data = packet(0x10, str("MQTT") + bytes({0x04, 0x03, 0x00, 0x00}) + str("id"));
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);  // [MQTT-3.1.2-3]
    const Bytes v5 = packet(0x10, str("MQTT") + bytes({0x05, 0x03, 0x00, 0x00, 0x00}) + str("id"));
    EXPECT_EQ(decode_error(v5, kV5), ReasonCode::MalformedPacket);
}

TEST(Connect, WillQosOrRetainWithoutWillIsMalformed) {
    for (int flags : {0x0A, 0x12, 0x22}) {  // will QoS 1, will QoS 2, will retain
        const Bytes data = packet(0x10, str("MQTT") + bytes({0x04, flags, 0x00, 0x00}) + str("id"));
        EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket) << flags;
    }
}

TEST(Connect, WillQos3IsMalformed) {
    const Bytes data = packet(
        0x10, str("MQTT") + bytes({0x04, 0x1E, 0x00, 0x00}) + str("id") + str("t") + str("p"));
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);  // [MQTT-3.1.2-14]
}

TEST(Connect, PasswordWithoutUsernameIsMalformedBeforeV5) {
    const Bytes v311 =
        packet(0x10, str("MQTT") + bytes({0x04, 0x42, 0x00, 0x00}) + str("id") + str("pw"));
    EXPECT_EQ(decode_error(v311, kV311), ReasonCode::MalformedPacket);  // [MQTT-3.1.2-22]
    const Bytes v31 =
        packet(0x10, str("MQIsdp") + bytes({0x03, 0x42, 0x00, 0x00}) + str("id") + str("pw"));
    EXPECT_EQ(decode_error(v31, kV31), ReasonCode::MalformedPacket);
    // v5 allows a password without a user name (3.1.2.9).
    const Bytes v5 =
        packet(0x10, str("MQTT") + bytes({0x05, 0x42, 0x00, 0x00, 0x00}) + str("id") + str("pw"));
    const auto c = decode_as<Connect>(v5, kV5);
    EXPECT_FALSE(c.username.has_value());
    EXPECT_EQ(c.password, "pw");
}

TEST(Connect, MissingPayloadFieldsAreMalformed) {
    // Will flag set but no will topic/payload.
    const Bytes data = packet(0x10, str("MQTT") + bytes({0x04, 0x06, 0x00, 0x00}) + str("id"));
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);
    // User name flag set but no user name.
    const Bytes user = packet(0x10, str("MQTT") + bytes({0x04, 0x82, 0x00, 0x00}) + str("id"));
    EXPECT_EQ(decode_error(user, kV311), ReasonCode::MalformedPacket);
    // No client id at all.
    const Bytes no_id = packet(0x10, str("MQTT") + bytes({0x04, 0x02, 0x00, 0x00}));
    EXPECT_EQ(decode_error(no_id, kV311), ReasonCode::MalformedPacket);
}

TEST(Connect, ZeroLengthWillTopicIsMalformed) {
    // [MQTT-4.7.3-1] a topic name has at least one character: the CONNECT does not
    // conform [MQTT-3.1.4-1], in every version.
    const Bytes v311 = packet(
        0x10, str("MQTT") + bytes({0x04, 0x06, 0x00, 0x00}) + str("id") + str("") + str("bye"));
    EXPECT_EQ(decode_error(v311, kV311), ReasonCode::MalformedPacket);
    const Bytes v31 = packet(
        0x10, str("MQIsdp") + bytes({0x03, 0x06, 0x00, 0x00}) + str("id") + str("") + str("bye"));
    EXPECT_EQ(decode_error(v31, kV311), ReasonCode::MalformedPacket);
    const Bytes v5 = packet(0x10, str("MQTT") + bytes({0x05, 0x06, 0x00, 0x00, 0x00}) + str("id") +
                                      bytes({0x00}) + str("") + str("bye"));
    EXPECT_EQ(decode_error(v5, kV311), ReasonCode::MalformedPacket);
    // One character is enough.
    const Bytes one = packet(
        0x10, str("MQTT") + bytes({0x04, 0x06, 0x00, 0x00}) + str("id") + str("w") + str(""));
    EXPECT_EQ(decode_as<Connect>(one, kV311).will->topic, "w");
}

TEST(Connect, TrailingBytesAreMalformed) {
    const Bytes data =
        packet(0x10, str("MQTT") + bytes({0x04, 0x02, 0x00, 0x00}) + str("id") + bytes({0x00}));
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);
}

TEST(Connect, NonZeroFixedHeaderFlagsAreMalformed) {
    const Bytes data = packet(0x11, str("MQTT") + bytes({0x04, 0x02, 0x00, 0x00}) + str("id"));
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);  // [MQTT-2.2.2-2]
}

TEST(ConnectV5, DecodesPropertiesAndWillProperties) {
    const Bytes props = bytes({0x11, 0x00, 0x00, 0x0E, 0x10,  // Session Expiry 3600
                               0x21, 0x00, 0x14,              // Receive Maximum 20
                               0x27, 0x00, 0x01, 0x00, 0x00,  // Maximum Packet Size 65536
                               0x22, 0x00, 0x0A,              // Topic Alias Maximum 10
                               0x19, 0x01,                    // Request Response Info
                               0x17, 0x00,                    // Request Problem Info
                               0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v'});  // User Property
    const Bytes will_props = bytes({0x18, 0x00, 0x00, 0x00, 0x05,          // Will Delay 5
                                    0x01, 0x01,                            // Payload Format UTF-8
                                    0x03, 0x00, 0x04, 't', 'e', 'x', 't'});
    const Bytes body = str("MQTT") + bytes({0x05, 0x06, 0x00, 0x1E}) +
                       bytes({static_cast<int>(props.size())}) + props + str("c5") +
                       bytes({static_cast<int>(will_props.size())}) + will_props + str("w/t") +
                       str("gone");
    const auto c = decode_as<Connect>(packet(0x10, body), kV5);
    EXPECT_EQ(c.version, ProtocolVersion::V5);
    EXPECT_EQ(c.keep_alive, 30);
    EXPECT_EQ(c.properties.size(), 7U);
    EXPECT_EQ(c.properties.number(PropertyId::SessionExpiryInterval), 3600U);
    EXPECT_EQ(c.properties.number(PropertyId::ReceiveMaximum), 20U);
    EXPECT_EQ(c.properties.number(PropertyId::MaximumPacketSize), 65536U);
    EXPECT_EQ(c.properties.number(PropertyId::TopicAliasMaximum), 10U);
    EXPECT_EQ(c.properties.number(PropertyId::RequestResponseInformation), 1U);
    EXPECT_EQ(c.properties.number(PropertyId::RequestProblemInformation), 0U);
    const Property* user = c.properties.find(PropertyId::UserProperty);
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(user->text, "k");
    EXPECT_EQ(user->value, "v");
    ASSERT_TRUE(c.will.has_value());
    EXPECT_EQ(c.will->topic, "w/t");
    EXPECT_EQ(*c.will->payload, "gone");
    EXPECT_EQ(c.will->properties.number(PropertyId::WillDelayInterval), 5U);
    EXPECT_EQ(c.will->properties.number(PropertyId::PayloadFormatIndicator), 1U);
    EXPECT_EQ(c.will->properties.text(PropertyId::ContentType), "text");
}

TEST(ConnectV5, WillPropertiesUseTheWillContext) {
    // Will Delay Interval belongs to the will, not to CONNECT itself.
    const Bytes in_connect = packet(
        0x10, str("MQTT") + bytes({0x05, 0x02, 0x00, 0x00, 0x05, 0x18, 0x00, 0x00, 0x00, 0x01}) +
                  str("id"));
    EXPECT_EQ(decode_error(in_connect, kV5), ReasonCode::MalformedPacket);  // 2.2.2.2
    // Session Expiry belongs to CONNECT, not to the will.
    const Bytes in_will =
        packet(0x10, str("MQTT") + bytes({0x05, 0x06, 0x00, 0x00, 0x00}) + str("id") +
                         bytes({0x05, 0x11, 0x00, 0x00, 0x00, 0x01}) + str("t") + str("p"));
    EXPECT_EQ(decode_error(in_will, kV5), ReasonCode::MalformedPacket);
}

TEST(ConnectV5, AuthenticationDataWithoutMethodIsProtocolError) {
    const Bytes data =
        packet(0x10, str("MQTT") + bytes({0x05, 0x02, 0x00, 0x00, 0x04, 0x16, 0x00, 0x01, 0xAA}) +
                         str("id"));
    EXPECT_EQ(decode_error(data, kV5), ReasonCode::ProtocolError);
}

TEST(ConnectV5, MissingPropertyLengthIsMalformed) {
    const Bytes data = packet(0x10, str("MQTT") + bytes({0x05, 0x02, 0x00, 0x00}));
    EXPECT_EQ(decode_error(data, kV5), ReasonCode::MalformedPacket);
}

TEST(ConnackV311, DecodesReturnCodes) {
    const auto ok = decode_as<Connack>(bytes({0x20, 0x02, 0x01, 0x00}), kV311);
    EXPECT_TRUE(ok.session_present);
    EXPECT_EQ(ok.reason, ReasonCode::Success);
    const std::pair<int, ReasonCode> cases[] = {{1, ReasonCode::UnsupportedProtocolVersion},
                                                {2, ReasonCode::ClientIdentifierNotValid},
                                                {3, ReasonCode::ServerUnavailable},
                                                {4, ReasonCode::BadUserNameOrPassword},
                                                {5, ReasonCode::NotAuthorized}};
    for (const auto& [code, reason] : cases) {
        const auto c = decode_as<Connack>(bytes({0x20, 0x02, 0x00, code}), kV311);
        EXPECT_EQ(c.reason, reason) << code;
        EXPECT_FALSE(c.session_present);
    }
}

TEST(ConnackV311, ReservedReturnCodeAndFlagsAreRefused) {
    EXPECT_EQ(decode_error(bytes({0x20, 0x02, 0x00, 0x06}), kV311), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0x20, 0x02, 0x02, 0x00}), kV311),
              ReasonCode::MalformedPacket);  // [MQTT-3.2.2-1]
    EXPECT_EQ(decode_error(bytes({0x20, 0x03, 0x00, 0x00, 0x00}), kV311),
              ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0x20, 0x01, 0x00}), kV311), ReasonCode::MalformedPacket);
}

TEST(Connack, SessionPresentWithRefusalIsProtocolError) {
    EXPECT_EQ(decode_error(bytes({0x20, 0x02, 0x01, 0x05}), kV311), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0x20, 0x03, 0x01, 0x87, 0x00}), kV5), ReasonCode::ProtocolError);
}

TEST(ConnackV311, EncodeMapsReasonToReturnCode) {
    Connack c;
    c.reason = ReasonCode::BadUserNameOrPassword;
    c.properties.add_text(PropertyId::ReasonString, "never written in 3.1.1");
    EXPECT_EQ(encode_bytes(c, kV311), bytes({0x20, 0x02, 0x00, 0x04}));
    c.reason = ReasonCode::Banned;
    EXPECT_EQ(encode_bytes(c, kV311), bytes({0x20, 0x02, 0x00, 0x05}));
    c.reason = ReasonCode::QuotaExceeded;
    EXPECT_EQ(encode_bytes(c, kV311), bytes({0x20, 0x02, 0x00, 0x03}));
    c.reason = ReasonCode::Success;
    c.session_present = true;
    EXPECT_EQ(encode_bytes(c, kV311), bytes({0x20, 0x02, 0x01, 0x00}));
}

TEST(ConnackV31, FirstByteIsReservedAndZero) {
    // 3.1 has no Session Present: the byte is reserved, written 0 even for a resumed
    // session, and not read back.
    Connack c;
    c.session_present = true;
    EXPECT_EQ(encode_bytes(c, kV31), bytes({0x20, 0x02, 0x00, 0x00}));
    EXPECT_EQ(encode_bytes(c, kV311), bytes({0x20, 0x02, 0x01, 0x00}));
    EXPECT_EQ(encoded_size(c, kV31), 4u);
    c.reason = ReasonCode::NotAuthorized;
    c.session_present = false;
    EXPECT_EQ(encode_bytes(c, kV31), bytes({0x20, 0x02, 0x00, 0x05}));
    EXPECT_FALSE(decode_as<Connack>(bytes({0x20, 0x02, 0x01, 0x00}), kV31).session_present);
}

TEST(ConnackV5, DecodesReasonAndProperties) {
    const Bytes data = bytes({0x20, 0x0D, 0x00, 0x00, 0x0A,  // flags, reason, props length 10
                              0x24, 0x01,                    // Maximum QoS 1
                              0x25, 0x00,                    // Retain Available 0
                              0x12, 0x00, 0x03, 'g', 'e', 'n'});
    const auto c = decode_as<Connack>(data, kV5);
    EXPECT_EQ(c.reason, ReasonCode::Success);
    EXPECT_EQ(c.properties.number(PropertyId::MaximumQos), 1U);
    EXPECT_EQ(c.properties.number(PropertyId::RetainAvailable), 0U);
    EXPECT_EQ(c.properties.text(PropertyId::AssignedClientIdentifier), "gen");
}

TEST(ConnackV5, RequiresPropertyLengthAndValidReason) {
    EXPECT_EQ(decode_error(bytes({0x20, 0x02, 0x00, 0x00}), kV5), ReasonCode::MalformedPacket);
    // 0x10 No matching subscribers is not a CONNACK reason code.
    EXPECT_EQ(decode_error(bytes({0x20, 0x03, 0x00, 0x10, 0x00}), kV5), ReasonCode::ProtocolError);
    const auto refused = decode_as<Connack>(bytes({0x20, 0x03, 0x00, 0x87, 0x00}), kV5);
    EXPECT_EQ(refused.reason, ReasonCode::NotAuthorized);
}

TEST(ConnackV5, EncodesReasonAndProperties) {
    Connack c;
    c.reason = ReasonCode::NotAuthorized;
    c.properties.add_text(PropertyId::ReasonString, "no");
    EXPECT_EQ(encode_bytes(c, kV5),
              bytes({0x20, 0x08, 0x00, 0x87, 0x05, 0x1F, 0x00, 0x02, 'n', 'o'}));
}

}  // namespace
}  // namespace petrel::protocol::testing
