// The store at its limits and when it is damaged: a full map (QoS 1/2 refused, nothing
// acknowledged lost, recovery once space returns), map growth, offline queues larger than
// the in-memory window, max_queued_bytes, `petrel --check-store`, and a corrupt,
// truncated or newer-schema store, which the broker refuses to start on rather than
// starting empty.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/store_files.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PacketId;
using protocol::Publish;

// A persistent session subscribed to `filter` at QoS 1, left offline.
void offline_subscriber(std::uint16_t port, const std::string& id, const std::string& filter) {
    auto subscriber = connected(port, ProtocolVersion::V5, id, false);
    ASSERT_TRUE(subscriber->subscribe(filter, 1));
    subscriber->disconnect();
}

// "m0042 xxxx...", padded to `size` bytes: numbered so that order and loss show.
std::string numbered(int number, std::size_t size = 0) {
    char label[16];
    std::snprintf(label, sizeof label, "m%04d", number);
    std::string text = label;
    if (text.size() < size) {
        text += ' ';
        text.resize(size, 'x');
    }
    return text;
}

// The numbers of numbered() payloads, "m0000 m0001 ...", for failure messages.
std::string labels(const std::vector<std::string>& payloads) {
    std::string out;
    for (const std::string& payload : payloads) {
        out += payload.substr(0, payload.find(' ')) + ' ';
    }
    return out;
}

// The reason of the acknowledgement of one QoS 1/2 PUBLISH (PUBACK, or PUBREC, an
// accepted QoS 2 one then completed), or nullopt when the broker closed the connection
// without acknowledging it.
std::optional<ReasonCode> publish_outcome(RawClient& client, Publish publish) {
    publish.packet_id = client.next_packet_id();
    const PacketId id = publish.packet_id;
    if (!client.send(publish)) {
        return std::nullopt;
    }
    while (auto packet = client.receive(kDefaultTimeout)) {
        const auto* puback = std::get_if<protocol::Puback>(&*packet);
        if (publish.qos == 1 && puback != nullptr && puback->packet_id == id) {
            return puback->reason;
        }
        const auto* pubrec = std::get_if<protocol::Pubrec>(&*packet);
        if (publish.qos == 2 && pubrec != nullptr && pubrec->packet_id == id) {
            if (!protocol::is_failure(pubrec->reason)) {
                client.send(protocol::Pubrel{id, ReasonCode::Success, {}});
                EXPECT_TRUE(client.expect<protocol::Pubcomp>());
            }
            return pubrec->reason;
        }
        ADD_FAILURE() << "unexpected " << describe(*packet);
    }
    EXPECT_TRUE(client.closed()) << "no acknowledgement, and the connection is still open";
    return std::nullopt;
}

// Publishes numbered(first, size) … numbered(first + count - 1, size) at QoS 1 on `topic`,
// up to `window` unacknowledged at a time; every one must be accepted.
void publish_pipelined(RawClient& publisher, const std::string& topic, int first, int count,
                       std::size_t size = 0, std::size_t window = 100) {
    std::deque<PacketId> outstanding;
    int next = first;
    for (int acknowledged = 0; acknowledged < count; ++acknowledged) {
        while (next < first + count && outstanding.size() < window) {
            Publish publish =
                make_publish(topic, numbered(next, size), 1, false, publisher.next_packet_id());
            ASSERT_TRUE(publisher.send(publish));
            outstanding.push_back(publish.packet_id);
            ++next;
        }
        auto puback = publisher.expect<protocol::Puback>();
        ASSERT_TRUE(puback) << acknowledged << " of " << count << " acknowledged";
        ASSERT_FALSE(protocol::is_failure(puback->reason)) << describe(*puback);
        const auto found = std::find(outstanding.begin(), outstanding.end(), puback->packet_id);
        ASSERT_NE(found, outstanding.end()) << describe(*puback);
        outstanding.erase(found);
    }
}

// Payloads of every PUBLISH until `quiet` passes without one, each acknowledged.
std::vector<std::string> drain_payloads(RawClient& client, std::chrono::milliseconds quiet = 1s) {
    std::vector<std::string> payloads;
    while (auto message = client.try_receive_publish(quiet)) {
        payloads.push_back(payload_of(*message));
    }
    return payloads;
}

// --- a full store: growth disabled, a 1 MiB map ---

constexpr std::size_t kBigPayload = 20 * 1024;
constexpr int kMaxFill = 200;  // 4 MB: far more than the map holds

class StoreFullTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }
    std::unique_ptr<RawClient> publisher() {
        return connected(broker_.port(), version(), unique_client_id("full-pub"), true);
    }
    // v5: refused with 0x97 Quota exceeded; 3.1.1: closed without an acknowledgement.
    void expect_refused(const std::optional<ReasonCode>& outcome, const std::string& what) {
        if (is_v5(version())) {
            EXPECT_EQ(outcome, ReasonCode::QuotaExceeded) << what;
        } else {
            EXPECT_FALSE(outcome) << what << ": acknowledged with reason "
                                  << static_cast<int>(outcome.value_or(ReasonCode::Success));
        }
    }

    BrokerProcess broker_{"store_map_size 1048576\nstore_max_map_size 1048576\n"};
};

TEST_P(StoreFullTest, RefusesQos12WhileFullLosesNothingAcknowledgedAndRecovers) {
    offline_subscriber(broker_.port(), "full-sub", "full/t");
    auto live = connected(broker_.port(), ProtocolVersion::V311, "full-live", true);
    ASSERT_TRUE(live->subscribe("live/t", 0));

    std::vector<std::string> accepted;
    std::optional<ReasonCode> refusal;
    auto filler = publisher();
    for (int i = 0; i < kMaxFill; ++i) {
        auto outcome =
            publish_outcome(*filler, make_publish("full/t", numbered(i, kBigPayload), 1));
        if (!outcome || protocol::is_failure(*outcome)) {
            refusal = outcome;
            break;
        }
        accepted.push_back(numbered(i, kBigPayload));
    }
    ASSERT_LT(accepted.size(), static_cast<std::size_t>(kMaxFill)) << "the store never filled";
    ASSERT_FALSE(accepted.empty());
    expect_refused(refusal, "QoS 1 PUBLISH into a full store");
    EXPECT_TRUE(broker_.wait_for_log("store full"));

    // Still full (nothing was removed): QoS 2 is refused too; QoS 0 still flows.
    auto second = publisher();
    expect_refused(
        publish_outcome(*second, make_publish("full/t", std::string(kBigPayload, 'r'), 2)),
        "QoS 2 PUBLISH into a full store");
    ASSERT_TRUE(publisher()->publish("live/t", "qos 0 while full", 0));
    auto qos0 = live->receive_publish();
    ASSERT_TRUE(qos0);
    EXPECT_EQ(payload_of(*qos0), "qos 0 while full");

    auto subscriber = connected(broker_.port(), ProtocolVersion::V5, "full-sub", false, true);
    const std::vector<std::string> received = drain_payloads(*subscriber);
    // Nothing acknowledged is lost: every acknowledged message arrives, in order.
    std::vector<std::string> acknowledged_received;
    std::copy_if(received.begin(), received.end(), std::back_inserter(acknowledged_received),
                 [&](const std::string& payload) {
                     return std::find(accepted.begin(), accepted.end(), payload) != accepted.end();
                 });
    EXPECT_EQ(labels(acknowledged_received), labels(accepted))
        << "acknowledged messages (right) lost or out of order";
    // Nothing refused is delivered: its publisher was told it was not accepted (and a
    // 3.1.1 one resends it), so delivering it as well makes a duplicate.
    EXPECT_EQ(labels(received), labels(accepted))
        << "delivered (left) more than was acknowledged (right)";

    // Drained, so space returns; a probe goes through at most once a second.
    bool accepted_again = false;
    for (int attempt = 0; attempt < 20 && !accepted_again; ++attempt) {
        auto outcome = publish_outcome(*publisher(), make_publish("full/t", "after", 1));
        accepted_again = outcome && !protocol::is_failure(*outcome);
        if (!accepted_again) {
            std::this_thread::sleep_for(300ms);
        }
    }
    EXPECT_TRUE(accepted_again) << "QoS 1 still refused after the queue drained";
    const std::string log = broker_.log();
    const auto space_again = log.rfind("store has space again");
    EXPECT_NE(space_again, std::string::npos);
    EXPECT_GT(space_again, log.rfind("store full")) << "the last word of the log is 'full'";
    auto after = subscriber->receive_publish();
    ASSERT_TRUE(after);
    EXPECT_EQ(payload_of(*after), "after");
}

INSTANTIATE_TEST_SUITE_P(Versions, StoreFullTest, both_versions(), VersionParamName{});

TEST(StoreSizeTest, MapGrowsWhenFullUnlessLimited) {
    BrokerProcess broker("store_map_size 65536\n");
    offline_subscriber(broker.port(), "grow-sub", "grow/t");
    constexpr int kCount = 60;  // 25 KB each: about 1.5 MB, 23 times the initial map
    {
        auto publisher = connected(broker.port(), ProtocolVersion::V5, "grow-pub", true);
        for (int i = 0; i < kCount; ++i) {
            ASSERT_TRUE(publisher->publish("grow/t", numbered(i, 25 * 1024), 1)) << i;
        }
    }
    broker.kill_hard();
    broker.restart();
    auto subscriber = connected(broker.port(), ProtocolVersion::V5, "grow-sub", false, true);
    const auto received = drain_payloads(*subscriber);
    ASSERT_EQ(received.size(), static_cast<std::size_t>(kCount));
    for (int i = 0; i < kCount; ++i) {
        EXPECT_EQ(received[i], numbered(i, 25 * 1024)) << i;
    }
}

TEST(StoreSizeTest, MaxMapSizeBelowMapSizeIsAConfigError) {
    TempDir dir;
    const auto config = dir.path() / "small.conf";
    write_file(config,
               "listener 0 127.0.0.1\nstore_map_size 2097152\nstore_max_map_size 1048576\n"
               "persistence_location " +
                   (dir.path() / "data").string() + "\n");
    const auto result = run_petrel({"-c", config.string()}, 5s);
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_NE(result.err.find(config.string()), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("store_max_map_size"), std::string::npos) << result.err;
}

// --- offline queues beyond the memory window, and the byte limit ---

TEST(OfflineQueueTest, QueueBeyondTheMemoryWindowSurvivesACrashInOrder) {
    BrokerProcess broker("queue_memory_window 8\nmax_queued_messages 0\n");
    offline_subscriber(broker.port(), "spill-sub", "spill/t");
    {
        auto publisher = connected(broker.port(), ProtocolVersion::V311, "spill-pub", true);
        publish_pipelined(*publisher, "spill/t", 0, 1000);
    }
    broker.kill_hard();
    broker.restart();
    {
        auto publisher = connected(broker.port(), ProtocolVersion::V311, "spill-pub", true);
        publish_pipelined(*publisher, "spill/t", 1000, 1000);
    }
    auto subscriber = connected(broker.port(), ProtocolVersion::V5, "spill-sub", false, true);
    for (int i = 0; i < 2000; ++i) {
        auto message = subscriber->receive_publish();
        ASSERT_TRUE(message) << "message " << i << " of 2000";
        ASSERT_EQ(payload_of(*message), numbered(i)) << "out of order or lost";
    }
    subscriber->expect_nothing(300ms);
}

TEST(OfflineQueueTest, MaxQueuedBytesDropsWhatDoesNotFitAlsoAfterACrash) {
    // topic (4 bytes) + payload (296) = 300 bytes each: three fit in 1000.
    BrokerProcess broker("max_queued_bytes 1000\n");
    offline_subscriber(broker.port(), "bytes-sub", "qb/t");
    const auto publish = [&](int first, int count) {
        auto publisher = connected(broker.port(), ProtocolVersion::V5, "bytes-pub", true);
        for (int i = first; i < first + count; ++i) {
            EXPECT_TRUE(publish_outcome(*publisher, make_publish("qb/t", numbered(i, 296), 1)));
        }
    };
    publish(0, 2);  // 600 bytes queued
    broker.kill_hard();
    broker.restart();  // the queue's size is known again from the store
    publish(2, 3);     // the first fits (900), the next two would not
    EXPECT_TRUE(broker.wait_for_log("max_queued_bytes"));
    auto subscriber = connected(broker.port(), ProtocolVersion::V5, "bytes-sub", false, true);
    const auto received = drain_payloads(*subscriber);
    ASSERT_EQ(received.size(), 3U);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(received[i], numbered(i, 296));
    }
}

// --- petrel --check-store ---

TEST(CheckStoreTest, CountsWhatTheBrokerStored) {
    BrokerProcess broker;  // default persistence_location ./data: broker.data_dir()
    {
        auto a = connected(broker.port(), ProtocolVersion::V311, "check-a", false);
        ASSERT_TRUE(a->subscribe("cs/a", 1));
        ASSERT_TRUE(a->subscribe("cs/a2", 2));
        a->disconnect();
    }
    auto b = connected(broker.port(), ProtocolVersion::V5, "check-b", false);
    ASSERT_TRUE(b->subscribe("cs/b", 1));
    auto clean = connected(broker.port(), ProtocolVersion::V311, "check-clean", true);
    ASSERT_TRUE(clean->subscribe("cs/c", 1));  // clean: not stored
    auto publisher = connected(broker.port(), ProtocolVersion::V5, "check-pub", true);
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(publisher->publish("cs/a", numbered(i), 1));
    }
    ASSERT_TRUE(publisher->publish("cs/b", "in flight", 1));
    ASSERT_TRUE(b->receive_publish(kDefaultTimeout, /*ack=*/false));
    ASSERT_TRUE(publisher->publish("cs/r1", "retained 1", 1, true));
    ASSERT_TRUE(publisher->publish("cs/r2", "retained 2", 0, true));
    ASSERT_EQ(broker.stop(SIGTERM), 0);

    EXPECT_TRUE(std::filesystem::exists(store_data_file(broker.data_dir())));
    const StoreCheck check = check_store(broker.data_dir());
    EXPECT_EQ(check.result.status, 0) << check.result.out << check.result.err;
    EXPECT_EQ(check.count("sessions"), 2) << check.result.out;
    EXPECT_EQ(check.count("subscriptions"), 3) << check.result.out;
    EXPECT_EQ(check.count("queued messages"), 3) << check.result.out;
    EXPECT_EQ(check.count("in-flight messages"), 1) << check.result.out;
    EXPECT_EQ(check.count("retained"), 2) << check.result.out;
    EXPECT_TRUE(check.problems.empty()) << check.result.out;
    EXPECT_TRUE(check.ok_line) << check.result.out;
}

TEST(CheckStoreTest, NoStoreIsAProblem) {
    TempDir dir;
    const StoreCheck check = check_store(dir.path());
    EXPECT_EQ(check.result.status, 2) << check.result.out << check.result.err;
    EXPECT_FALSE(check.problems.empty()) << check.result.out;
    EXPECT_FALSE(check.ok_line) << check.result.out;
}

// --- damaged stores: reported, and never started on as if empty ---

class DamagedStoreTest : public ::testing::Test {
  protected:
    // A sound store: a session with 100 queued 2 KB messages and 5 retained messages,
    // from a broker stopped with SIGTERM.
    void SetUp() override {
        offline_subscriber(broker_.port(), "damaged-sub", "dmg/q");
        auto publisher = connected(broker_.port(), ProtocolVersion::V5, "damaged-pub", true);
        publish_pipelined(*publisher, "dmg/q", 0, 100, 2048);
        for (int i = 0; i < 5; ++i) {
            ASSERT_TRUE(publisher->publish("dmg/r" + std::to_string(i), numbered(i), 1, true));
        }
        ASSERT_EQ(broker_.stop(SIGTERM), 0);
        const StoreCheck check = check_store(store());
        ASSERT_EQ(check.result.status, 0) << check.result.out;
        ASSERT_EQ(check.count("queued messages"), 100) << check.result.out;
        file_size_ = std::filesystem::file_size(store_data_file(store()));
    }

    std::filesystem::path store() const { return broker_.data_dir(); }

    void expect_check_reports_problem(const std::string& must_mention = {}) {
        const StoreCheck check = check_store(store());
        EXPECT_EQ(check.result.status, 2) << "(-1: timed out; over 128: killed by a signal)\n"
                                          << check.result.out << check.result.err;
        ASSERT_FALSE(check.problems.empty()) << check.result.out << check.result.err;
        if (!must_mention.empty()) {
            EXPECT_NE(check.result.out.find(must_mention), std::string::npos) << check.result.out;
        }
    }

    // Start-up on the damaged store must fail (not crash) with one clear line about the
    // store.
    void expect_refused_to_start(const std::string& must_mention = {}) {
        TempDir dir;
        const auto config = dir.path() / "petrel.conf";
        write_file(config, "listener 0 127.0.0.1\npersistence_location " + store().string() + "\n");
        const auto result = run_petrel({"-c", config.string()}, 5s);
        const std::string output = result.out + result.err;
        ASSERT_NE(result.status, -1) << "it started on a damaged store:\n" << output;
        EXPECT_NE(result.status, 0) << output;
        EXPECT_LT(result.status, 128) << "killed by a signal, not a clean refusal:\n" << output;
        EXPECT_EQ(output.find("listening on"), std::string::npos) << output;
        // The error is the last line, after any log lines of the start-up so far.
        std::string last_line;
        std::istringstream lines(result.err);
        for (std::string line; std::getline(lines, line);) {
            if (!line.empty()) {
                last_line = line;
            }
        }
        EXPECT_NE(last_line.find("store"), std::string::npos)
            << "the error does not mention the store:\n"
            << output;
        if (!must_mention.empty()) {
            EXPECT_NE(last_line.find(must_mention), std::string::npos) << output;
        }
    }

    BrokerProcess broker_;
    std::uintmax_t file_size_ = 0;
};

TEST_F(DamagedStoreTest, GarbageInTheMiddleOfTheFile) {
    std::string garbage(file_size_ / 2, '\0');
    std::mt19937 random(12345);  // fixed: the same damage every run
    std::generate(garbage.begin(), garbage.end(), [&] { return static_cast<char>(random()); });
    overwrite_file_bytes(store_data_file(store()), file_size_ / 4, garbage);
    expect_check_reports_problem();
    expect_refused_to_start();
}

TEST_F(DamagedStoreTest, TruncatedToHalf) {
    std::filesystem::resize_file(store_data_file(store()), file_size_ / 2);
    expect_check_reports_problem();
    expect_refused_to_start();
}

TEST_F(DamagedStoreTest, TruncatedToItsFirstPage) {
    std::filesystem::resize_file(store_data_file(store()), 4096);
    expect_check_reports_problem();
    expect_refused_to_start();
}

TEST_F(DamagedStoreTest, NewerSchemaVersion) {
    lmdb_put(store(), "meta", "schema_version", std::string("\0\0\0\x02", 4));
    expect_check_reports_problem("version 2");
    expect_refused_to_start("version 2");
}

}  // namespace
}  // namespace petrel::test
