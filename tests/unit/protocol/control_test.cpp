// PINGREQ, PINGRESP, DISCONNECT, AUTH (3.12 - 3.15) and the fixed header rules that apply
// to every packet (2.1, 2.2).
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

TEST(Ping, DecodesAndEncodes) {
    for (ProtocolVersion v : {kV31, kV311, kV5}) {
        decode_as<Pingreq>(bytes({0xC0, 0x00}), v);
        decode_as<Pingresp>(bytes({0xD0, 0x00}), v);
        EXPECT_EQ(encode_bytes(Pingreq{}, v), bytes({0xC0, 0x00}));
        EXPECT_EQ(encode_bytes(Pingresp{}, v), bytes({0xD0, 0x00}));
    }
}

TEST(Ping, BodyOrFlagsAreMalformed) {
    EXPECT_EQ(decode_error(bytes({0xC0, 0x01, 0x00}), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0xD0, 0x01, 0x00}), kV5), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0xC1, 0x00}), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0xD8, 0x00}), kV5), ReasonCode::MalformedPacket);
}

TEST(DisconnectV311, HasNoVariableHeader) {
    decode_as<Disconnect>(bytes({0xE0, 0x00}), kV311);
    EXPECT_EQ(decode_error(bytes({0xE0, 0x01, 0x00}), kV311), ReasonCode::MalformedPacket);
    Disconnect d;
    d.reason = ReasonCode::ServerShuttingDown;
    d.properties.add_text(PropertyId::ReasonString, "bye");
    EXPECT_EQ(encode_bytes(d, kV311), bytes({0xE0, 0x00}));
    EXPECT_EQ(encode_bytes(d, kV31), bytes({0xE0, 0x00}));
}

TEST(DisconnectV5, ShortForms) {
    EXPECT_EQ(decode_as<Disconnect>(bytes({0xE0, 0x00}), kV5).reason, ReasonCode::Success);
    EXPECT_EQ(decode_as<Disconnect>(bytes({0xE0, 0x01, 0x04}), kV5).reason,
              ReasonCode::DisconnectWithWillMessage);
    const auto full =
        decode_as<Disconnect>(bytes({0xE0, 0x07, 0x8B, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00}), kV5);
    EXPECT_EQ(full.reason, ReasonCode::ServerShuttingDown);
    EXPECT_EQ(full.properties.number(PropertyId::SessionExpiryInterval), 0U);
}

TEST(DisconnectV5, EncodesShortestForm) {
    Disconnect d;
    EXPECT_EQ(encode_bytes(d, kV5), bytes({0xE0, 0x00}));
    d.reason = ReasonCode::MalformedPacket;
    EXPECT_EQ(encode_bytes(d, kV5), bytes({0xE0, 0x01, 0x81}));
    d.properties.add_text(PropertyId::ServerReference, "s");
    EXPECT_EQ(encode_bytes(d, kV5), bytes({0xE0, 0x06, 0x81, 0x04, 0x1C, 0x00, 0x01, 's'}));
}

TEST(DisconnectV5, Rules) {
    // Not a DISCONNECT reason code.
    EXPECT_EQ(decode_error(bytes({0xE0, 0x01, 0x01}), kV5), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0xE0, 0x01, 0x84}), kV5), ReasonCode::ProtocolError);
    // Flags must be 0.
    EXPECT_EQ(decode_error(bytes({0xE2, 0x00}), kV5), ReasonCode::MalformedPacket);
    // Property length running past the packet.
    EXPECT_EQ(decode_error(bytes({0xE0, 0x03, 0x00, 0x05, 0x11}), kV5),
              ReasonCode::MalformedPacket);
    // Maximum Packet Size is not a DISCONNECT property: malformed (2.2.2.2).
    EXPECT_EQ(decode_error(bytes({0xE0, 0x07, 0x00, 0x05, 0x27, 0x00, 0x00, 0x01, 0x00}), kV5),
              ReasonCode::MalformedPacket);
}

TEST(AuthV5, DecodesAndEncodes) {
    EXPECT_EQ(decode_as<Auth>(bytes({0xF0, 0x00}), kV5).reason, ReasonCode::Success);
    const Bytes data =
        bytes({0xF0, 0x0B, 0x18, 0x09, 0x15, 0x00, 0x03, 'S', 'C', 'R', 0x16, 0x00, 0x00});
    const auto a = decode_as<Auth>(data, kV5);
    EXPECT_EQ(a.reason, ReasonCode::ContinueAuthentication);
    EXPECT_EQ(a.properties.text(PropertyId::AuthenticationMethod), "SCR");
    EXPECT_EQ(a.properties.text(PropertyId::AuthenticationData), "");
    EXPECT_EQ(encode_bytes(a, kV5), data);
    EXPECT_EQ(encode_bytes(Auth{}, kV5), bytes({0xF0, 0x00}));
    // A reason other than Success keeps its property length (3.15.2.1 only omits both).
    Auth reauth;
    reauth.reason = ReasonCode::ReAuthenticate;
    EXPECT_EQ(encode_bytes(reauth, kV5), bytes({0xF0, 0x02, 0x19, 0x00}));
}

TEST(AuthV5, Rules) {
    EXPECT_EQ(decode_error(bytes({0xF0, 0x02, 0x87, 0x00}), kV5), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0xF1, 0x00}), kV5), ReasonCode::MalformedPacket);
    // Session Expiry Interval is not an AUTH property: malformed (2.2.2.2).
    EXPECT_EQ(decode_error(bytes({0xF0, 0x07, 0x18, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01}), kV5),
              ReasonCode::MalformedPacket);
}

TEST(AuthBeforeV5, TypeFifteenIsReserved) {
    EXPECT_EQ(decode_error(bytes({0xF0, 0x00}), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0xF0, 0x00}), kV31), ReasonCode::MalformedPacket);
}

TEST(FixedHeader, FlagRulesForEveryType) {
    // For each packet type, a minimal valid v5 body; every flag value but the required one
    // must be refused [MQTT-2.2.2-2].
    struct Case {
        int type;
        int required_flags;
        Bytes body;
    };
    const Case cases[] = {
        {1, 0, str("MQTT") + bytes({0x05, 0x02, 0x00, 0x00, 0x00}) + str("id")},
        {2, 0, bytes({0x00, 0x00, 0x00})},
        {4, 0, bytes({0x00, 0x01})},
        {5, 0, bytes({0x00, 0x01})},
        {6, 2, bytes({0x00, 0x01})},
        {7, 0, bytes({0x00, 0x01})},
        {8, 2, bytes({0x00, 0x01, 0x00}) + str("a") + bytes({0x00})},
        {9, 0, bytes({0x00, 0x01, 0x00, 0x00})},
        {10, 2, bytes({0x00, 0x01, 0x00}) + str("a")},
        {11, 0, bytes({0x00, 0x01, 0x00, 0x00})},
        {12, 0, {}},
        {13, 0, {}},
        {14, 0, {}},
        {15, 0, {}},
    };
    for (const Case& c : cases) {
        for (int flags = 0; flags < 16; ++flags) {
            const Bytes data = packet(static_cast<std::uint8_t>(c.type << 4 | flags), c.body);
            const ReasonCode got = decode_error(data, kV5);
            if (flags == c.required_flags) {
                EXPECT_EQ(got, ReasonCode::Success) << "type " << c.type;
            } else {
                EXPECT_EQ(got, ReasonCode::MalformedPacket) << "type " << c.type << " " << flags;
            }
        }
    }
}

TEST(FixedHeader, V311PubrelSubscribeUnsubscribeWithDupAreMalformed) {
    // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]: exactly 0b0010 (v5: FlagRulesForEveryType).
    EXPECT_EQ(decode_error(bytes({0x6A, 0x02, 0x00, 0x01}), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(packet(0x8A, bytes({0x00, 0x01}) + str("a") + bytes({0x00})), kV311),
              ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(packet(0xAA, bytes({0x00, 0x01}) + str("a")), kV311),
              ReasonCode::MalformedPacket);
}

TEST(FixedHeader, V31PubrelSubscribeUnsubscribeMaySetDup) {
    // MQTT 3.1 (2.1, 3.6, 3.8, 3.10): these use QoS level 1 and set DUP when sent again.
    EXPECT_EQ(decode_as<Pubrel>(bytes({0x62, 0x02, 0x00, 0x07}), kV31).packet_id, 7);
    EXPECT_EQ(decode_as<Pubrel>(bytes({0x6A, 0x02, 0x00, 0x07}), kV31).packet_id, 7);
    const Bytes subscribe_body = bytes({0x00, 0x02}) + str("a/b") + bytes({0x01});
    for (const int first : {0x82, 0x8A}) {
        const auto subscribe =
            decode_as<Subscribe>(packet(static_cast<std::uint8_t>(first), subscribe_body), kV31);
        EXPECT_EQ(subscribe.packet_id, 2) << first;
        ASSERT_EQ(subscribe.subscriptions.size(), 1u) << first;
        EXPECT_EQ(subscribe.subscriptions[0].filter, "a/b") << first;
    }
    const Bytes unsubscribe_body = bytes({0x00, 0x03}) + str("a/b");
    for (const int first : {0xA2, 0xAA}) {
        const auto unsubscribe = decode_as<Unsubscribe>(
            packet(static_cast<std::uint8_t>(first), unsubscribe_body), kV31);
        EXPECT_EQ(unsubscribe.packet_id, 3) << first;
    }
    // QoS must still be 1, RETAIN 0; and DUP stays invalid where 3.1 does not use it.
    for (const int first : {0x60, 0x64, 0x63, 0x6B, 0x6E}) {
        EXPECT_EQ(decode_error(bytes({first, 0x02, 0x00, 0x07}), kV31), ReasonCode::MalformedPacket)
            << first;
    }
    EXPECT_EQ(decode_error(bytes({0x48, 0x02, 0x00, 0x07}), kV31), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0x78, 0x02, 0x00, 0x07}), kV31), ReasonCode::MalformedPacket);
}

TEST(PacketType, NamesAndVariantMapping) {
    EXPECT_EQ(to_string(PacketType::Connect), "CONNECT");
    EXPECT_EQ(to_string(PacketType::Unsuback), "UNSUBACK");
    EXPECT_EQ(to_string(PacketType::Auth), "AUTH");
    EXPECT_EQ(to_string(static_cast<PacketType>(0)), "RESERVED");
    EXPECT_EQ(packet_type(Connect{}), PacketType::Connect);
    EXPECT_EQ(packet_type(Publish{}), PacketType::Publish);
    EXPECT_EQ(packet_type(Pubrel{}), PacketType::Pubrel);
    EXPECT_EQ(packet_type(Unsubscribe{}), PacketType::Unsubscribe);
    EXPECT_EQ(packet_type(Pingresp{}), PacketType::Pingresp);
    EXPECT_EQ(packet_type(Auth{}), PacketType::Auth);
}

}  // namespace
}  // namespace petrel::protocol::testing
