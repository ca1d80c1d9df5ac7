// Thin RAII over the LMDB C API for the store's own files: the environment with its
// named databases and schema check, transactions, and key/value helpers taking
// string_views. Internal to src/store.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::store::lmdb {

inline constexpr std::uint32_t kSchemaVersion = 1;
inline constexpr std::string_view kSchemaKey = "schema_version";
inline constexpr std::string_view kMaxMessageIdKey = "max_message_id";
inline constexpr std::string_view kClockKey = "clock";

// A failure inside a write transaction. Any failure there aborts the whole transaction,
// so the helpers unwind straight to the transaction boundary (LmdbStore's commit loop),
// which turns it into a CommitResult; it never escapes the store.
struct TxnFailure {
    int rc = 0;  // MDB_* code or errno; 0 for a rule broken by the batch itself
    std::string what;
};

// Payloads live once in `messages`; `refs` holds their reference counts apart, so that
// queueing a message for one more session rewrites 8 bytes, not the payload. `names`
// holds the full id of every client whose id is too long for a key (codec::is_hashed),
// under its client prefix, for as long as any record of that client exists.
// `queue_stats` holds each non-empty queue summed (codec::encode_queue_summary), under its
// client prefix, kept by BatchApplier in the same transaction as the queue: start-up reads
// the summaries without walking the queue.
struct Databases {
    MDB_dbi meta = 0;
    MDB_dbi messages = 0;
    MDB_dbi refs = 0;
    MDB_dbi sessions = 0;
    MDB_dbi subscriptions = 0;
    MDB_dbi queued = 0;
    MDB_dbi inflight = 0;
    MDB_dbi qos2 = 0;
    MDB_dbi retained = 0;
    MDB_dbi names = 0;
    MDB_dbi queue_stats = 0;
};

class Env {
  public:
    struct Options {
        std::size_t map_size = 0;
        bool sync = true;
        bool read_only = false;
    };
    // Opens (creating and stamping a fresh directory unless read-only) and checks the
    // schema version. Throws StoreError with a message naming the directory.
    Env(const std::filesystem::path& directory, Options options);
    ~Env();
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;

    MDB_env* get() const { return env_; }
    const Databases& dbs() const { return dbs_; }
    std::size_t map_size() const;
    // Drops the map's pages from this process's resident set (see
    // LmdbStore::release_resident_pages); false when the map could not be found. The
    // caller keeps the map from being resized meanwhile.
    bool release_resident_pages() const;

  private:
    void check_not_truncated(const std::filesystem::path& directory);
    void open_databases(const std::filesystem::path& directory, bool read_only);

    MDB_env* env_ = nullptr;
    Databases dbs_;
};

class Txn {
  public:
    // Throws TxnFailure when LMDB cannot start one.
    Txn(MDB_env* env, bool read_only);
    ~Txn();
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;

    MDB_txn* get() const { return txn_; }
    // Returns the MDB code; the transaction is finished either way.
    int commit();

  private:
    MDB_txn* txn_ = nullptr;
};

std::string error_text(int rc);
// The key printed in a problem report: hex, shortened.
std::string describe_key(std::string_view key);

std::string_view view(const MDB_val& v);
std::optional<std::string_view> get(MDB_txn* txn, MDB_dbi dbi, std::string_view key);
void put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value);
bool del(MDB_txn* txn, MDB_dbi dbi, std::string_view key);
std::uint64_t entries(MDB_txn* txn, MDB_dbi dbi);
// Whether any database keyed by client holds a record under `client_prefix`.
bool has_client_records(MDB_txn* txn, const Databases& dbs, std::string_view client_prefix);

// Visits every record whose key starts with `prefix`, in key order. With `erase` set,
// each record is deleted after `visit` has seen it.
template <class Visit>
void for_each_prefixed(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix, bool erase,
                       Visit&& visit);

class Cursor {
  public:
    Cursor(MDB_txn* txn, MDB_dbi dbi);
    ~Cursor();
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    // Positions on the first key >= `start` (or the first key when empty); false at end.
    bool seek(std::string_view start);
    bool last();
    bool next();
    bool prev();
    void erase_current();
    std::string_view key() const { return view(key_); }
    std::string_view value() const { return view(value_); }

  private:
    bool step(MDB_cursor_op op);
    MDB_cursor* cursor_ = nullptr;
    MDB_val key_{};
    MDB_val value_{};
};

template <class Visit>
void for_each_prefixed(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix, bool erase,
                       Visit&& visit) {
    Cursor cursor(txn, dbi);
    bool more = cursor.seek(prefix);
    while (more && cursor.key().starts_with(prefix)) {
        visit(cursor.key(), cursor.value());
        if (erase) {
            // After mdb_cursor_del, MDB_NEXT yields the record that followed the deleted
            // one rather than skipping it (LMDB marks the cursor C_DEL).
            cursor.erase_current();
        }
        more = cursor.next();
    }
}

}  // namespace petrel::store::lmdb
