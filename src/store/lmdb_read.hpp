// Reading an LMDB store back: the whole of it (LmdbStore::load(), which throws on the first
// problem), the start-up view with a bounded queue window (recover()), and one client's
// queue a page at a time (read_queued()). check() (lmdb_check.cpp) walks it too, keeping
// counts only. Internal to src/store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lmdb_support.hpp"
#include "petrel/store/record_codec.hpp"
#include "petrel/store/store.hpp"

namespace petrel::store::lmdb {

// Where a problem goes: with no sink the first one throws StoreError; otherwise each is
// appended and reading goes on, skipping the bad record.
class Problems {
  public:
    explicit Problems(std::vector<std::string>* sink) : sink_(sink) {}
    void report(std::string problem);
    void corrupt(const char* db, std::string_view key);

  private:
    std::vector<std::string>* sink_;
};

// Full ids of long client ids (codec::is_hashed), read from `names` once each and checked
// against their digest by the codec. Lives as long as the transaction.
class ClientNameCache {
  public:
    ClientNameCache(MDB_txn* txn, const Databases& dbs) : txn_(txn), names_(dbs.names) {}
    // Null when `names` holds no readable name for this client part.
    const std::string* find(std::string_view client_part);
    codec::ClientNames resolver() {
        return [this](std::string_view part) { return find(part); };
    }

  private:
    MDB_txn* txn_;
    MDB_dbi names_;
    std::map<std::string, std::optional<std::string>, std::less<>> cache_;
};

// Walks a whole database; `decode` returns false for a record it cannot read.
template <class Decode>
void read_all(MDB_txn* txn, MDB_dbi dbi, const char* name, Problems& problems, Decode decode) {
    Cursor cursor(txn, dbi);
    for (bool more = cursor.seek({}); more; more = cursor.next()) {
        if (!decode(cursor.key(), cursor.value())) {
            problems.corrupt(name, cursor.key());
        }
    }
}

// Sessions, subscriptions, in-flight entries (in send order), inbound QoS 2 ids and
// retained slots: what load() and recover() both read whole.
void read_client_state(MDB_txn* txn, const Databases& dbs, ClientNameCache& names,
                       Problems& problems, Snapshot& s);

// The message stored as `id`, with Message::id set; null when none is. A record that does
// not decode is reported to `problems` (and null returned).
session::MessagePtr read_message(MDB_txn* txn, const Databases& dbs, MessageId id,
                                 Problems& problems);

Snapshot read_snapshot(MDB_txn* txn, const Databases& dbs, std::vector<std::string>* problems);
// See Store::recover(); throws StoreError on the first problem.
Snapshot recover_snapshot(MDB_txn* txn, const Databases& dbs, std::size_t queue_window);
// See Store::read_queued(); throws StoreError on the first problem.
Store::QueuedRead read_queue(MDB_txn* txn, const Databases& dbs, const std::string& client_id,
                             std::uint64_t after_seq, std::size_t limit);

StoreCounts read_counts(MDB_txn* txn, const Databases& dbs);

// For problem reports: a client id quoted, cut short; a summary in words.
std::string describe_client(std::string_view client_id);
std::string describe(const QueueSummary& summary);

// `queue_stats` holds exactly `computed`, the summaries of a walk over `queued` (by
// client id): a record that differs, is missing, or names a client with no queue is a
// problem.
void verify_queue_stats(MDB_txn* txn, const Databases& dbs, ClientNameCache& names,
                        const std::map<std::string, QueueSummary>& computed, Problems& problems);

}  // namespace petrel::store::lmdb
