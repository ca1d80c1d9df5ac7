// Variable byte integers (1.5.5) and fixed header framing (2.1).
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

struct VarintCase {
    std::uint32_t value;
    Bytes encoded;
};

class VarintTest : public ::testing::TestWithParam<VarintCase> {};

// Table 1-1 boundaries: each length's smallest and largest value.
INSTANTIATE_TEST_SUITE_P(
    Boundaries, VarintTest,
    ::testing::Values(VarintCase{0, bytes({0x00})}, VarintCase{127, bytes({0x7F})},
                      VarintCase{128, bytes({0x80, 0x01})}, VarintCase{16'383, bytes({0xFF, 0x7F})},
                      VarintCase{16'384, bytes({0x80, 0x80, 0x01})},
                      VarintCase{2'097'151, bytes({0xFF, 0xFF, 0x7F})},
                      VarintCase{2'097'152, bytes({0x80, 0x80, 0x80, 0x01})},
                      VarintCase{268'435'455, bytes({0xFF, 0xFF, 0xFF, 0x7F})}));

TEST_P(VarintTest, EncodesToSpecBytes) {
    std::string out;
    encode_varint(GetParam().value, out);
    EXPECT_EQ(bytes(out), GetParam().encoded);
    EXPECT_EQ(varint_size(GetParam().value), GetParam().encoded.size());
}

TEST_P(VarintTest, FramesAsRemainingLength) {
    const Bytes header = Bytes{0x30} + GetParam().encoded;
    const FrameResult result = frame(ByteView(header.data(), header.size()));
    // Only the header is present, so a non-zero length is Incomplete but already parsed.
    EXPECT_EQ(result.status,
              GetParam().value == 0 ? FrameStatus::Complete : FrameStatus::Incomplete);
    EXPECT_EQ(result.frame.remaining_length, GetParam().value);
    EXPECT_EQ(result.frame.header_length, header.size());
    EXPECT_EQ(result.frame.first_byte, 0x30);
    EXPECT_EQ(result.frame.type(), PacketType::Publish);
}

TEST(Varint, MaxRemainingLengthConstantMatchesFourBytes) {
    EXPECT_EQ(varint_size(kMaxRemainingLength), 4U);
    EXPECT_EQ(varint_size(kMaxRemainingLength + 1), 5U);
}

TEST(Frame, EmptyBufferIsIncomplete) {
    const FrameResult result = frame(ByteView{});
    EXPECT_EQ(result.status, FrameStatus::Incomplete);
    EXPECT_EQ(result.frame.header_length, 0U);
}

TEST(Frame, FirstByteOnlyIsIncompleteWithoutHeader) {
    const Bytes data = bytes({0x30});
    const FrameResult result = frame(ByteView(data.data(), data.size()));
    EXPECT_EQ(result.status, FrameStatus::Incomplete);
    EXPECT_EQ(result.frame.header_length, 0U);
}

TEST(Frame, PartialVarintIsIncompleteWithoutHeader) {
    const Bytes data = bytes({0x30, 0x80, 0x80});
    const FrameResult result = frame(ByteView(data.data(), data.size()));
    EXPECT_EQ(result.status, FrameStatus::Incomplete);
    EXPECT_EQ(result.frame.header_length, 0U);
}

TEST(Frame, FifthLengthByteIsMalformed) {
    // [MQTT-1.5.5-1] the fourth byte may not carry a continuation bit.
    const Bytes data = bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
    EXPECT_EQ(frame(ByteView(data.data(), data.size())).status, FrameStatus::Malformed);
    // Known malformed as soon as the fourth byte arrives.
    EXPECT_EQ(frame(ByteView(data.data(), 5)).status, FrameStatus::Malformed);
    EXPECT_EQ(decode_error(data, kV5), ReasonCode::MalformedPacket);
}

TEST(Frame, PacketTypeZeroIsMalformed) {
    const Bytes data = bytes({0x00, 0x00});
    EXPECT_EQ(frame(ByteView(data.data(), data.size())).status, FrameStatus::Malformed);
    EXPECT_EQ(frame(ByteView(data.data(), 1)).status, FrameStatus::Malformed);
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);
}

TEST(Frame, CompleteWhenAllBytesPresentAndIgnoresFollowingPacket) {
    const Bytes data = bytes({0xC0, 0x00, 0xD0, 0x00});  // PINGREQ then PINGRESP
    const FrameResult result = frame(ByteView(data.data(), data.size()));
    EXPECT_EQ(result.status, FrameStatus::Complete);
    EXPECT_EQ(result.frame.total_length(), 2U);
    EXPECT_EQ(result.frame.type(), PacketType::Pingreq);
}

TEST(Frame, IncompleteBodyReportsHeaderSoOversizeCanBeRejectedEarly) {
    const Bytes data = bytes({0x30, 0x80, 0x80, 0x80, 0x01, 0x00});
    const FrameResult result = frame(ByteView(data.data(), data.size()));
    EXPECT_EQ(result.status, FrameStatus::Incomplete);
    EXPECT_EQ(result.frame.remaining_length, 2'097'152U);
    EXPECT_EQ(result.frame.header_length, 5U);
    EXPECT_EQ(result.frame.total_length(), 2'097'157U);
}

TEST(Frame, NonMinimalLengthIsAcceptedByValue) {
    // The minimum-bytes rule binds senders; the value is still unambiguous.
    const Bytes data = bytes({0xC0, 0x80, 0x00});
    const FrameResult result = frame(ByteView(data.data(), data.size()));
    EXPECT_EQ(result.status, FrameStatus::Complete);
    EXPECT_EQ(result.frame.remaining_length, 0U);
    EXPECT_EQ(result.frame.header_length, 3U);
}

TEST(Decode, TruncatedPacketIsMalformed) {
    const Bytes data = bytes({0x40, 0x02, 0x00});
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);
}

TEST(Decode, TrailingBytesAfterPacketAreMalformed) {
    const Bytes data = bytes({0xC0, 0x00, 0x00});
    EXPECT_EQ(decode_error(data, kV311), ReasonCode::MalformedPacket);
}

TEST(Decode, EmptyInputIsMalformed) {
    EXPECT_EQ(decode_error(Bytes{}, kV5), ReasonCode::MalformedPacket);
}

}  // namespace
}  // namespace petrel::protocol::testing
