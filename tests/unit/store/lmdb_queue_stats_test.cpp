// LmdbStore's `queue_stats` table when it disagrees with the queue, check() on damaged
// message counts, and the memory map's pages let go of (release_resident_pages).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lmdb_raw.hpp"
#include "petrel/store/lmdb_store.hpp"
#include "petrel/store/record_codec.hpp"
#include "store_test_support.hpp"

namespace petrel::store {
namespace {

using test::commit;
using test::make_message;
using test::queued;
using test::raw_del;
using test::raw_entries;
using test::raw_put;

// Client "c1" with five queued entries of 10 bytes (seqs 1..5), all naming message 1.
void write_queue(const std::filesystem::path& dir) {
    LmdbStore store({.directory = dir});
    WriteBatch b;
    b.put_message(1, make_message("t", "p"));
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        b.push_queued(queued("c1", seq, 1, 10));
    }
    ASSERT_TRUE(commit(store, std::move(b)).ok);
}

bool mentions(const std::vector<std::string>& problems, const std::string& what) {
    return std::ranges::any_of(
        problems, [&](const std::string& p) { return p.find(what) != std::string::npos; });
}

TEST(LmdbQueueStats, RecordGoesWithTheLastEntry) {
    test::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(write_queue(dir.path()));
    EXPECT_EQ(raw_entries(dir.path(), "queue_stats"), 1u);
    {
        LmdbStore store({.directory = dir.path()});
        WriteBatch b;
        for (std::uint64_t seq = 1; seq <= 5; ++seq) {
            b.erase_queued("c1", seq);
        }
        ASSERT_TRUE(commit(store, std::move(b)).ok);
    }
    EXPECT_EQ(raw_entries(dir.path(), "queue_stats"), 0u);
    const auto report = check(dir.path());
    EXPECT_TRUE(report.ok()) << report.problems.front();
}

// recover() takes the summary from the table (a wrong byte count beyond the window cannot
// be seen there); load() and check() sum the queue and find the difference.
TEST(LmdbQueueStats, WrongSummaryIsReadByRecoverAndFoundByCheck) {
    test::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(write_queue(dir.path()));
    raw_put(dir.path(), "queue_stats", codec::client_prefix("c1"),
            codec::encode_queue_summary({5, 999, 5}));
    const auto report = check(dir.path());
    ASSERT_FALSE(report.ok());
    EXPECT_TRUE(mentions(report.problems, "'queue_stats' of client 'c1' says 5 entries, 999"))
        << report.problems.front();

    LmdbStore store({.directory = dir.path()});
    EXPECT_EQ(store.recover(2).queue_summaries.at("c1"), (QueueSummary{5, 999, 5}));
    EXPECT_THROW(store.load(), StoreError);
    // With the whole queue in the window, recover() sees it too.
    EXPECT_THROW(store.recover(0), StoreError);
}

TEST(LmdbQueueStats, SummaryThatCannotBeTrueStopsRecover) {
    test::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(write_queue(dir.path()));
    // Fewer entries than the window already holds.
    raw_put(dir.path(), "queue_stats", codec::client_prefix("c1"),
            codec::encode_queue_summary({2, 20, 2}));
    {
        LmdbStore store({.directory = dir.path()});
        EXPECT_THROW(store.recover(3), StoreError);
    }
    // A count of 0 (an empty queue keeps no record) does not decode.
    raw_put(dir.path(), "queue_stats", codec::client_prefix("c1"),
            codec::encode_queue_summary({0, 0, 0}));
    {
        LmdbStore store({.directory = dir.path()});
        EXPECT_THROW(store.recover(3), StoreError);
    }
    EXPECT_TRUE(mentions(check(dir.path()).problems, "unreadable record in 'queue_stats'"));
}

TEST(LmdbQueueStats, MissingOrExtraRecordIsCorruption) {
    test::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(write_queue(dir.path()));
    raw_del(dir.path(), "queue_stats", codec::client_prefix("c1"));
    {
        LmdbStore store({.directory = dir.path()});
        EXPECT_THROW(store.recover(2), StoreError);
        EXPECT_THROW(store.load(), StoreError);
    }
    EXPECT_TRUE(mentions(check(dir.path()).problems, "has no record in 'queue_stats'"));

    raw_put(dir.path(), "queue_stats", codec::client_prefix("c1"),
            codec::encode_queue_summary({5, 50, 5}));
    raw_put(dir.path(), "queue_stats", codec::client_prefix("ghost"),
            codec::encode_queue_summary({1, 1, 1}));
    {
        LmdbStore store({.directory = dir.path()});
        EXPECT_THROW(store.recover(2), StoreError);
    }
    EXPECT_TRUE(mentions(check(dir.path()).problems, "client 'ghost', whose queue is empty"));
}

// check() walks `messages` and `refs` side by side: each disagreement is named.
TEST(LmdbQueueStats, CheckFindsBadReferenceCounts) {
    test::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(write_queue(dir.path()));
    raw_put(dir.path(), "refs", codec::message_key(1), codec::encode_u64(4));
    raw_put(dir.path(), "messages", codec::message_key(50),
            codec::encode_message(make_message("t", "orphan")));
    raw_put(dir.path(), "refs", codec::message_key(60), codec::encode_u64(3));
    raw_put(dir.path(), "messages", codec::message_key(70),
            codec::encode_message(make_message("t", "unreferenced")));
    raw_put(dir.path(), "refs", codec::message_key(70), codec::encode_u64(0));
    const auto report = check(dir.path());
    EXPECT_EQ(report.problems.size(), 4u);
    EXPECT_TRUE(mentions(report.problems, "message 1 has reference count 4 but 5 references"));
    EXPECT_TRUE(mentions(report.problems, "message 50 has no reference count"));
    EXPECT_TRUE(mentions(report.problems, "message 60 has reference count 3 but 0 references"));
    EXPECT_TRUE(mentions(report.problems, "message 70 is stored but nothing refers to it"));
}

// The pages read through the map leave the process's resident set, not the store.
TEST(LmdbStore, ReleaseResidentPagesShrinksRss) {
    test::TempDir dir;
    constexpr std::uint64_t kEntries = 200'000;
    constexpr std::uint64_t kPerBatch = 50'000;
    constexpr MessageId kMessages = 2'000;
    LmdbStore store({.directory = dir.path(), .sync = false});
    WriteBatch messages;
    for (MessageId id = 1; id <= kMessages; ++id) {
        messages.put_message(id, make_message("t/" + std::to_string(id), std::string(8192, 'p')));
        messages.set_retained("r/" + std::to_string(id), id);
    }
    ASSERT_TRUE(commit(store, std::move(messages)).ok);
    for (std::uint64_t first = 1; first <= kEntries; first += kPerBatch) {
        WriteBatch b;
        for (std::uint64_t seq = first; seq < first + kPerBatch; ++seq) {
            b.push_queued(queued("c" + std::to_string(seq % 4), seq, seq % kMessages + 1, 1));
        }
        ASSERT_TRUE(commit(store, std::move(b)).ok);
    }
    store.flush();
    const auto file_kib = std::filesystem::file_size(dir.path() / "data.mdb") / 1024;

    // File-backed pages only: the heap's share of VmRSS moves with the allocator (and
    // with ASan's quarantine), the map's pages are what release_resident_pages() is about.
    store.release_resident_pages();
    const auto base = test::status_kib("RssFile");
    // Every queued entry and message, read through the map.
    std::uint64_t read = 0;
    for (int c = 0; c < 4; ++c) {
        std::uint64_t after = 0;
        for (;;) {
            const auto page = store.read_queued("c" + std::to_string(c), after, 5000);
            if (page.entries.empty()) {
                break;
            }
            read += page.entries.size();
            after = page.entries.back().seq;
        }
    }
    ASSERT_EQ(read, kEntries);
    const auto touched = test::status_kib("RssFile");
    store.release_resident_pages();
    const auto released = test::status_kib("RssFile");
    const auto growth = [&](std::uint64_t rss) { return rss > base ? rss - base : 0; };
    ::testing::Test::RecordProperty("file_kib", std::to_string(file_kib));
    ::testing::Test::RecordProperty("growth_touched_kib", std::to_string(growth(touched)));
    ::testing::Test::RecordProperty("growth_released_kib", std::to_string(growth(released)));
    // The read did fault the store in (else this test would prove nothing), and it is gone.
    EXPECT_GT(growth(touched), file_kib / 2);
    EXPECT_LT(growth(released), file_kib / 4);
}

}  // namespace
}  // namespace petrel::store
