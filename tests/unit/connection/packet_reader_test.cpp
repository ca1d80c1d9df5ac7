// The packet reader fed raw bytes: framing, the Maximum Packet Size, the first-packet
// rules, and what a CONNECT that fails to decode gets back.
#include "petrel/connection/packet_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace petrel::connection {
namespace {

using protocol::PacketType;
using protocol::ProtocolVersion;
using protocol::ReasonCode;
using Kind = ReadResult::Kind;

std::vector<std::uint8_t> encoded(const protocol::Packet& packet, ProtocolVersion version) {
    std::string out;
    protocol::encode(packet, version, out);
    return {out.begin(), out.end()};
}

protocol::Connect connect_of(ProtocolVersion version) {
    protocol::Connect connect;
    connect.version = version;
    connect.client_id = "reader";
    return connect;
}

ReadResult read(const std::vector<std::uint8_t>& bytes, ReadState state) {
    return read_packet(protocol::ByteView(bytes.data(), bytes.size()), state);
}

constexpr ReadState kAwaitingConnect{ProtocolVersion::V311, true, 0};
constexpr ReadState kConnected311{ProtocolVersion::V311, false, 0};

TEST(PacketReader, ReadsOnePacketAndSaysHowManyBytesItTook) {
    auto bytes = encoded(connect_of(ProtocolVersion::V5), ProtocolVersion::V5);
    const std::size_t connect_size = bytes.size();
    const auto ping = encoded(protocol::Pingreq{}, ProtocolVersion::V5);
    bytes.insert(bytes.end(), ping.begin(), ping.end());
    const ReadResult result = read(bytes, kAwaitingConnect);
    ASSERT_EQ(result.kind, Kind::Packet);
    EXPECT_EQ(result.consumed, connect_size);
    ASSERT_TRUE(std::holds_alternative<protocol::Connect>(result.packet));
    EXPECT_EQ(std::get<protocol::Connect>(result.packet).version, ProtocolVersion::V5);
}

TEST(PacketReader, WaitsForTheRestOfAPacket) {
    const auto bytes = encoded(connect_of(ProtocolVersion::V311), ProtocolVersion::V311);
    for (std::size_t size = 1; size < bytes.size(); ++size) {
        const std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + size);
        EXPECT_EQ(read(part, kAwaitingConnect).kind, Kind::Incomplete) << size << " bytes";
    }
}

TEST(PacketReader, TheFirstPacketMustBeConnect) {
    // [MQTT-3.1.0-1] decided from the first byte: an HTTP request is not waited for.
    const std::vector<std::uint8_t> http = {'G', 'E', 'T', ' '};
    const ReadResult result = read(http, kAwaitingConnect);
    EXPECT_EQ(result.kind, Kind::NotConnectFirst);
    EXPECT_EQ(result.first_type, static_cast<PacketType>('G' >> 4));
    EXPECT_EQ(read(encoded(protocol::Pingreq{}, ProtocolVersion::V311), kAwaitingConnect).kind,
              Kind::NotConnectFirst);
}

TEST(PacketReader, ASecondConnectIsAProtocolError) {
    // [MQTT-3.1.0-2], whatever it holds: even a bad protocol level gives 0x82, not 0x84.
    auto bytes = encoded(connect_of(ProtocolVersion::V311), ProtocolVersion::V311);
    bytes[8] = 9;  // protocol level
    const ReadResult result = read(bytes, kConnected311);
    ASSERT_EQ(result.kind, Kind::Violation);
    EXPECT_EQ(result.error.code, ReasonCode::ProtocolError);
}

TEST(PacketReader, APacketOverTheMaximumIsRefusedFromItsHeader) {
    // A 10 MB PUBLISH announced in its fixed header: refused before its body arrives.
    const std::vector<std::uint8_t> header = {0x30, 0x80, 0xAD, 0xE2, 0x04};
    const ReadResult result = read(header, ReadState{ProtocolVersion::V5, false, 1024});
    ASSERT_EQ(result.kind, Kind::Violation);
    EXPECT_EQ(result.error.code, ReasonCode::PacketTooLarge);
    EXPECT_EQ(read(header, ReadState{ProtocolVersion::V5, false, 0}).kind, Kind::Incomplete);
}

TEST(PacketReader, AMalformedFixedHeaderEndsTheConnection) {
    // A Remaining Length of five bytes.
    const std::vector<std::uint8_t> bytes = {0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    const ReadResult result = read(bytes, kConnected311);
    ASSERT_EQ(result.kind, Kind::Violation);
    EXPECT_EQ(result.error.code, ReasonCode::MalformedPacket);
}

TEST(PacketReader, AnUnknownProtocolLevelIsAnsweredInAVersionTheClientReads) {
    for (const std::uint8_t level : {std::uint8_t{6}, std::uint8_t{2}}) {
        auto bytes = encoded(connect_of(ProtocolVersion::V311), ProtocolVersion::V311);
        bytes[8] = level;
        const ReadResult result = read(bytes, kAwaitingConnect);
        ASSERT_EQ(result.kind, Kind::RefuseConnect) << int{level};
        EXPECT_EQ(result.error.code, ReasonCode::UnsupportedProtocolVersion);
        EXPECT_EQ(result.version, ProtocolVersion::V311);
    }
}

TEST(PacketReader, AMalformedV5ConnectIsToldWhyButA311OneIsNot) {
    // An empty will topic [MQTT-4.7.3-1]: v5 gets CONNACK 0x81, 3.1.1 only the close.
    for (const ProtocolVersion version : {ProtocolVersion::V5, ProtocolVersion::V311}) {
        protocol::Connect connect = connect_of(version);
        connect.will = protocol::Will{"", protocol::make_payload("x"), 0, false, {}};
        const ReadResult result = read(encoded(connect, version), kAwaitingConnect);
        if (version == ProtocolVersion::V5) {
            ASSERT_EQ(result.kind, Kind::RefuseConnect);
            EXPECT_EQ(result.version, ProtocolVersion::V5);
        } else {
            ASSERT_EQ(result.kind, Kind::Violation);
        }
        EXPECT_EQ(result.error.code, ReasonCode::MalformedPacket);
    }
}

TEST(PacketReader, PacketsDecodeInTheConnectionsVersion) {
    // A v5 DISCONNECT with a reason code is malformed for 3.1.1 (no variable header).
    const auto disconnect = encoded(protocol::Disconnect{ReasonCode::DisconnectWithWillMessage, {}},
                                    ProtocolVersion::V5);
    EXPECT_EQ(read(disconnect, ReadState{ProtocolVersion::V5, false, 0}).kind, Kind::Packet);
    EXPECT_EQ(read(disconnect, kConnected311).kind, Kind::Violation);
}

}  // namespace
}  // namespace petrel::connection
