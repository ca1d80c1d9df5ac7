// LmdbStore's readers next to its writer: read_queued() while the map grows, and what
// recover() costs on a large queue.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "petrel/store/lmdb_store.hpp"
#include "store_test_support.hpp"

namespace petrel::store {
namespace {

using test::commit;
using test::inflight;
using test::make_message;
using test::queued;

constexpr std::size_t kMiB = std::size_t{1} << 20;

// The writer doubles the map (taking the resize lock) while readers page through a queue.
TEST(LmdbStore, ReadQueuedWhileTheMapGrows) {
    test::TempDir dir;
    LmdbStore store({.directory = dir.path(), .map_size = kMiB});
    constexpr std::uint64_t kEntries = 200;
    const std::string payload(64 * 1024, 'p');
    std::atomic<bool> failed{false};
    std::thread writer([&] {
        for (std::uint64_t seq = 1; seq <= kEntries; ++seq) {
            WriteBatch b;
            b.put_message(seq, make_message("t", payload));
            b.push_queued(queued("c1", seq, seq));
            store.submit(std::move(b), [&](CommitResult r) { failed = failed || !r.ok; });
        }
        store.flush();
    });
    std::vector<std::thread> readers;
    for (int r = 0; r < 3; ++r) {
        readers.emplace_back([&] {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            std::uint64_t last = 0;
            while (last < kEntries && std::chrono::steady_clock::now() < deadline) {
                for (const auto& e : store.read_queued("c1", last, 16).entries) {
                    failed = failed || e.seq != last + 1;
                    last = e.seq;
                }
            }
            failed = failed || last != kEntries;
        });
    }
    writer.join();
    for (auto& t : readers) {
        t.join();
    }
    EXPECT_FALSE(failed.load());
    EXPECT_GE(store.map_size(), 8 * kMiB);
}

// Not an assertion, a measurement: recover() over 1,000,000 queued entries (100 clients of
// 10,000, referring to 10,000 distinct messages) with a window of 1,000.
// Run: unit_store --gtest_also_run_disabled_tests --gtest_filter='*RecoverMillion*'
TEST(LmdbStore, DISABLED_RecoverMillionQueuedEntries) {
    test::TempDir dir;
    constexpr int kClients = 100;
    constexpr std::uint64_t kPerClient = 10'000;
    {
        LmdbStore store({.directory = dir.path(), .sync = false});
        WriteBatch messages;
        for (MessageId id = 1; id <= kPerClient; ++id) {
            messages.put_message(id, make_message("t/" + std::to_string(id), "payload"));
            messages.set_retained("r/" + std::to_string(id), id);
        }
        ASSERT_TRUE(commit(store, std::move(messages)).ok);
        for (int c = 0; c < kClients; ++c) {
            WriteBatch b;
            for (std::uint64_t seq = 1; seq <= kPerClient; ++seq) {
                b.push_queued(queued("client-" + std::to_string(c), seq, seq, 20));
            }
            ASSERT_TRUE(commit(store, std::move(b)).ok);
        }
        WriteBatch unretain;
        for (MessageId id = 1; id <= kPerClient; ++id) {
            unretain.erase_retained("r/" + std::to_string(id));
        }
        ASSERT_TRUE(commit(store, std::move(unretain)).ok);
        store.flush();
        std::cout << "after filling: VmRSS " << test::status_kib("VmRSS") << " KiB, RssFile "
                  << test::status_kib("RssFile") << " KiB; data.mdb "
                  << std::filesystem::file_size(dir.path() / "data.mdb") / 1024 << " KiB\n";
    }
    LmdbStore store({.directory = dir.path()});
    const auto started = std::chrono::steady_clock::now();
    const auto snap = store.recover(1000);
    const auto took =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    std::cout << "recover(1000) over " << kClients * kPerClient
              << " queued entries: " << took.count() << " ms; " << snap.messages.size()
              << " messages; VmRSS " << test::status_kib("VmRSS") << " KiB, RssFile "
              << test::status_kib("RssFile") << " KiB\n";
    const auto load_started = std::chrono::steady_clock::now();
    const auto all = store.load();
    const auto load_took =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_started);
    std::cout << "load() for comparison: " << load_took.count() << " ms\n";
    EXPECT_EQ(snap.queue_summaries.size(), std::size_t{kClients});
    EXPECT_EQ(snap.queue_summaries.at("client-7"),
              (QueueSummary{kPerClient, 20 * kPerClient, kPerClient}));
    EXPECT_EQ(snap.messages.size(), 1000u);
    EXPECT_EQ(all.messages.size(), kPerClient);
}

}  // namespace
}  // namespace petrel::store
