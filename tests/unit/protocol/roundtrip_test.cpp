// Encode -> decode round trips for every packet type and version, encoded_size, and the
// guarantee that decode never reads past its span.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>

#include "sample_packets.hpp"
#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

class RoundTrip : public ::testing::TestWithParam<ProtocolVersion> {};

INSTANTIATE_TEST_SUITE_P(Versions, RoundTrip, ::testing::Values(kV31, kV311, kV5),
                         [](const auto& info) {
                             return std::string("Level") +
                                    std::to_string(static_cast<int>(info.param));
                         });

TEST_P(RoundTrip, EveryPacketTypeSurvivesEncodeThenDecode) {
    const ProtocolVersion version = GetParam();
    std::set<PacketType> covered;
    for (const Packet& original : sample_packets(version)) {
        const Bytes encoded = encode_bytes(original, version);
        const auto decoded = decode_bytes(encoded, version);
        ASSERT_TRUE(decoded) << to_string(packet_type(original)) << ": " << decoded.error().what;
        EXPECT_TRUE(same_packet(*decoded, original)) << to_string(packet_type(original));
        // Decode -> encode gives the same bytes back.
        EXPECT_EQ(encode_bytes(*decoded, version), encoded) << to_string(packet_type(original));
        covered.insert(packet_type(original));
    }
    EXPECT_EQ(covered.size(), version == kV5 ? 15U : 14U);
}

TEST_P(RoundTrip, EncodedSizeMatchesEncode) {
    const ProtocolVersion version = GetParam();
    for (const Packet& p : sample_packets(version)) {
        std::string out = "prefix";  // encode appends
        encode(p, version, out);
        EXPECT_EQ(out.substr(0, 6), "prefix");
        EXPECT_EQ(encoded_size(p, version), out.size() - 6) << to_string(packet_type(p));
    }
}

TEST_P(RoundTrip, FrameSeesTheWholePacket) {
    const ProtocolVersion version = GetParam();
    for (const Packet& p : sample_packets(version)) {
        const Bytes encoded = encode_bytes(p, version);
        const FrameResult result = frame(ByteView(encoded.data(), encoded.size()));
        EXPECT_EQ(result.status, FrameStatus::Complete);
        EXPECT_EQ(result.frame.total_length(), encoded.size());
        EXPECT_EQ(result.frame.type(), packet_type(p));
    }
}

// Each prefix is copied into a buffer of exactly its size, so reading one byte too far is
// a heap overflow that AddressSanitizer (PETREL_SANITIZE=ON) reports.
TEST_P(RoundTrip, EveryPrefixFailsCleanly) {
    const ProtocolVersion version = GetParam();
    for (const Packet& p : sample_packets(version)) {
        const Bytes encoded = encode_bytes(p, version);
        for (std::size_t n = 0; n < encoded.size(); ++n) {
            auto exact = std::make_unique<std::uint8_t[]>(n);
            std::copy_n(encoded.begin(), n, exact.get());
            const ByteView view(exact.get(), n);
            EXPECT_NE(frame(view).status, FrameStatus::Complete);
            const auto result = decode(view, version);
            ASSERT_FALSE(result) << to_string(packet_type(p)) << " prefix " << n;
            EXPECT_EQ(result.error().code, ReasonCode::MalformedPacket);
            EXPECT_STRNE(result.error().what, "");  // the log says why
        }
    }
}

// A packet whose remaining length is shortened (body truncated, header rewritten to match)
// must also fail without reading past the shorter body.
TEST_P(RoundTrip, TruncatedBodiesWithConsistentHeaderNeverOverread) {
    const ProtocolVersion version = GetParam();
    for (const Packet& p : sample_packets(version)) {
        const Bytes encoded = encode_bytes(p, version);
        const FrameResult framed = frame(ByteView(encoded.data(), encoded.size()));
        const Bytes body(encoded.begin() + static_cast<std::ptrdiff_t>(framed.frame.header_length),
                         encoded.end());
        for (std::size_t n = 0; n < body.size(); ++n) {
            const Bytes shorter = packet(encoded[0], Bytes(body.begin(), body.begin() + n));
            auto exact = std::make_unique<std::uint8_t[]>(shorter.size());
            std::copy(shorter.begin(), shorter.end(), exact.get());
            // Some truncations are valid packets (e.g. a PUBLISH with a shorter payload);
            // the point is that none of them crashes or overreads.
            const auto result = decode(ByteView(exact.get(), shorter.size()), version);
            if (!result) {
                EXPECT_TRUE(is_failure(result.error().code));
            }
        }
    }
}

TEST_P(RoundTrip, PeekConnectLevelOnEncodedConnect) {
    const ProtocolVersion version = GetParam();
    Connect c;
    c.version = version;
    const Bytes encoded = encode_bytes(c, version);
    EXPECT_EQ(peek_connect_level(ByteView(encoded.data(), encoded.size())),
              static_cast<std::uint8_t>(version));
}

TEST(RoundTrip, LargePayloadUsesMultiByteRemainingLength) {
    Publish p;
    p.topic = "big";
    p.payload = make_payload(std::string(2'097'152, 'z'));
    const Bytes encoded = encode_bytes(p, kV311);
    const FrameResult framed = frame(ByteView(encoded.data(), encoded.size()));
    EXPECT_EQ(framed.frame.header_length, 5U);
    const auto decoded = decode_as<Publish>(encoded, kV311);
    EXPECT_EQ(decoded.payload->size(), 2'097'152U);
}

TEST(RoundTrip, ConnectUsesItsOwnVersion) {
    // A CONNECT announces the version it was built for, whichever version is passed.
    Connect c;
    c.version = ProtocolVersion::V5;
    c.properties.add_number(PropertyId::SessionExpiryInterval, 1);
    const Bytes encoded = encode_bytes(c, kV311);
    EXPECT_EQ(encoded[8], 5);
    EXPECT_TRUE(same_packet(decode_as<Connect>(encoded, kV311), c));
}

TEST(EncodeLimits, OverlongStringIsTruncatedConsistently) {
    // A string field cannot exceed 65,535 bytes (1.5.4); the encoder keeps the length prefix
    // and the bytes in agreement, so the packet stays decodable and encoded_size() exact.
    Publish p;
    p.topic = std::string(70'000, 't');
    const Bytes encoded = encode_bytes(p, kV311);
    EXPECT_EQ(encoded_size(p, kV311), encoded.size());
    const auto decoded = decode_as<Publish>(encoded, kV311);
    EXPECT_EQ(decoded.topic.size(), 65'535U);
}

TEST(EncodeLimits, UndefinedPropertyIdIsLeftOut) {
    Disconnect d;
    d.reason = ReasonCode::ServerBusy;
    d.properties.add_number(static_cast<PropertyId>(0x7F), 1);
    d.properties.add_text(PropertyId::ReasonString, "busy");
    const Bytes encoded = encode_bytes(d, kV5);
    EXPECT_EQ(encoded_size(d, kV5), encoded.size());
    const auto decoded = decode_as<Disconnect>(encoded, kV5);
    EXPECT_EQ(decoded.properties.size(), 1U);
    EXPECT_EQ(decoded.properties.text(PropertyId::ReasonString), "busy");
}

}  // namespace
}  // namespace petrel::protocol::testing
