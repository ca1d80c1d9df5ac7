// UTF-8 encoded strings (1.5.4) and their use in packets.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

std::string s(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

TEST(Utf8, AcceptsAsciiAndEmpty) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("sensors/kitchen/temp"));
}

TEST(Utf8, AcceptsEachSequenceLength) {
    EXPECT_TRUE(is_valid_utf8(s({0xC2, 0x80})));              // U+0080
    EXPECT_TRUE(is_valid_utf8(s({0xDF, 0xBF})));              // U+07FF
    EXPECT_TRUE(is_valid_utf8(s({0xE0, 0xA0, 0x80})));        // U+0800
    EXPECT_TRUE(is_valid_utf8(s({0xED, 0x9F, 0xBF})));        // U+D7FF, just below surrogates
    EXPECT_TRUE(is_valid_utf8(s({0xEE, 0x80, 0x80})));        // U+E000, just above
    EXPECT_TRUE(is_valid_utf8(s({0xEF, 0xBB, 0xBF})));        // U+FEFF BOM [MQTT-1.5.4-3]
    EXPECT_TRUE(is_valid_utf8(s({0xF0, 0x90, 0x80, 0x80})));  // U+10000
    EXPECT_TRUE(is_valid_utf8(s({0xF4, 0x8F, 0xBF, 0xBF})));  // U+10FFFF, the maximum
    EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC"));
}

TEST(Utf8, AcceptsControlCharactersAndNonCharacters) {
    EXPECT_TRUE(is_valid_utf8(s({0x01, 0x1F, 0x7F})));
    EXPECT_TRUE(is_valid_utf8(s({0xC2, 0x9F})));        // U+009F
    EXPECT_TRUE(is_valid_utf8(s({0xEF, 0xBF, 0xBF})));  // U+FFFF
}

TEST(Utf8, RejectsNullCharacter) {
    EXPECT_FALSE(is_valid_utf8(std::string_view("a\0b", 3)));  // [MQTT-1.5.4-2]
    EXPECT_FALSE(is_valid_utf8(std::string(1, '\0')));
}

TEST(Utf8, RejectsOverlongForms) {
    EXPECT_FALSE(is_valid_utf8(s({0xC0, 0x80})));  // overlong U+0000
    EXPECT_FALSE(is_valid_utf8(s({0xC0, 0xAF})));  // overlong '/'
    EXPECT_FALSE(is_valid_utf8(s({0xC1, 0xBF})));
    EXPECT_FALSE(is_valid_utf8(s({0xE0, 0x80, 0xAF})));
    EXPECT_FALSE(is_valid_utf8(s({0xE0, 0x9F, 0xBF})));
    EXPECT_FALSE(is_valid_utf8(s({0xF0, 0x80, 0x80, 0xAF})));
    EXPECT_FALSE(is_valid_utf8(s({0xF0, 0x8F, 0xBF, 0xBF})));
}

TEST(Utf8, RejectsSurrogates) {
    EXPECT_FALSE(is_valid_utf8(s({0xED, 0xA0, 0x80})));                    // U+D800 [MQTT-1.5.4-1]
    EXPECT_FALSE(is_valid_utf8(s({0xED, 0xBF, 0xBF})));                    // U+DFFF
    EXPECT_FALSE(is_valid_utf8(s({0xED, 0xA0, 0xBD, 0xED, 0xB2, 0xA9})));  // CESU-8 pair
}

TEST(Utf8, RejectsBeyondMaximumCodePoint) {
    EXPECT_FALSE(is_valid_utf8(s({0xF4, 0x90, 0x80, 0x80})));  // U+110000
    EXPECT_FALSE(is_valid_utf8(s({0xF5, 0x80, 0x80, 0x80})));
    EXPECT_FALSE(is_valid_utf8(s({0xF8, 0x88, 0x80, 0x80, 0x80})));
    EXPECT_FALSE(is_valid_utf8(s({0xFE})));
    EXPECT_FALSE(is_valid_utf8(s({0xFF})));
}

TEST(Utf8, RejectsTruncatedSequences) {
    EXPECT_FALSE(is_valid_utf8(s({0xC3})));
    EXPECT_FALSE(is_valid_utf8(s({0xE2, 0x82})));
    EXPECT_FALSE(is_valid_utf8(s({0xF0, 0x9F, 0x98})));
    EXPECT_FALSE(is_valid_utf8(s({'a', 0xE2, 0x82})));
}

TEST(Utf8, RejectsStrayAndBadContinuationBytes) {
    EXPECT_FALSE(is_valid_utf8(s({0x80})));
    EXPECT_FALSE(is_valid_utf8(s({'a', 0xBF, 'b'})));
    EXPECT_FALSE(is_valid_utf8(s({0xC3, 0x28})));
    EXPECT_FALSE(is_valid_utf8(s({0xE2, 0x28, 0xA1})));
    EXPECT_FALSE(is_valid_utf8(s({0xE2, 0x82, 0x28})));
    EXPECT_FALSE(is_valid_utf8(s({0xF0, 0x9F, 0x98, 0x28})));
}

// Every string field a packet carries goes through the same check.
TEST(Utf8InPackets, InvalidTopicIsMalformed) {
    const Bytes pub = packet(0x30, str("a\xED\xA0\x80") + bytes("x"));
    EXPECT_EQ(decode_error(pub, kV311), ReasonCode::MalformedPacket);
    const Bytes pub_null = packet(0x30, Bytes{0x00, 0x03, 'a', 0x00, 'b'});
    EXPECT_EQ(decode_error(pub_null, kV5), ReasonCode::MalformedPacket);
}

TEST(Utf8InPackets, InvalidFilterIsMalformed) {
    const Bytes sub = packet(0x82, bytes({0x00, 0x01}) + str("\xC0\xAF") + bytes({0x00}));
    EXPECT_EQ(decode_error(sub, kV311), ReasonCode::MalformedPacket);
    const Bytes unsub = packet(0xA2, bytes({0x00, 0x01, 0x00}) + str("\xFF"));
    EXPECT_EQ(decode_error(unsub, kV5), ReasonCode::MalformedPacket);
}

TEST(Utf8InPackets, InvalidClientIdUsernameAndWillTopicAreMalformed) {
    const Bytes head = str("MQTT") + bytes({0x04});
    const Bytes bad = str("\xC3");
    EXPECT_EQ(decode_error(packet(0x10, head + bytes({0x02, 0x00, 0x3C}) + bad), kV311),
              ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(packet(0x10, head + bytes({0x82, 0x00, 0x3C}) + str("id") + bad), kV311),
              ReasonCode::MalformedPacket);
    EXPECT_EQ(decode_error(
                  packet(0x10, head + bytes({0x06, 0x00, 0x3C}) + str("id") + bad + str("payload")),
                  kV311),
              ReasonCode::MalformedPacket);
}

TEST(Utf8InPackets, PasswordIsBinaryNotUtf8) {
    const Bytes body = str("MQTT") + bytes({0x04, 0xC2, 0x00, 0x3C}) + str("id") + str("user") +
                       str(std::string_view("\xFF\x00\xC0", 3));
    const auto connect = decode_as<Connect>(packet(0x10, body), kV311);
    ASSERT_TRUE(connect.password.has_value());
    EXPECT_EQ(*connect.password, std::string("\xFF\x00\xC0", 3));
}

TEST(Utf8InPackets, InvalidStringPropertyAndUserPropertyAreMalformed) {
    // PUBLISH "t" QoS 0 with Content Type "\xC3"
    const Bytes content_type = packet(0x30, str("t") + bytes({0x04, 0x03, 0x00, 0x01, 0xC3}));
    EXPECT_EQ(decode_error(content_type, kV5), ReasonCode::MalformedPacket);
    const Bytes user_value =
        packet(0x30, str("t") + bytes({0x08, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 0x80}));
    EXPECT_EQ(decode_error(user_value, kV5), ReasonCode::MalformedPacket);
    const Bytes user_name =
        packet(0x30, str("t") + bytes({0x08, 0x26, 0x00, 0x01, 0x00, 0x00, 0x01, 'v'}));
    EXPECT_EQ(decode_error(user_name, kV5), ReasonCode::MalformedPacket);
}

}  // namespace
}  // namespace petrel::protocol::testing
