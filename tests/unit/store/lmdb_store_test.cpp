// LmdbStore behaviour that has no in-memory counterpart: group commit, map growth, out of
// space, schema versions, corrupt records, batch mode and check().
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "lmdb_raw.hpp"
#include "petrel/store/lmdb_store.hpp"
#include "store_test_support.hpp"

namespace petrel::store {
namespace {

using test::commit;
using test::make_message;
using test::queued;
using test::raw_put;

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Client "c1" with one queued message (id 1, seq 1) and one retained one (id 2).
void write_sample(const std::filesystem::path& dir) {
    LmdbStore store({.directory = dir});
    WriteBatch b;
    b.put_session({"c1", protocol::ProtocolVersion::V5, 60, 0, {}, {}, 0});
    b.put_subscription({"c1", "t/#", {}});
    b.put_message(1, make_message("t/1", "queued"));
    b.push_queued(queued("c1", 1, 1));
    b.put_message(2, make_message("r", "retained"));
    b.set_retained("r", 2);
    ASSERT_TRUE(commit(store, std::move(b)).ok);
}

TEST(LmdbStore, GroupCommitSharesTransactions) {
    test::TempDir dir;
    LmdbStore store({.directory = dir.path()});
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2500;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const auto id = static_cast<MessageId>(t * kPerThread + i + 1);
                WriteBatch b;
                b.put_message(id, make_message("t", "payload"));
                b.push_queued(queued("c" + std::to_string(t), static_cast<unsigned>(i), id));
                store.submit(std::move(b), [&](CommitResult r) { ok += r.ok ? 1 : 0; });
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    store.flush();
    EXPECT_EQ(ok.load(), kThreads * kPerThread);
    ::testing::Test::RecordProperty("transactions", std::to_string(store.transactions_committed()));
    // Each commit fsyncs; while it runs, the next batches pile up and share the next one.
    EXPECT_LT(store.transactions_committed(), std::uint64_t{kThreads * kPerThread / 10});
    EXPECT_EQ(store.counts().queued, std::uint64_t{kThreads * kPerThread});
}

TEST(LmdbStore, MapGrowsWhenFull) {
    test::TempDir dir;
    const std::string payload(512 * 1024, 'p');
    {
        LmdbStore store({.directory = dir.path(), .map_size = kMiB});
        for (MessageId id = 1; id <= 40; ++id) {  // 20 MiB in a 1 MiB map
            WriteBatch b;
            b.put_message(id, make_message("r/" + std::to_string(id), payload));
            b.set_retained("r/" + std::to_string(id), id);
            const auto r = commit(store, std::move(b));
            ASSERT_TRUE(r.ok) << r.error;
        }
        EXPECT_GE(store.map_size(), 20 * kMiB);
    }
    LmdbStore reopened({.directory = dir.path(), .map_size = kMiB});
    const auto snap = reopened.load();
    ASSERT_EQ(snap.messages.size(), 40u);
    EXPECT_EQ(*snap.messages.at(40)->payload, payload);
}

TEST(LmdbStore, OutOfSpaceFailsOnlyTheBatchThatDoesNotFit) {
    test::TempDir dir;
    LmdbStore store({.directory = dir.path(), .map_size = kMiB, .max_map_size = 2 * kMiB});
    WriteBatch big;
    big.put_session({"big", protocol::ProtocolVersion::V5, 60, 0, {}, {}, 0});
    big.put_message(1, make_message("r/big", std::string(4 * kMiB, 'x')));
    big.set_retained("r/big", 1);
    const auto result = commit(store, std::move(big));
    EXPECT_FALSE(result.ok);
    EXPECT_TRUE(result.out_of_space) << result.error;

    // Still serving, and nothing of the failed batch is there.
    WriteBatch small;
    small.put_message(2, make_message("r/small", "fits"));
    small.set_retained("r/small", 2);
    EXPECT_TRUE(commit(store, std::move(small)).ok);
    const auto snap = store.load();
    EXPECT_TRUE(snap.sessions.empty());
    EXPECT_EQ(snap.retained.size(), 1u);
    EXPECT_EQ(snap.messages.size(), 1u);
    EXPECT_LE(store.map_size(), 2 * kMiB);
}

TEST(LmdbStore, OversizedBatchInAGroupDoesNotFailItsNeighbours) {
    test::TempDir dir;
    LmdbStore store({.directory = dir.path(), .map_size = kMiB, .max_map_size = 2 * kMiB});
    std::vector<std::promise<CommitResult>> results(3);
    for (int i = 0; i < 3; ++i) {
        WriteBatch b;
        const auto size = i == 1 ? 4 * kMiB : std::size_t{100};
        b.put_message(static_cast<MessageId>(i + 1), make_message("r", std::string(size, 'x')));
        b.set_retained("r/" + std::to_string(i), static_cast<MessageId>(i + 1));
        store.submit(std::move(b), [&, i](CommitResult r) { results[i].set_value(r); });
    }
    EXPECT_TRUE(results[0].get_future().get().ok);
    EXPECT_TRUE(results[1].get_future().get().out_of_space);
    EXPECT_TRUE(results[2].get_future().get().ok);
    EXPECT_EQ(store.counts().retained, 2u);
}

TEST(LmdbStore, NewerSchemaVersionStopsOpen) {
    test::TempDir dir;
    write_sample(dir.path());
    raw_put(dir.path(), "meta", "schema_version", std::string("\0\0\0\x07", 4));
    try {
        LmdbStore store({.directory = dir.path()});
        FAIL() << "opened a store with schema version 7";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("schema version 7"), std::string::npos) << e.what();
    }
    const auto report = check(dir.path());
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems[0].find("schema version 7"), std::string::npos);
}

TEST(LmdbStore, UnreadableSchemaVersionStopsOpen) {
    test::TempDir dir;
    write_sample(dir.path());
    raw_put(dir.path(), "meta", "schema_version", "garbage");
    EXPECT_THROW(LmdbStore({.directory = dir.path()}), StoreError);
}

TEST(LmdbStore, CorruptRecordIsReportedNotLoaded) {
    test::TempDir dir;
    write_sample(dir.path());
    std::string key(
        "\0\x02"
        "c1\0\0\0\0\0\0\0\x01",
        12);  // queued: client c1, seq 1
    raw_put(dir.path(), "queued", key, "\x01garbage");
    LmdbStore store({.directory = dir.path()});
    try {
        store.load();
        FAIL() << "a corrupt record loaded";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("queued"), std::string::npos) << e.what();
    }
    EXPECT_THROW(store.recover(10), StoreError);
    EXPECT_THROW(store.read_queued("c1", 0, 10), StoreError);
    EXPECT_FALSE(check(dir.path()).ok());
}

TEST(LmdbStore, CheckCountsAndFindsBrokenReferences) {
    test::TempDir dir;
    write_sample(dir.path());
    auto report = check(dir.path());
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_EQ(report.counts, (StoreCounts{1, 1, 1, 0, 0, 2, 1}));

    // A retained slot naming a message that is not there.
    raw_put(dir.path(), "retained", std::string("\0\x02r2", 4),
            std::string("\0\0\0\0\0\0\0\x63", 8));
    report = check(dir.path());
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems[0].find("message 99"), std::string::npos) << report.problems[0];
}

TEST(LmdbStore, CheckReportsAMissingStore) {
    test::TempDir dir;
    EXPECT_FALSE(check(dir.path() / "nothing-here").ok());
    EXPECT_FALSE(check(dir.path()).ok());  // an empty directory is not a store
}

TEST(LmdbStore, BatchModeFlushMakesCommitsDurable) {
    test::TempDir dir;
    {
        LmdbStore store({.directory = dir.path(),
                         .sync = false,
                         .batch_interval = std::chrono::milliseconds(5)});
        WriteBatch b;
        b.put_session({"c1", protocol::ProtocolVersion::V311, 0xFFFFFFFF, 0, {}, {}, 0});
        EXPECT_TRUE(commit(store, std::move(b)).ok);
        store.flush();
    }
    LmdbStore reopened({.directory = dir.path()});
    EXPECT_EQ(reopened.counts().sessions, 1u);
}

// The child of FullDiskIsOutOfSpace: mounts a 1 MiB tmpfs in a user namespace of its own
// and fills it. Exit codes: 0 as expected, others say what broke.
constexpr int kNoTmpfs = 4;

int fill_a_small_disk(const std::filesystem::path& mount_point) {
    const auto uid = getuid();
    const auto gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        return kNoTmpfs;
    }
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
    std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
    if (mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m") != 0) {
        return kNoTmpfs;
    }
    LmdbStore store({.directory = mount_point / "store"});
    for (MessageId id = 1; id <= 100; ++id) {
        WriteBatch b;
        b.put_message(id, make_message("r/" + std::to_string(id), std::string(100'000, 'x')));
        b.set_retained("r/" + std::to_string(id), id);
        const auto result = commit(store, std::move(b));
        if (!result.ok) {
            if (!result.out_of_space) {
                return 2;
            }
            WriteBatch small;  // what is stored can still be released
            small.erase_retained("r/1");
            return commit(store, std::move(small)).ok ? 0 : 3;
        }
    }
    return 1;  // never filled up
}

// A full disk fails the commit with out_of_space, as a full map does. LMDB reports it as
// ENOSPC, or as EIO when the disk filled up in the middle of a write (a short write).
TEST(LmdbStore, FullDiskIsOutOfSpace) {
    test::TempDir dir;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        _exit(fill_a_small_disk(dir.path()));
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "1: never filled up, 2: not out_of_space, 3: no commit after the failure, 4: no "
           "unprivileged user namespace to mount a 1 MiB tmpfs in (this test needs one)";
}

}  // namespace
}  // namespace petrel::store
