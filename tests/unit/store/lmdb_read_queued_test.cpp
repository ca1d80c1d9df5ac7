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

}  // namespace
}  // namespace petrel::store
