// Hostile clients against the real broker: a CONNECT trickled byte by byte, a client that
// never reads, a flood of connections, garbage after a valid CONNECT, a huge Remaining
// Length. In every case the well-behaved clients next to them keep getting their messages.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

constexpr unsigned kThreads = 2;

#if defined(__SANITIZE_ADDRESS__) || defined(PETREL_SANITIZED_BROKER)
constexpr bool kAddressSanitizer = true;  // the broker is built the same way as this test
#else
constexpr bool kAddressSanitizer = false;
#endif

// VmRSS of `pid` in KiB, from /proc.
long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

// A publisher on worker 0 and a subscriber on worker 1 that must keep working.
class WellBehavedPair {
  public:
    WellBehavedPair(const BrokerProcess& broker, const std::string& stem)
        : subscriber_(connected(broker.port(), ProtocolVersion::V5,
                                client_id_on_worker(stem + "-sub", 1, kThreads), true)),
          publisher_(connected(broker.port(), ProtocolVersion::V311,
                               client_id_on_worker(stem + "-pub", 0, kThreads), true)),
          topic_("fine/" + stem) {
        EXPECT_TRUE(subscriber_->subscribe(topic_, 1));
    }
    // Publishes `count` QoS 1 messages and checks each arrives, in order.
    void exchange(int count) {
        for (int i = 0; i < count; ++i) {
            ASSERT_TRUE(publisher_->publish(topic_, std::to_string(i), 1));
        }
        for (int i = 0; i < count; ++i) {
            auto got = subscriber_->receive_publish();
            ASSERT_TRUE(got) << "message " << i;
            EXPECT_EQ(payload_of(*got), std::to_string(i));
        }
    }

  private:
    std::unique_ptr<RawClient> subscriber_;
    std::unique_ptr<RawClient> publisher_;
    std::string topic_;
};

TEST(HostileClientTest, ConnectTrickledByteByByteIsClosedAtTheConnectTimeout) {
    BrokerProcess broker("threads 2\nconnect_timeout 2\n");
    WellBehavedPair pair(broker, "slowloris");
    RawClient slow(broker.port(), ProtocolVersion::V311);
    std::string connect;
    protocol::encode(slow.connect_packet("slowloris-client"), ProtocolVersion::V311, connect);
    const auto started = std::chrono::steady_clock::now();
    bool closed = false;
    for (char byte : connect) {
        if (!slow.send_raw(std::string(1, byte)) || slow.wait_closed(400ms)) {
            closed = true;
            break;
        }
        pair.exchange(1);  // served meanwhile
    }
    closed = closed || slow.wait_closed(3s);
    EXPECT_TRUE(closed);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    pair.exchange(5);
}

TEST(HostileClientTest, ClientThatNeverReadsKeepsTheBrokersMemoryBounded) {
    ignore_sigpipe();
    BrokerProcess broker("threads 2\nmax_output_buffer_bytes 4194304\n");
    WellBehavedPair pair(broker, "reader");
    RawClient stalled(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(stalled.connect(client_id_on_worker("stalled", 1, kThreads)));
    ASSERT_TRUE(stalled.subscribe("bulk/#", 0));
    RawClient flooder(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(flooder.connect(client_id_on_worker("flooder", 0, kThreads)));
    const long rss_before = resident_kib(broker.pid());
    const std::string chunk(256 * 1024, 'x');
    for (int i = 0; i < 256; ++i) {  // 64 MiB
        ASSERT_TRUE(flooder.publish("bulk/data", chunk, 0));
    }
    EXPECT_TRUE(broker.wait_for_log("disconnecting", 10s));
    pair.exchange(10);
    const long rss_after = resident_kib(broker.pid());
    // 64 MiB went through; what stays is the limit plus socket-sized slack. Under
    // AddressSanitizer freed memory sits in its quarantine (256 MiB by default), so the
    // resident size says nothing there: the Release run asserts it.
    if (!kAddressSanitizer) {
        EXPECT_LT(rss_after - rss_before, 48 * 1024)
            << "VmRSS " << rss_before << " -> " << rss_after << " KiB";
    }
}

TEST(HostileClientTest, ConnectionFloodDoesNotStopService) {
    ignore_sigpipe();
    BrokerProcess broker("threads 2\nconnect_timeout 3\n");
    WellBehavedPair pair(broker, "flood");
    std::vector<std::unique_ptr<RawClient>> flood;
    for (int i = 0; i < 300; ++i) {
        auto client = std::make_unique<RawClient>(broker.port(), ProtocolVersion::V311);
        if (i % 2 == 0) {  // half send a CONNECT, half send nothing at all
            client->send(client->connect_packet("flood-" + std::to_string(i)));
        }
        flood.push_back(std::move(client));
        if (i % 50 == 0) {
            pair.exchange(2);
        }
    }
    pair.exchange(20);
    // The silent half is closed at the connect timeout.
    EXPECT_TRUE(flood[1]->wait_closed(6s));
    flood.clear();
    pair.exchange(5);
    EXPECT_TRUE(broker.running());
}

TEST(HostileClientTest, GarbageAfterAValidConnectClosesOnlyThatConnection) {
    BrokerProcess broker("threads 2\n");
    WellBehavedPair pair(broker, "garbage");
    RawClient bad(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(bad.connect(client_id_on_worker("garbage-client", 1, kThreads)));
    ASSERT_TRUE(bad.send_raw(std::string("\xF0\x00\x00\x12GET / HTTP/1.1\r\n\r\n", 22)));
    EXPECT_TRUE(bad.wait_closed());
    pair.exchange(5);
}

TEST(HostileClientTest, HugeRemainingLengthIsRefusedBeforeItsBytesArrive) {
    BrokerProcess broker("threads 2\nmax_packet_size 1048576\n");
    WellBehavedPair pair(broker, "huge");
    RawClient huge(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(huge.connect(client_id_on_worker("huge-client", 0, kThreads)));
    // PUBLISH with a Remaining Length of 268,435,455: only the header is sent.
    ASSERT_TRUE(huge.send_raw(std::string("\x30\xFF\xFF\xFF\x7F", 5)));
    auto disconnect = huge.expect<protocol::Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, ReasonCode::PacketTooLarge);
    EXPECT_TRUE(huge.wait_closed());

    // A fifth length byte is malformed whatever the limit.
    RawClient five(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(five.connect(client_id_on_worker("five-client", 1, kThreads)));
    ASSERT_TRUE(five.send_raw(std::string("\x30\xFF\xFF\xFF\xFF\x01", 6)));
    auto malformed = five.expect<protocol::Disconnect>();
    ASSERT_TRUE(malformed);
    EXPECT_EQ(malformed->reason, ReasonCode::MalformedPacket);
    pair.exchange(5);
}

}  // namespace
}  // namespace petrel::test
