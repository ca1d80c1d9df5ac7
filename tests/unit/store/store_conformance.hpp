// The fixture of the store conformance suites: one fixture, two stores. MemoryStore and
// LmdbStore must behave alike; for LmdbStore, reloaded() and recovered() close and reopen
// the directory first, so a test checks what survives a restart, not what a cache
// remembers.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "petrel/store/lmdb_store.hpp"
#include "petrel/store/memory_store.hpp"
#include "store_test_support.hpp"

namespace petrel::store::test {

struct MemoryHarness {
    MemoryStore memory;
    Store& store() { return memory; }
    void reopen() {}
    std::vector<std::string> check_problems() { return {}; }
};

struct LmdbHarness {
    TempDir dir;
    std::optional<LmdbStore> lmdb;
    LmdbHarness() { lmdb.emplace(LmdbOptions{.directory = dir.path()}); }
    Store& store() { return *lmdb; }
    void reopen() {
        lmdb.reset();
        lmdb.emplace(LmdbOptions{.directory = dir.path()});
    }
    // check() opens the directory itself: LMDB allows one environment per file and process.
    std::vector<std::string> check_problems() {
        lmdb.reset();
        auto report = check(dir.path());
        lmdb.emplace(LmdbOptions{.directory = dir.path()});
        return report.problems;
    }
};

template <class Harness>
class StoreFixture : public ::testing::Test {
  protected:
    Store& store() { return harness_.store(); }
    Snapshot reloaded() {
        harness_.reopen();
        return store().load();
    }
    // Stores message `id` and queues it for `client` at `seq`, in one batch.
    void queue_new(MessageId id, const std::string& client, std::uint64_t seq) {
        WriteBatch b;
        b.put_message(id, make_message("t/" + std::to_string(id), "payload"));
        b.push_queued(queued(client, seq, id));
        ASSERT_TRUE(commit(store(), std::move(b)).ok);
    }
    Snapshot recovered(std::size_t window) {
        harness_.reopen();
        return store().recover(window);
    }

    Harness harness_;
};

using Stores = ::testing::Types<MemoryHarness, LmdbHarness>;

}  // namespace petrel::store::test
