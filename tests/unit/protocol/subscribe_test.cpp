// SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (3.8 - 3.11).
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

TEST(SubscribeV311, DecodesSpecExample) {
    // 3.8.3 example: "a/b" QoS 1, "c/d" QoS 2, packet id 10.
    const Bytes data =
        packet(0x82, bytes({0x00, 0x0A}) + str("a/b") + bytes({0x01}) + str("c/d") + bytes({0x02}));
    const auto s = decode_as<Subscribe>(data, kV311);
    EXPECT_EQ(s.packet_id, 10);
    ASSERT_EQ(s.subscriptions.size(), 2U);
    EXPECT_EQ(s.subscriptions[0].filter, "a/b");
    EXPECT_EQ(s.subscriptions[0].options.qos, 1);
    EXPECT_EQ(s.subscriptions[1].filter, "c/d");
    EXPECT_EQ(s.subscriptions[1].options.qos, 2);
    EXPECT_TRUE(s.properties.empty());
}

TEST(Subscribe, WildcardsAreLeftToTheTopicLayer) {
    // The codec does not judge filters: "a/#/b" is syntactically bad but decodes.
    const auto s = decode_as<Subscribe>(
        packet(0x82, bytes({0x00, 0x01}) + str("a/#/b") + bytes({0x00})), kV311);
    EXPECT_EQ(s.subscriptions[0].filter, "a/#/b");
}

TEST(Subscribe, FixedHeaderFlagsMustBe0010) {
    const Bytes body = bytes({0x00, 0x01}) + str("a") + bytes({0x00});
    EXPECT_EQ(decode_error(packet(0x80, body), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(packet(0x83, body), kV311), ReasonCode::MalformedPacket);
}

TEST(Subscribe, NoFiltersIsProtocolError) {
    EXPECT_EQ(decode_error(packet(0x82, bytes({0x00, 0x01})), kV311),
              ReasonCode::ProtocolError);  // [MQTT-3.8.3-3]
    EXPECT_EQ(decode_error(packet(0x82, bytes({0x00, 0x01, 0x00})), kV5),
              ReasonCode::ProtocolError);
}

TEST(Subscribe, PacketIdZeroIsProtocolError) {
    EXPECT_EQ(decode_error(packet(0x82, bytes({0x00, 0x00}) + str("a") + bytes({0x00})), kV311),
              ReasonCode::ProtocolError);
}

TEST(Subscribe, MissingOptionsByteIsMalformed) {
    EXPECT_EQ(decode_error(packet(0x82, bytes({0x00, 0x01}) + str("a")), kV311),
              ReasonCode::MalformedPacket);
}

TEST(SubscribeV311, OnlyQosBitsAllowed) {
    for (int options : {0x03, 0x04, 0x08, 0x10, 0x40, 0x80}) {
        const Bytes data = packet(0x82, bytes({0x00, 0x01}) + str("a") + bytes({options}));
        EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket)  // [MQTT-3-8.3-4]
            << options;
    }
}

TEST(SubscribeV5, DecodesOptionsAndSubscriptionIdentifier) {
    const Bytes data = packet(0x82, bytes({0x00, 0x02, 0x03, 0x0B, 0xFF, 0x7F}) + str("a/+") +
                                        bytes({0x2E}) + str("$share/g/x") + bytes({0x11}));
    const auto s = decode_as<Subscribe>(data, kV5);
    EXPECT_EQ(s.properties.number(PropertyId::SubscriptionIdentifier), 16383U);
    ASSERT_EQ(s.subscriptions.size(), 2U);
    const SubscribeOptions first{.qos = 2,
                                 .no_local = true,
                                 .retain_as_published = true,
                                 .retain_handling = RetainHandling::DoNotSend};
    EXPECT_EQ(s.subscriptions[0].options, first);
    const SubscribeOptions second{.qos = 1,
                                  .no_local = false,
                                  .retain_as_published = false,
                                  .retain_handling = RetainHandling::SendIfNewSubscription};
    EXPECT_EQ(s.subscriptions[1].options, second);
}

TEST(SubscribeV5, InvalidOptions) {
    const auto with = [](int options) {
        return packet(0x82, bytes({0x00, 0x01, 0x00}) + str("a") + bytes({options}));
    };
    EXPECT_EQ(decode_error(with(0x40), kV5), ReasonCode::MalformedPacket);  // [MQTT-3.8.3-5]
    EXPECT_EQ(decode_error(with(0x80), kV5), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(with(0x30), kV5), ReasonCode::ProtocolError);  // retain handling 3
    EXPECT_EQ(decode_error(with(0x03), kV5), ReasonCode::ProtocolError);  // 3.8.3.1: QoS 3
}

TEST(SubscribeV5, SubscriptionIdentifierRules) {
    const auto with_props = [](const Bytes& props) {
        return packet(0x82, bytes({0x00, 0x01, static_cast<int>(props.size())}) + props + str("a") +
                                bytes({0x00}));
    };
    EXPECT_EQ(decode_error(with_props(bytes({0x0B, 0x00})), kV5), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(with_props(bytes({0x0B, 0x01, 0x0B, 0x02})), kV5),
              ReasonCode::ProtocolError);  // only once in SUBSCRIBE
    // Topic Alias is not a SUBSCRIBE property: malformed (2.2.2.2).
    EXPECT_EQ(decode_error(with_props(bytes({0x23, 0x00, 0x01})), kV5),
              ReasonCode::MalformedPacket);
    const auto ok = decode_as<Subscribe>(
        with_props(bytes({0x0B, 0xFF, 0xFF, 0xFF, 0x7F, 0x26, 0, 1, 'a', 0, 1, 'b'})), kV5);
    EXPECT_EQ(ok.properties.number(PropertyId::SubscriptionIdentifier), 268'435'455U);
}

TEST(SubackV311, DecodesReturnCodes) {
    const auto s =
        decode_as<Suback>(bytes({0x90, 0x06, 0x00, 0x0A, 0x00, 0x01, 0x02, 0x80}), kV311);
    EXPECT_EQ(s.packet_id, 10);
    EXPECT_EQ(s.reasons,
              (std::vector<SubackReason>{ReasonCode::Success, ReasonCode::GrantedQos1,
                                         ReasonCode::GrantedQos2, ReasonCode::UnspecifiedError}));
}

TEST(SubackV311, ReservedReturnCodeIsRefused) {
    EXPECT_EQ(decode_error(bytes({0x90, 0x03, 0x00, 0x01, 0x03}), kV311),
              ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0x90, 0x03, 0x00, 0x01, 0x87}), kV311),
              ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0x90, 0x02, 0x00, 0x01}), kV311), ReasonCode::ProtocolError);
}

TEST(SubackV311, EncodeFoldsFailuresTo0x80) {
    Suback s;
    s.packet_id = 3;
    s.reasons = {ReasonCode::GrantedQos2, ReasonCode::NotAuthorized, ReasonCode::Success,
                 ReasonCode::TopicFilterInvalid, ReasonCode::GrantedQos1};
    s.properties.add_text(PropertyId::ReasonString, "dropped in 3.1.1");
    EXPECT_EQ(encode_bytes(s, kV311),
              bytes({0x90, 0x07, 0x00, 0x03, 0x02, 0x80, 0x00, 0x80, 0x01}));
}

TEST(SubackV5, DecodesAndEncodesReasonCodes) {
    const Bytes data = bytes({0x90, 0x06, 0x00, 0x0A, 0x00, 0x01, 0x87, 0xA2});
    const auto s = decode_as<Suback>(data, kV5);
    EXPECT_EQ(s.reasons,
              (std::vector<SubackReason>{ReasonCode::GrantedQos1, ReasonCode::NotAuthorized,
                                         ReasonCode::WildcardSubscriptionsNotSupported}));
    EXPECT_EQ(encode_bytes(s, kV5), data);
    // 0x10 is not a SUBACK reason code.
    EXPECT_EQ(decode_error(bytes({0x90, 0x04, 0x00, 0x0A, 0x00, 0x10}), kV5),
              ReasonCode::ProtocolError);
}

TEST(UnsubscribeV311, DecodesFilters) {
    const Bytes data = packet(0xA2, bytes({0x00, 0x0B}) + str("a/b") + str("c/#"));
    const auto u = decode_as<Unsubscribe>(data, kV311);
    EXPECT_EQ(u.packet_id, 11);
    EXPECT_EQ(u.filters, (std::vector<std::string>{"a/b", "c/#"}));
    EXPECT_EQ(encode_bytes(u, kV311), data);
}

TEST(Unsubscribe, Rules) {
    EXPECT_EQ(decode_error(packet(0xA2, bytes({0x00, 0x01})), kV311),
              ReasonCode::ProtocolError);  // [MQTT-3.10.3-2]
    EXPECT_EQ(decode_error(packet(0xA2, bytes({0x00, 0x01, 0x00})), kV5),
              ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(packet(0xA0, bytes({0x00, 0x01}) + str("a")), kV311),
              ReasonCode::MalformedPacket);  // [MQTT-3.10.1-1]
    EXPECT_EQ(decode_error(packet(0xA2, bytes({0x00, 0x00}) + str("a")), kV311),
              ReasonCode::ProtocolError);
    // Subscription Identifier is not an UNSUBSCRIBE property: malformed (2.2.2.2).
    EXPECT_EQ(decode_error(packet(0xA2, bytes({0x00, 0x01, 0x02, 0x0B, 0x01}) + str("a")), kV5),
              ReasonCode::MalformedPacket);
}

TEST(UnsubscribeV5, DecodesUserProperties) {
    const auto u = decode_as<Unsubscribe>(
        packet(0xA2, bytes({0x00, 0x01, 0x07, 0x26, 0, 1, 'k', 0, 1, 'v'}) + str("x")), kV5);
    EXPECT_EQ(u.filters, (std::vector<std::string>{"x"}));
    EXPECT_EQ(u.properties.size(), 1U);
}

TEST(UnsubackV311, IsPacketIdOnly) {
    const auto u = decode_as<Unsuback>(bytes({0xB0, 0x02, 0x00, 0x05}), kV311);
    EXPECT_EQ(u.packet_id, 5);
    EXPECT_TRUE(u.reasons.empty());
    EXPECT_EQ(decode_error(bytes({0xB0, 0x03, 0x00, 0x05, 0x00}), kV311),
              ReasonCode::MalformedPacket);
    Unsuback with_reasons;
    with_reasons.packet_id = 5;
    with_reasons.reasons = {ReasonCode::Success};
    EXPECT_EQ(encode_bytes(with_reasons, kV311), bytes({0xB0, 0x02, 0x00, 0x05}));
}

TEST(UnsubackV5, DecodesReasonCodes) {
    const Bytes data = bytes({0xB0, 0x05, 0x00, 0x05, 0x00, 0x00, 0x11});
    const auto u = decode_as<Unsuback>(data, kV5);
    EXPECT_EQ(u.reasons, (std::vector<UnsubackReason>{ReasonCode::Success,
                                                      ReasonCode::NoSubscriptionExisted}));
    EXPECT_EQ(encode_bytes(u, kV5), data);
    EXPECT_EQ(decode_error(bytes({0xB0, 0x03, 0x00, 0x05, 0x00}), kV5), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0xB0, 0x04, 0x00, 0x05, 0x00, 0x02}), kV5),
              ReasonCode::ProtocolError);
}

}  // namespace
}  // namespace petrel::protocol::testing
