// The outgoing-packet rule both roles share: problem information left out where the peer
// disallows it or where it would make the packet too large, and nothing over the limit.
#include "petrel/connection/outgoing_packet.hpp"

#include <gtest/gtest.h>

#include "petrel/protocol/codec.hpp"

namespace petrel::connection {
namespace {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

protocol::Properties problem_information() {
    protocol::Properties properties;
    properties.add_text(PropertyId::ReasonString, std::string(40, 'r'));
    properties.add_user_property("k", "v");
    return properties;
}

protocol::Packet decoded(const std::string& bytes) {
    auto result = protocol::decode(
        protocol::ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
        ProtocolVersion::V5);
    EXPECT_TRUE(result);
    return result ? std::move(result).value() : protocol::Packet{};
}

TEST(EncodeForPeer, WithinTheLimitsAsItIs) {
    const protocol::Puback puback{1, ReasonCode::QuotaExceeded, problem_information()};
    std::string out = "prefix";
    const EncodedPacket encoded = encode_for_peer(puback, {ProtocolVersion::V5, 0, true}, out);
    EXPECT_TRUE(encoded.fits);
    EXPECT_EQ(encoded.size, out.size() - 6);
    EXPECT_EQ(out.substr(0, 6), "prefix");  // appended
    EXPECT_EQ(std::get<protocol::Puback>(decoded(out.substr(6))).properties, puback.properties);
}

TEST(EncodeForPeer, NoProblemInformationWhereThePeerAskedForNone) {
    const protocol::Puback puback{1, ReasonCode::QuotaExceeded, problem_information()};
    std::string out;
    EXPECT_TRUE(encode_for_peer(puback, {ProtocolVersion::V5, 0, false}, out).fits);
    EXPECT_TRUE(std::get<protocol::Puback>(decoded(out)).properties.empty());
    // CONNACK, DISCONNECT and PUBLISH may carry it all the same.
    const protocol::Disconnect disconnect{ReasonCode::ProtocolError, problem_information()};
    out.clear();
    EXPECT_TRUE(encode_for_peer(disconnect, {ProtocolVersion::V5, 0, false}, out).fits);
    EXPECT_FALSE(std::get<protocol::Disconnect>(decoded(out)).properties.empty());
}

TEST(EncodeForPeer, StrippedWhenItWouldMakeThePacketTooLarge) {
    const protocol::Disconnect disconnect{ReasonCode::ProtocolError, problem_information()};
    std::string out;
    const EncodedPacket encoded = encode_for_peer(disconnect, {ProtocolVersion::V5, 10, true}, out);
    EXPECT_TRUE(encoded.fits);
    EXPECT_LE(out.size(), 10u);
    EXPECT_TRUE(std::get<protocol::Disconnect>(decoded(out)).properties.empty());
}

TEST(EncodeForPeer, APublishOverTheLimitIsNotWrittenAtAll) {
    protocol::Publish publish;
    publish.topic = "t";
    publish.properties = problem_information();
    publish.payload = protocol::make_payload(std::string(100, 'x'));
    std::string out = "keep";
    const EncodedPacket encoded = encode_for_peer(publish, {ProtocolVersion::V5, 50, true}, out);
    EXPECT_FALSE(encoded.fits);
    EXPECT_GT(encoded.size, 50u);
    EXPECT_EQ(out, "keep");
}

}  // namespace
}  // namespace petrel::connection
