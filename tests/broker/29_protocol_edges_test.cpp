// Protocol edges through the real broker, by raw packets (issue 11): the MQTT 3.1 CONNACK
// and fixed-header rules, an empty will topic, a client Maximum Packet Size smaller than
// the CONNACK, properties in the wrong packet, and acknowledgements of the wrong kind.
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "support/broker_process.hpp"
#include "support/raw_bytes.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PropertyId;

std::string frame_of(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out += static_cast<char>(v);
    }
    return out;
}

// The CONNECT bytes `client` would send for `connect`.
std::string encoded(const protocol::Connect& connect) {
    std::string bytes;
    protocol::encode(connect, connect.version, bytes);
    return bytes;
}

// --- 1. CONNACK for MQTT 3.1 --------------------------------------------------------------

// MQTT 3.1 (3.2) has no Session Present: the first byte of the CONNACK's variable header
// is reserved, so a resumed 3.1 session still gets 20 02 00 00. 3.1.1 gets 01
// [MQTT-3.2.2-2].
TEST(ProtocolEdgesConnack, Mqtt31ResumedSessionGetsAReservedZeroByte) {
    BrokerProcess broker;
    for (const ProtocolVersion version : {ProtocolVersion::V31, ProtocolVersion::V311}) {
        SCOPED_TRACE(std::string(version_name(version)));
        const std::string id = "resume-" + std::string(version_name(version));
        {
            RawClient first(broker.port(), version);
            ASSERT_TRUE(first.send_raw(encoded(first.connect_packet(id, false))));
            auto frame = first.receive_frame();
            ASSERT_TRUE(frame);
            EXPECT_EQ(*frame, frame_of({0x20, 0x02, 0x00, 0x00})) << bytes_hex(*frame);
            first.disconnect();
        }
        RawClient again(broker.port(), version);
        ASSERT_TRUE(again.send_raw(encoded(again.connect_packet(id, false))));
        auto frame = again.receive_frame();
        ASSERT_TRUE(frame);
        const int present = version == ProtocolVersion::V31 ? 0x00 : 0x01;
        EXPECT_EQ(*frame, frame_of({0x20, 0x02, present, 0x00})) << bytes_hex(*frame);
    }
}

}  // namespace
}  // namespace petrel::test
