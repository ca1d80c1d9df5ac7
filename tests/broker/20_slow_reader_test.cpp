// A client that stops reading: its unwritten output is bounded (max_output_buffer_bytes);
// beyond it the broker disconnects it (MQTT 5: DISCONNECT 0x97 Quota exceeded) and goes on
// serving everyone else.
#include <gtest/gtest.h>

#include <string>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

TEST(SlowReaderTest, ClientThatDoesNotReadIsDisconnectedOthersAreServed) {
    ignore_sigpipe();
    BrokerProcess broker("threads 2\nmax_output_buffer_bytes 1048576\n");
    const std::string stalled_id = client_id_on_worker("stalled", 0, 2);
    const std::string reader_id = client_id_on_worker("reader", 1, 2);
    const std::string publisher_id = client_id_on_worker("publisher", 1, 2);

    RawClient stalled(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(stalled.connect(stalled_id));
    ASSERT_TRUE(stalled.subscribe("flood/#", 0));
    RawClient reader(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(reader.connect(reader_id));
    ASSERT_TRUE(reader.subscribe("flood/last", 1));
    RawClient publisher(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(publisher.connect(publisher_id));

    // 32 MiB of QoS 0 messages: far more than the socket buffers of a client that never
    // reads can hold, so the rest waits in the broker until the limit is passed.
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 512; ++i) {
        ASSERT_TRUE(publisher.publish("flood/data", chunk, 0));
    }
    EXPECT_TRUE(broker.wait_for_log("max_output_buffer_bytes 1048576), disconnecting", 10s))
        << broker.log();
    EXPECT_NE(broker.log().find("client '" + stalled_id + "'"), std::string::npos);

    // Everyone else is still served.
    ASSERT_TRUE(publisher.publish("flood/last", "still here", 1));
    auto got = reader.receive_publish(5s);
    ASSERT_TRUE(got);
    EXPECT_EQ(payload_of(*got), "still here");
    EXPECT_TRUE(broker.running());
}

}  // namespace
}  // namespace petrel::test
