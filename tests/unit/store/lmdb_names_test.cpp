// LmdbStore with client ids too long for an LMDB key: the `names` table that holds them,
// and what happens when a stored name does not match its key.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "lmdb_raw.hpp"
#include "petrel/store/lmdb_store.hpp"
#include "petrel/store/record_codec.hpp"
#include "store_test_support.hpp"

namespace petrel::store {
namespace {

using test::commit;
using test::inflight;
using test::make_message;
using test::queued;
using test::raw_entries;
using test::raw_put;

// A client id too long for a key lives in `names` while the client has records, and goes
// with the last of them, however it goes.
TEST(LmdbStore, LongClientIdIsKeptWhileItHasRecords) {
    test::TempDir dir;
    const std::string client(65'535, 'c');
    {
        LmdbStore store({.directory = dir.path()});
        WriteBatch b;
        b.put_message(1, make_message(std::string(10'000, 't'), "p"));
        b.push_queued(queued(client, 1, 1, 5));
        b.put_inflight(inflight(client, 2, 9, 1));
        b.put_subscription({client, std::string(10'000, 'f'), {}});
        b.set_retained(std::string(10'000, 't'), 1);
        ASSERT_TRUE(commit(store, std::move(b)).ok);
    }
    EXPECT_EQ(raw_entries(dir.path(), "names"), 1u);
    auto report = check(dir.path());
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_EQ(report.counts, (StoreCounts{0, 1, 1, 1, 0, 1, 1}));
    {
        LmdbStore store({.directory = dir.path()});
        WriteBatch b;
        b.erase_queued(client, 1);
        b.erase_inflight(client, 9);
        ASSERT_TRUE(commit(store, std::move(b)).ok);
    }
    EXPECT_EQ(raw_entries(dir.path(), "names"), 1u);  // the subscription is left
    {
        LmdbStore store({.directory = dir.path()});
        WriteBatch b;
        b.erase_subscription(client, std::string(10'000, 'f'));
        ASSERT_TRUE(commit(store, std::move(b)).ok);
    }
    EXPECT_EQ(raw_entries(dir.path(), "names"), 0u);
    report = check(dir.path());
    EXPECT_TRUE(report.ok()) << report.problems.front();
}

// A stored long client id that does not hash to its key (a damaged record, or a SHA-256
// collision) is corruption: its records are not returned under either name.
TEST(LmdbStore, MismatchedLongClientIdIsCorruption) {
    test::TempDir dir;
    const std::string client(1'000, 'c');
    {
        LmdbStore store({.directory = dir.path()});
        WriteBatch b;
        b.put_message(1, make_message("t", "p"));
        b.push_queued(queued(client, 1, 1));
        ASSERT_TRUE(commit(store, std::move(b)).ok);
    }
    std::string other = client;
    other.back() = 'x';
    raw_put(dir.path(), "names", codec::client_prefix(client), codec::encode_name(other));
    LmdbStore store({.directory = dir.path()});
    EXPECT_THROW(store.load(), StoreError);
    EXPECT_THROW(store.recover(10), StoreError);
    EXPECT_THROW(store.read_queued(client, 0, 10), StoreError);
    EXPECT_TRUE(store.read_queued(other, 0, 10).entries.empty());
    // Writing under the other name is refused rather than mixed into these records.
    WriteBatch b;
    b.add_inbound_qos2(client, 1);
    EXPECT_FALSE(commit(store, std::move(b)).ok);
    const auto report = check(dir.path());
    EXPECT_TRUE(std::ranges::any_of(report.problems, [](const std::string& p) {
        return p.find("'names'") != std::string::npos;
    }));
}

}  // namespace
}  // namespace petrel::store
