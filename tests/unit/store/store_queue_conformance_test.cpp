// The store conformance suite, part two: the queue as the broker reads it back — bytes
// and summaries, recover() with a window, read_queued() paging and concurrency, message
// ids — and names too long for LMDB keys, alike in both stores (store_conformance.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store_conformance.hpp"

namespace petrel::store {
namespace {

using test::commit;
using test::inflight;
using test::make_message;
using test::queued;

template <class Harness>
class QueueConformance : public test::StoreFixture<Harness> {};
TYPED_TEST_SUITE(QueueConformance, test::Stores);

// Every message the store hands back names its id, however it was put.
void expect_ids_set(const std::unordered_map<MessageId, session::MessagePtr>& messages) {
    for (const auto& [id, message] : messages) {
        ASSERT_TRUE(message);
        EXPECT_EQ(message->id, id);
    }
}

std::vector<std::uint64_t> seqs_of(const std::vector<QueuedEntry>& entries) {
    std::vector<std::uint64_t> seqs;
    for (const auto& e : entries) {
        seqs.push_back(e.seq);
    }
    return seqs;
}

TYPED_TEST(QueueConformance, QueuedBytesAndSummaries) {
    WriteBatch b;
    b.put_message(1, make_message("t", "p"));
    b.push_queued(queued("c1", 5, 1, 100));
    b.push_queued(queued("c1", 9, 1, 250));
    b.push_queued(queued("c2", 1, 1, 7));
    b.put_session({"idle", protocol::ProtocolVersion::V5, 60, 0, {}, {}, 0});
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);

    auto snap = this->reloaded();
    EXPECT_EQ(snap.queued.at("c1")[1].bytes, 250u);
    EXPECT_EQ(snap.queue_summaries.size(), 2u);  // no summary for an empty queue
    EXPECT_EQ(snap.queue_summaries.at("c1"), (QueueSummary{2, 350, 9}));
    EXPECT_EQ(snap.queue_summaries.at("c2"), (QueueSummary{1, 7, 1}));
    EXPECT_EQ(this->store().recover(1).queue_summaries, snap.queue_summaries);

    WriteBatch erase;
    erase.erase_queued("c1", 9);
    erase.erase_queued("c2", 1);
    ASSERT_TRUE(commit(this->store(), std::move(erase)).ok);
    snap = this->recovered(0);
    EXPECT_EQ(snap.queue_summaries.size(), 1u);
    EXPECT_EQ(snap.queue_summaries.at("c1"), (QueueSummary{1, 100, 5}));
}

TYPED_TEST(QueueConformance, MessagesComeBackWithTheirIds) {
    // Put as a shared message whose own id field is unset.
    auto message = std::make_shared<const session::Message>(make_message("q", "queued"));
    WriteBatch b;
    b.put_message(11, message);
    b.push_queued(queued("c1", 1, 11));
    b.put_message(12, make_message("f", "in flight"));
    b.put_inflight(inflight("c1", 1, 1, 12));
    b.put_message(13, make_message("r", "retained"));
    b.set_retained("r", 13);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);

    auto loaded = this->reloaded();
    EXPECT_EQ(loaded.messages.size(), 3u);
    expect_ids_set(loaded.messages);
    auto recovered = this->store().recover(10);
    EXPECT_EQ(recovered.messages.size(), 3u);
    expect_ids_set(recovered.messages);
    auto read = this->store().read_queued("c1", 0, 10);
    ASSERT_EQ(read.messages.size(), 1u);
    expect_ids_set(read.messages);
}

TYPED_TEST(QueueConformance, RecoverWithoutWindowMatchesLoad) {
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        this->queue_new(seq, "c" + std::to_string(seq % 2), seq);
    }
    WriteBatch b;
    b.put_message(9, make_message("unused soon", "x"));
    b.set_retained("r", 9);
    b.add_inbound_qos2("c1", 3);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    const auto loaded = this->reloaded();
    const auto recovered = this->store().recover(0);
    EXPECT_EQ(recovered.queued.size(), loaded.queued.size());
    for (const auto& [client, entries] : loaded.queued) {
        EXPECT_EQ(seqs_of(recovered.queued.at(client)), seqs_of(entries));
    }
    EXPECT_EQ(recovered.queue_summaries, loaded.queue_summaries);
    EXPECT_EQ(recovered.messages.size(), loaded.messages.size());
    EXPECT_EQ(recovered.retained, loaded.retained);
    EXPECT_EQ(recovered.inbound_qos2, loaded.inbound_qos2);
    EXPECT_EQ(recovered.max_message_id, 9u);
}

// A long queue comes back as a window plus a summary, and only the window's messages are
// read: recovery must not grow with the queue.
TYPED_TEST(QueueConformance, RecoverReadsOnlyTheWindow) {
    constexpr std::uint64_t kEntries = 200'000;
    constexpr std::size_t kWindow = 1000;
    constexpr std::uint64_t kPerBatch = 20'000;
    constexpr MessageId kMessages = 2 * kWindow;  // entry `seq` names (seq - 1) % 2000 + 1
    for (std::uint64_t first = 1; first <= kEntries; first += kPerBatch) {
        WriteBatch b;
        for (std::uint64_t seq = first; seq < first + kPerBatch; ++seq) {
            const MessageId id = (seq - 1) % kMessages + 1;
            if (seq == id) {
                b.put_message(id, make_message("t", "p"));
            }
            b.push_queued(queued("big", seq, id, seq % 7));
        }
        ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    }
    constexpr MessageId kInflight = kMessages + 1;
    constexpr MessageId kRetained = kMessages + 2;
    WriteBatch other;
    other.put_message(kInflight, make_message("f", "in flight"));
    other.put_inflight(inflight("small", 1, 1, kInflight));
    other.put_message(kRetained, make_message("r", "retained"));
    other.set_retained("r", kRetained);
    other.push_queued(queued("small", 2, kRetained, 40));
    other.push_queued(queued("small", 3, kMessages, 2));  // beyond the window of "big"
    ASSERT_TRUE(commit(this->store(), std::move(other)).ok);
    ASSERT_EQ(this->store().counts().messages, kMessages + 2);

    const auto started = std::chrono::steady_clock::now();
    const auto snap = this->recovered(kWindow);
    const auto took = std::chrono::steady_clock::now() - started;
    ::testing::Test::RecordProperty(
        "recover_ms",
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));

    const auto& window = snap.queued.at("big");
    ASSERT_EQ(window.size(), kWindow);
    EXPECT_EQ(window.front().seq, 1u);
    EXPECT_EQ(window.back().seq, kWindow);
    EXPECT_EQ(window.back().client_id, "big");
    std::uint64_t bytes = 0;
    for (std::uint64_t seq = 1; seq <= kEntries; ++seq) {
        bytes += seq % 7;
    }
    EXPECT_EQ(snap.queue_summaries.at("big"), (QueueSummary{kEntries, bytes, kEntries}));
    EXPECT_EQ(snap.queue_summaries.at("small"), (QueueSummary{2, 42, 3}));
    EXPECT_EQ(seqs_of(snap.queued.at("small")), (std::vector<std::uint64_t>{2, 3}));
    // The window's 1000, the in-flight and the retained message, and the one "small"
    // queues from beyond the window of "big": nothing else.
    EXPECT_EQ(snap.messages.size(), kWindow + 3);
    EXPECT_TRUE(snap.messages.contains(kMessages));
    EXPECT_FALSE(snap.messages.contains(kWindow + 1));
    expect_ids_set(snap.messages);
    EXPECT_EQ(snap.max_message_id, kRetained);

    // And the rest pages in from where the window ends.
    const auto next = this->store().read_queued("big", kWindow, 500);
    ASSERT_EQ(next.entries.size(), 500u);
    EXPECT_EQ(next.entries.front().seq, kWindow + 1);
    EXPECT_EQ(next.messages.size(), 500u);
}

TYPED_TEST(QueueConformance, ReadQueuedPagesInSeqOrder) {
    for (std::uint64_t seq = 1; seq <= 10; ++seq) {
        this->queue_new(seq, "c1", seq * 10);  // seqs 10, 20, ... 100
    }
    this->queue_new(11, "c10", 1);
    auto& store = this->store();
    auto page = store.read_queued("c1", 0, 4);
    EXPECT_EQ(seqs_of(page.entries), (std::vector<std::uint64_t>{10, 20, 30, 40}));
    for (const auto& e : page.entries) {
        EXPECT_EQ(e.client_id, "c1");
        ASSERT_TRUE(page.messages.contains(e.message));
        EXPECT_EQ(page.messages.at(e.message)->topic, "t/" + std::to_string(e.message));
    }
    EXPECT_EQ(page.messages.size(), 4u);
    EXPECT_EQ(seqs_of(store.read_queued("c1", 40, 4).entries),
              (std::vector<std::uint64_t>{50, 60, 70, 80}));
    EXPECT_EQ(seqs_of(store.read_queued("c1", 85, 4).entries),
              (std::vector<std::uint64_t>{90, 100}));
    EXPECT_TRUE(store.read_queued("c1", 100, 4).entries.empty());
    EXPECT_TRUE(store.read_queued("c1", 0, 0).entries.empty());
    EXPECT_TRUE(store.read_queued("c1", UINT64_MAX, 4).entries.empty());
    EXPECT_TRUE(store.read_queued("c", 0, 4).entries.empty());  // a prefix of "c1"
    EXPECT_TRUE(store.read_queued("nobody", 0, 4).entries.empty());

    WriteBatch b;
    b.erase_queued("c1", 10);
    b.erase_queued("c1", 30);
    ASSERT_TRUE(commit(store, std::move(b)).ok);
    this->harness_.reopen();
    EXPECT_EQ(seqs_of(this->store().read_queued("c1", 0, 3).entries),
              (std::vector<std::uint64_t>{20, 40, 50}));
}

// read_queued from several threads while batches commit: each reader pages through the
// queue as it grows and must see it in order, whole, with every message.
TYPED_TEST(QueueConformance, ReadQueuedConcurrentWithSubmits) {
    constexpr std::uint64_t kEntries = 3000;
    auto& store = this->store();
    std::atomic<bool> failed{false};
    std::thread writer([&] {
        for (std::uint64_t seq = 1; seq <= kEntries; seq += 10) {
            WriteBatch b;
            for (std::uint64_t s = seq; s < seq + 10; ++s) {
                b.put_message(s, make_message("t", std::to_string(s)));
                b.push_queued(queued("c1", s, s, 1));
            }
            store.submit(std::move(b), [&](CommitResult r) {
                if (!r.ok) {
                    failed = true;
                }
            });
        }
        store.flush();
    });
    std::vector<std::thread> readers;
    std::atomic<int> incomplete{0};
    for (int r = 0; r < 3; ++r) {
        readers.emplace_back([&] {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            std::uint64_t last = 0;
            while (last < kEntries && std::chrono::steady_clock::now() < deadline) {
                const auto page = store.read_queued("c1", last, 64);
                for (const auto& e : page.entries) {
                    auto it = page.messages.find(e.message);
                    if (e.seq != last + 1 || it == page.messages.end() ||
                        *it->second->payload != std::to_string(e.seq)) {
                        failed = true;
                        return;
                    }
                    last = e.seq;
                }
            }
            if (last != kEntries) {
                ++incomplete;
            }
        });
    }
    writer.join();
    for (auto& t : readers) {
        t.join();
    }
    EXPECT_FALSE(failed.load());
    EXPECT_EQ(incomplete.load(), 0);
}

// Client ids, filters and topics of any length, in every table: LMDB keys stop at 511
// bytes, so long names are hashed in keys and must still come back whole.
TYPED_TEST(QueueConformance, LongNamesWorkEverywhere) {
    std::string client(65'535, 'c');
    std::string twin = client;  // same length and head: only the digest tells them apart
    twin.back() = 't';
    const std::string filter = std::string(9'999, 'f') + "#";
    const std::string topic(10'000, 'r');
    for (const auto& id : {client, twin}) {
        StoredSession s{id, protocol::ProtocolVersion::V5, 60, 0, {}, {}, 0};
        s.will = protocol::Will{};
        s.will->topic = topic;
        WriteBatch b;
        b.put_session(s);
        b.put_subscription({id, filter, {{1, false, false, {}}, 3}});
        b.put_subscription({id, "short/+", {}});
        b.add_inbound_qos2(id, 42);
        const MessageId base = id == client ? 100 : 200;
        for (std::uint64_t seq = 1; seq <= 5; ++seq) {
            b.put_message(base + seq, make_message(topic, "q"));
            b.push_queued(queued(id, seq, base + seq, 10));
        }
        b.put_message(base + 50, make_message(topic, "f"));
        b.put_inflight(inflight(id, 1, 7, base + 50));
        ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    }
    WriteBatch retain;
    retain.put_message(300, make_message(topic, "retained"));
    retain.set_retained(topic, 300);
    retain.put_message(301, make_message(topic + "/x", "retained too"));
    retain.set_retained(topic + "/x", 301);
    ASSERT_TRUE(commit(this->store(), std::move(retain)).ok);

    auto snap = this->reloaded();
    ASSERT_EQ(snap.sessions.size(), 2u);
    for (const auto& s : snap.sessions) {
        EXPECT_TRUE(s.client_id == client || s.client_id == twin);
        EXPECT_EQ(s.will->topic, topic);
    }
    ASSERT_EQ(snap.subscriptions.size(), 4u);
    EXPECT_EQ(std::ranges::count(snap.subscriptions, filter, &StoredSubscription::filter), 2);
    EXPECT_EQ(snap.queued.at(client).size(), 5u);
    EXPECT_EQ(snap.queued.at(twin).front().message, 201u);
    EXPECT_EQ(snap.queued.at(twin).front().client_id, twin);
    EXPECT_EQ(snap.inflight.at(client).front().packet_id, 7);
    EXPECT_EQ(snap.inbound_qos2.at(twin), (std::vector<protocol::PacketId>{42}));
    EXPECT_EQ(snap.retained.at(topic), 300u);
    EXPECT_EQ(snap.retained.at(topic + "/x"), 301u);
    EXPECT_EQ(snap.queue_summaries.at(client), (QueueSummary{5, 50, 5}));

    auto page = this->store().read_queued(twin, 2, 2);
    EXPECT_EQ(seqs_of(page.entries), (std::vector<std::uint64_t>{3, 4}));
    EXPECT_EQ(page.entries.front().client_id, twin);
    EXPECT_EQ(page.entries.front().message, 203u);
    EXPECT_TRUE(this->store().read_queued(std::string(65'535, 'x'), 0, 5).entries.empty());

    auto recovered = this->store().recover(2);
    EXPECT_EQ(seqs_of(recovered.queued.at(client)), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(recovered.queue_summaries.at(twin), (QueueSummary{5, 50, 5}));
    EXPECT_EQ(recovered.messages.size(), 2u * (2 + 1) + 2);  // windows, in-flight, retained

    WriteBatch erase;
    erase.erase_session(client);
    erase.erase_subscription(twin, filter);
    erase.erase_retained(topic);
    erase.erase_session(std::string(65'535, 'x'));  // unknown: a no-op
    ASSERT_TRUE(commit(this->store(), std::move(erase)).ok);
    snap = this->reloaded();
    ASSERT_EQ(snap.sessions.size(), 1u);
    EXPECT_EQ(snap.sessions[0].client_id, twin);
    ASSERT_EQ(snap.subscriptions.size(), 1u);
    EXPECT_EQ(snap.subscriptions[0].filter, "short/+");
    EXPECT_FALSE(snap.queued.contains(client));
    EXPECT_EQ(snap.queued.at(twin).size(), 5u);
    EXPECT_FALSE(snap.retained.contains(topic));
    EXPECT_EQ(this->store().counts(), (StoreCounts{1, 1, 5, 1, 1, 7, 1}));
}

}  // namespace
}  // namespace petrel::store
