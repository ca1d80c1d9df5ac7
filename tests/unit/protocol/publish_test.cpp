// PUBLISH (3.3) and PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 - 3.7).
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

TEST(PublishV311, DecodesQos0) {
    const Bytes data = packet(0x30, str("a/b") + bytes("hello"));
    const auto p = decode_as<Publish>(data, kV311);
    EXPECT_EQ(p.topic, "a/b");
    EXPECT_EQ(p.qos, 0);
    EXPECT_FALSE(p.dup);
    EXPECT_FALSE(p.retain);
    EXPECT_EQ(p.packet_id, 0);
    EXPECT_EQ(*p.payload, "hello");
}

TEST(PublishV311, DecodesFlagsAndPacketId) {
    // DUP, QoS 2, RETAIN; packet id 10 (the 3.3.2.3 example).
    const Bytes data = packet(0x3D, str("a/b") + bytes({0x00, 0x0A}));
    const auto p = decode_as<Publish>(data, kV311);
    EXPECT_TRUE(p.dup);
    EXPECT_EQ(p.qos, 2);
    EXPECT_TRUE(p.retain);
    EXPECT_EQ(p.packet_id, 10);
    EXPECT_EQ(*p.payload, "");
}

TEST(PublishV311, PayloadMayHoldAnyBytes) {
    const Bytes payload = bytes({0x00, 0xFF, 0xC0, 0x80});
    const auto p =
        decode_as<Publish>(packet(0x32, str("t") + bytes({0x12, 0x34}) + payload), kV311);
    EXPECT_EQ(p.packet_id, 0x1234);
    EXPECT_EQ(*p.payload, std::string("\x00\xFF\xC0\x80", 4));
}

TEST(Publish, Qos3IsMalformed) {
    const Bytes data = packet(0x36, str("t") + bytes({0x00, 0x01}));
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);  // [MQTT-3.3.1-4]
    EXPECT_EQ(decode_error(data, kV5), ReasonCode::MalformedPacket);
}

TEST(Publish, DupAtQos0IsMalformed) {
    const Bytes data = packet(0x38, str("t"));
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);  // [MQTT-3.3.1-2]
    EXPECT_EQ(decode_error(packet(0x38, str("t") + bytes({0x00})), kV5),
              ReasonCode::MalformedPacket);
}

TEST(Publish, PacketIdZeroIsProtocolError) {
    EXPECT_EQ(decode_error(packet(0x32, str("t") + bytes({0x00, 0x00})), kV311),
              ReasonCode::ProtocolError);  // [MQTT-2.2.1-3]
    EXPECT_EQ(decode_error(packet(0x34, str("t") + bytes({0x00, 0x00, 0x00})), kV5),
              ReasonCode::ProtocolError);
}

TEST(Publish, MissingPacketIdIsMalformed) {
    EXPECT_EQ(decode_error(packet(0x32, str("t") + bytes({0x01})), kV311),
              ReasonCode::MalformedPacket);
}

TEST(Publish, TopicLengthPastPacketIsMalformed) {
    EXPECT_EQ(decode_error(packet(0x30, bytes({0x00, 0x05, 'a', 'b'})), kV311),
              ReasonCode::MalformedPacket);
}

TEST(Publish, EmptyTopicIsProtocolErrorWithoutAlias) {
    EXPECT_EQ(decode_error(packet(0x30, str("") + bytes("x")), kV311), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(packet(0x30, str("") + bytes({0x00})), kV5), ReasonCode::ProtocolError);
}

TEST(PublishV5, EmptyTopicAllowedWithTopicAlias) {
    const auto p = decode_as<Publish>(
        packet(0x30, str("") + bytes({0x03, 0x23, 0x00, 0x07}) + bytes("data")), kV5);
    EXPECT_EQ(p.topic, "");
    EXPECT_EQ(p.properties.number(PropertyId::TopicAlias), 7U);
    EXPECT_EQ(*p.payload, "data");
}

TEST(PublishV5, DecodesProperties) {
    const Bytes props =
        bytes({0x01, 0x01,                                    // Payload Format Indicator
               0x02, 0x00, 0x00, 0x00, 0x3C,                  // Message Expiry 60
               0x08, 0x00, 0x05, 'r',  'e',  'p',  'l', 'y',  // Response Topic
               0x09, 0x00, 0x02, 0x00, 0xFF,                  // Correlation Data
               0x0B, 0x81, 0x01,                              // Subscription Id 129
               0x0B, 0x02,                                    // Subscription Id 2
               0x26, 0x00, 0x01, 'a',  0x00, 0x01, '1', 0x26, 0x00, 0x01, 'a', 0x00, 0x01, '2'});
    const Bytes data =
        packet(0x32, str("t") + bytes({0x00, 0x05}) + bytes({static_cast<int>(props.size())}) +
                         props + bytes("pl"));
    const auto p = decode_as<Publish>(data, kV5);
    EXPECT_EQ(p.packet_id, 5);
    EXPECT_EQ(*p.payload, "pl");
    ASSERT_EQ(p.properties.size(), 8U);
    EXPECT_EQ(p.properties.number(PropertyId::PayloadFormatIndicator), 1U);
    EXPECT_EQ(p.properties.number(PropertyId::MessageExpiryInterval), 60U);
    EXPECT_EQ(p.properties.text(PropertyId::ResponseTopic), "reply");
    EXPECT_EQ(p.properties.text(PropertyId::CorrelationData), std::string("\x00\xFF", 2));
    std::vector<std::uint32_t> ids;
    std::vector<std::string> user_values;
    for (const Property& prop : p.properties) {
        if (prop.id == PropertyId::SubscriptionIdentifier) {
            ids.push_back(prop.number);
        }
        if (prop.id == PropertyId::UserProperty) {
            user_values.push_back(prop.value);
        }
    }
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{129, 2}));
    // User properties keep their order [MQTT-3.3.2-17].
    EXPECT_EQ(user_values, (std::vector<std::string>{"1", "2"}));
}

TEST(PublishV5, MissingPropertyLengthIsMalformed) {
    EXPECT_EQ(decode_error(packet(0x30, str("t")), kV5), ReasonCode::MalformedPacket);
}

TEST(PublishV311, PropertiesAreNotParsedBefore5) {
    // In 3.1.1 the byte after the topic is payload.
    const auto p = decode_as<Publish>(packet(0x30, str("t") + bytes({0x00})), kV311);
    EXPECT_EQ(*p.payload, std::string(1, '\0'));
}

TEST(PublishEncode, V311WritesNoProperties) {
    Publish p;
    p.topic = "a/b";
    p.qos = 1;
    p.packet_id = 7;
    p.retain = true;
    p.properties.add_number(PropertyId::MessageExpiryInterval, 5);
    p.payload = make_payload("hi");
    EXPECT_EQ(encode_bytes(p, kV311), packet(0x33, str("a/b") + bytes({0x00, 0x07}) + bytes("hi")));
    EXPECT_EQ(encode_bytes(p, kV5),
              packet(0x33, str("a/b") + bytes({0x00, 0x07, 0x05, 0x02, 0x00, 0x00, 0x00, 0x05}) +
                               bytes("hi")));
}

TEST(PublishEncode, Qos0WritesNoPacketId) {
    Publish p;
    p.topic = "t";
    p.packet_id = 99;  // ignored at QoS 0
    EXPECT_EQ(encode_bytes(p, kV311), packet(0x30, str("t")));
}

TEST(PublishEncode, DupIsClearedAtQos0) {
    Publish p;
    p.topic = "t";
    p.dup = true;  // e.g. a redelivered QoS 1 message forwarded at QoS 0
    EXPECT_EQ(encode_bytes(p, kV311), packet(0x30, str("t")));
    p.qos = 1;
    p.packet_id = 1;
    EXPECT_EQ(encode_bytes(p, kV311), packet(0x3A, str("t") + bytes({0x00, 0x01})));
}

TEST(PublishEncode, HeaderOnlyCountsThePayload) {
    Publish p;
    p.topic = "room/1";
    p.qos = 2;
    p.dup = true;
    p.packet_id = 0x0102;
    p.properties.add_user_property("k", "v");
    p.payload = make_payload(std::string(300, 'x'));
    for (ProtocolVersion v : {kV31, kV311, kV5}) {
        std::string header;
        encode_publish_header(p, v, header);
        std::string full;
        encode(p, v, full);
        EXPECT_EQ(header + *p.payload, full);
        EXPECT_EQ(encoded_size(p, v), full.size());
    }
}

TEST(PublishResponseV311, DecodesEachType) {
    EXPECT_EQ(decode_as<Puback>(bytes({0x40, 0x02, 0x00, 0x01}), kV311).packet_id, 1);
    EXPECT_EQ(decode_as<Pubrec>(bytes({0x50, 0x02, 0x01, 0x00}), kV311).packet_id, 256);
    EXPECT_EQ(decode_as<Pubrel>(bytes({0x62, 0x02, 0xFF, 0xFF}), kV311).packet_id, 65535);
    EXPECT_EQ(decode_as<Pubcomp>(bytes({0x70, 0x02, 0x00, 0x02}), kV311).packet_id, 2);
}

TEST(PublishResponseV311, ExtraBytesAreMalformed) {
    // 3.1.1 has no reason code: remaining length is exactly 2.
    EXPECT_EQ(decode_error(bytes({0x40, 0x03, 0x00, 0x01, 0x00}), kV311),
              ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0x40, 0x01, 0x00}), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0x40, 0x00}), kV311), ReasonCode::MalformedPacket);
}

TEST(PublishResponse, PacketIdZeroIsProtocolError) {
    for (int first : {0x40, 0x50, 0x62, 0x70}) {
        EXPECT_EQ(decode_error(bytes({first, 0x02, 0x00, 0x00}), kV311), ReasonCode::ProtocolError);
        EXPECT_EQ(decode_error(bytes({first, 0x02, 0x00, 0x00}), kV5), ReasonCode::ProtocolError);
    }
}

TEST(PublishResponse, FixedHeaderFlags) {
    // PUBREL must carry 0b0010, the others 0 [MQTT-3.6.1-1] [MQTT-2.2.2-2].
    EXPECT_EQ(decode_error(bytes({0x60, 0x02, 0x00, 0x01}), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0x42, 0x02, 0x00, 0x01}), kV311), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0x51, 0x02, 0x00, 0x01}), kV5), ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(bytes({0x78, 0x02, 0x00, 0x01}), kV5), ReasonCode::MalformedPacket);
}

TEST(PublishResponseV5, ShortForms) {
    const auto two = decode_as<Puback>(bytes({0x40, 0x02, 0x00, 0x01}), kV5);
    EXPECT_EQ(two.reason, ReasonCode::Success);
    EXPECT_TRUE(two.properties.empty());
    const auto three = decode_as<Pubrec>(bytes({0x50, 0x03, 0x00, 0x01, 0x10}), kV5);
    EXPECT_EQ(three.reason, ReasonCode::NoMatchingSubscribers);
    EXPECT_TRUE(three.properties.empty());
    const auto full =
        decode_as<Pubcomp>(bytes({0x70, 0x08, 0x00, 0x01, 0x92, 0x04, 0x1F, 0x00, 0x01, '?'}), kV5);
    EXPECT_EQ(full.reason, ReasonCode::PacketIdentifierNotFound);
    EXPECT_EQ(full.properties.text(PropertyId::ReasonString), "?");
}

TEST(PublishResponseV5, ReasonMustBeOneThePacketDefines) {
    // PUBREL/PUBCOMP only define 0x00 and 0x92.
    EXPECT_EQ(decode_error(bytes({0x62, 0x03, 0x00, 0x01, 0x10}), kV5), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_error(bytes({0x40, 0x03, 0x00, 0x01, 0x92}), kV5), ReasonCode::ProtocolError);
    EXPECT_EQ(decode_as<Pubrel>(bytes({0x62, 0x03, 0x00, 0x01, 0x92}), kV5).reason,
              ReasonCode::PacketIdentifierNotFound);
}

TEST(PublishResponseV5, PropertiesOutsideTheirContextAreMalformed) {
    // Topic Alias is not allowed in PUBACK (2.2.2.2).
    EXPECT_EQ(decode_error(bytes({0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01}), kV5),
              ReasonCode::MalformedPacket);
}

TEST(PublishResponseV5, EncodesShortestForm) {
    Puback ack;
    ack.packet_id = 1;
    EXPECT_EQ(encode_bytes(ack, kV5), bytes({0x40, 0x02, 0x00, 0x01}));
    ack.reason = ReasonCode::NoMatchingSubscribers;
    EXPECT_EQ(encode_bytes(ack, kV5), bytes({0x40, 0x03, 0x00, 0x01, 0x10}));
    ack.properties.add_text(PropertyId::ReasonString, "r");
    EXPECT_EQ(encode_bytes(ack, kV5),
              bytes({0x40, 0x08, 0x00, 0x01, 0x10, 0x04, 0x1F, 0x00, 0x01, 'r'}));
    // Success with properties still needs the reason byte.
    ack.reason = ReasonCode::Success;
    EXPECT_EQ(encode_bytes(ack, kV5),
              bytes({0x40, 0x08, 0x00, 0x01, 0x00, 0x04, 0x1F, 0x00, 0x01, 'r'}));
    // 3.1.1 never writes a reason or properties.
    ack.reason = ReasonCode::NotAuthorized;
    EXPECT_EQ(encode_bytes(ack, kV311), bytes({0x40, 0x02, 0x00, 0x01}));
}

TEST(PublishResponseEncode, PubrelCarriesFlags) {
    Pubrel rel;
    rel.packet_id = 0x0A0B;
    EXPECT_EQ(encode_bytes(rel, kV311), bytes({0x62, 0x02, 0x0A, 0x0B}));
    Pubrec rec;
    rec.packet_id = 3;
    EXPECT_EQ(encode_bytes(rec, kV311), bytes({0x50, 0x02, 0x00, 0x03}));
    Pubcomp comp;
    comp.packet_id = 3;
    EXPECT_EQ(encode_bytes(comp, kV5), bytes({0x70, 0x02, 0x00, 0x03}));
}

}  // namespace
}  // namespace petrel::protocol::testing
