// LMDB environment, schema check and small wrappers; see lmdb_support.hpp.
#include "lmdb_support.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fstream>

#include "petrel/store/record_codec.hpp"
#include "petrel/store/store.hpp"

namespace petrel::store::lmdb {

namespace {

MDB_val to_val(std::string_view s) {
    return MDB_val{s.size(), const_cast<char*>(s.data())};  // LMDB does not write keys
}

std::string where(const std::filesystem::path& directory) {
    return "store '" + directory.string() + "': ";
}

std::uint32_t decode_u32(std::string_view bytes) {
    std::uint32_t v = 0;
    for (char c : bytes) {
        v = (v << 8) | static_cast<std::uint8_t>(c);
    }
    return v;
}

}  // namespace

std::string error_text(int rc) {
    return mdb_strerror(rc);
}

std::string describe_key(std::string_view key) {
    std::string out;
    char hex[4];
    for (std::size_t i = 0; i < key.size() && i < 24; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(key[i]));
        out += hex;
    }
    if (key.size() > 24) {
        out += "...";
    }
    return out;
}

std::string_view view(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

Env::Env(const std::filesystem::path& directory, Options options) {
    std::error_code ec;
    if (!options.read_only) {
        std::filesystem::create_directories(directory, ec);
        if (ec) {
            throw StoreError(where(directory) + "cannot create directory: " + ec.message());
        }
    } else if (!std::filesystem::is_directory(directory, ec)) {
        throw StoreError(where(directory) + "no such directory");
    }
    int rc = mdb_env_create(&env_);
    if (rc != 0) {
        throw StoreError(where(directory) + error_text(rc));
    }
    mdb_env_set_maxdbs(env_, 16);
    if (options.map_size != 0) {
        mdb_env_set_mapsize(env_, options.map_size);
    }
    // MDB_NOTLS: read transactions are begun by whichever thread calls load(), counts() or
    // read_queued(), several at once: each takes its own reader slot, not one per thread.
    unsigned flags = MDB_NOTLS;
    if (!options.sync) {
        flags |= MDB_NOSYNC;
    }
    if (options.read_only) {
        flags |= MDB_RDONLY;
    }
    rc = mdb_env_open(env_, directory.c_str(), flags, 0640);
    if (rc != 0) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw StoreError(where(directory) + "cannot open LMDB environment: " + error_text(rc));
    }
    try {
        check_not_truncated(directory);
        open_databases(directory, options.read_only);
    } catch (...) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw;
    }
}

// LMDB maps the file and trusts its meta page: a file cut short (a copy interrupted, a
// disk that lost its tail) would make the first read of a missing page a SIGBUS. The
// meta page says where the last page is; the file must reach it.
void Env::check_not_truncated(const std::filesystem::path& directory) {
    MDB_envinfo info{};
    MDB_stat stat{};
    if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &stat) != 0) {
        throw StoreError(where(directory) + "cannot read the environment's size");
    }
    std::error_code ec;
    const auto file_size = std::filesystem::file_size(directory / "data.mdb", ec);
    const auto needed = static_cast<std::uintmax_t>(info.me_last_pgno + 1) *
                        static_cast<std::uintmax_t>(stat.ms_psize);
    if (!ec && file_size < needed) {
        throw StoreError(where(directory) + "truncated: data.mdb is " + std::to_string(file_size) +
                         " bytes, but its pages reach " + std::to_string(needed) +
                         " bytes (a partial copy or a damaged disk?)");
    }
}

Env::~Env() {
    if (env_ != nullptr) {
        mdb_env_close(env_);
    }
}

std::size_t Env::map_size() const {
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    return info.me_mapsize;
}

// LMDB maps data.mdb read-only and shared (PROT_READ, MAP_SHARED: the environment is
// never opened with MDB_WRITEMAP; commits write the file with pwrite). Every page the
// process reads through the map, readers and the writer's copy-on-write alike, stays in
// its resident set until the kernel needs the memory, so the RSS of a long-running broker
// grows to the size of the file although its own memory is small. MADV_DONTNEED on a
// shared file mapping only unmaps the pages: they stay in the page cache, nothing is
// lost, and the next access, by a reader or the writer in the middle of a transaction,
// faults the same bytes back in. The map moves only in mdb_env_set_mapsize, which the
// caller excludes.
//
// LMDB 0.9's mdb_env_info reports me_mapaddr only for MDB_FIXEDMAP, so the map is found
// in /proc/self/maps as the mapping that holds a value read through it.
bool Env::release_resident_pages() const {
    std::uintptr_t inside = 0;
    try {
        Txn txn(env_, true);
        const auto value = lmdb::get(txn.get(), dbs_.meta, kSchemaKey);
        if (!value) {
            return false;
        }
        inside = reinterpret_cast<std::uintptr_t>(value->data());
    } catch (const TxnFailure&) {
        return false;
    }
    const std::size_t size = map_size();
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        std::uintptr_t start = 0;
        std::uintptr_t end = 0;
        char perms[5] = {};
        unsigned long long offset = 0;
        if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " %4s %llx", &start, &end, perms,
                        &offset) != 4 ||
            inside < start || inside >= end) {
            continue;
        }
        // Only LMDB's own mapping of the file: shared, from offset 0. (On a private mapping
        // MADV_DONTNEED would discard data; there is none here, but never risk it.)
        if (perms[3] != 's' || offset != 0) {
            return false;
        }
        const std::size_t length = std::min<std::size_t>(end - start, size);
        return madvise(reinterpret_cast<void*>(start), length, MADV_DONTNEED) == 0;
    }
    return false;
}

void Env::open_databases(const std::filesystem::path& directory, bool read_only) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0) {
        throw StoreError(where(directory) + error_text(rc));
    }
    auto fail = [&](const std::string& message) {
        mdb_txn_abort(txn);
        throw StoreError(where(directory) + message);
    };
    // Named databases are records of the unnamed main database: none means a fresh store.
    MDB_dbi main = 0;
    MDB_stat stat{};
    if (mdb_dbi_open(txn, nullptr, 0, &main) != 0 || mdb_stat(txn, main, &stat) != 0) {
        fail("cannot read the main database");
    }
    const bool fresh = stat.ms_entries == 0;
    if (fresh && read_only) {
        fail("empty: not a Petrel store");
    }
    const unsigned create = fresh ? MDB_CREATE : 0;
    auto open = [&](const char* name, MDB_dbi& dbi) {
        rc = mdb_dbi_open(txn, name, create, &dbi);
        if (rc != 0) {
            fail(std::string("cannot open database '") + name + "': " + error_text(rc) +
                 " (not a Petrel store, or written by another version)");
        }
    };
    open("meta", dbs_.meta);
    if (fresh) {
        const std::string version = codec::encode_u64(kSchemaVersion).substr(4);
        MDB_val k = to_val(kSchemaKey);
        MDB_val v = to_val(version);
        if (mdb_put(txn, dbs_.meta, &k, &v, 0) != 0) {
            fail("cannot write the schema version");
        }
    } else {
        MDB_val k = to_val(kSchemaKey);
        MDB_val v{};
        if (mdb_get(txn, dbs_.meta, &k, &v) != 0 || v.mv_size != 4) {
            fail("unreadable schema version in 'meta' (corrupt or not a Petrel store)");
        }
        const auto version = decode_u32(view(v));
        if (version != kSchemaVersion) {
            fail("schema version " + std::to_string(version) + ", but this Petrel reads version " +
                 std::to_string(kSchemaVersion) + "; use a matching Petrel release");
        }
    }
    open("messages", dbs_.messages);
    open("refs", dbs_.refs);
    open("sessions", dbs_.sessions);
    open("subscriptions", dbs_.subscriptions);
    open("queued", dbs_.queued);
    open("inflight", dbs_.inflight);
    open("qos2", dbs_.qos2);
    open("retained", dbs_.retained);
    open("names", dbs_.names);
    open("queue_stats", dbs_.queue_stats);
    // Committing makes the handles usable by every later transaction (a read-only one too).
    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        throw StoreError(where(directory) + "cannot initialise: " + error_text(rc));
    }
}

Txn::Txn(MDB_env* env, bool read_only) {
    const int rc = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn_);
    if (rc != 0) {
        txn_ = nullptr;
        throw TxnFailure{rc, "cannot begin transaction: " + error_text(rc)};
    }
}

Txn::~Txn() {
    if (txn_ != nullptr) {
        mdb_txn_abort(txn_);
    }
}

int Txn::commit() {
    const int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;  // committed or, on failure, already freed by LMDB
    return rc;
}

std::optional<std::string_view> get(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
    MDB_val k = to_val(key);
    MDB_val v{};
    const int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return std::nullopt;
    }
    if (rc != 0) {
        throw TxnFailure{rc, "read failed: " + error_text(rc)};
    }
    return view(v);
}

void put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    const int rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc == MDB_BAD_VALSIZE) {
        throw TxnFailure{0, "key of " + std::to_string(key.size()) + " bytes is too long"};
    }
    if (rc != 0) {
        throw TxnFailure{rc, "write failed: " + error_text(rc)};
    }
}

bool del(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
    MDB_val k = to_val(key);
    const int rc = mdb_del(txn, dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) {
        return false;
    }
    if (rc != 0) {
        throw TxnFailure{rc, "delete failed: " + error_text(rc)};
    }
    return true;
}

std::uint64_t entries(MDB_txn* txn, MDB_dbi dbi) {
    MDB_stat stat{};
    if (mdb_stat(txn, dbi, &stat) != 0) {
        return 0;
    }
    return stat.ms_entries;
}

bool has_client_records(MDB_txn* txn, const Databases& dbs, std::string_view client_prefix) {
    for (MDB_dbi dbi : {dbs.sessions, dbs.subscriptions, dbs.queued, dbs.inflight, dbs.qos2}) {
        Cursor cursor(txn, dbi);
        if (cursor.seek(client_prefix) && cursor.key().starts_with(client_prefix)) {
            return true;
        }
    }
    return false;
}

Cursor::Cursor(MDB_txn* txn, MDB_dbi dbi) {
    const int rc = mdb_cursor_open(txn, dbi, &cursor_);
    if (rc != 0) {
        throw TxnFailure{rc, "cannot open cursor: " + error_text(rc)};
    }
}

Cursor::~Cursor() {
    mdb_cursor_close(cursor_);
}

bool Cursor::seek(std::string_view start) {
    if (start.empty()) {
        return step(MDB_FIRST);
    }
    key_ = to_val(start);
    return step(MDB_SET_RANGE);
}

bool Cursor::last() {
    return step(MDB_LAST);
}

bool Cursor::next() {
    return step(MDB_NEXT);
}

bool Cursor::prev() {
    return step(MDB_PREV);
}

void Cursor::erase_current() {
    const int rc = mdb_cursor_del(cursor_, 0);
    if (rc != 0) {
        throw TxnFailure{rc, "delete failed: " + error_text(rc)};
    }
}

bool Cursor::step(MDB_cursor_op op) {
    const int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
    if (rc == MDB_NOTFOUND) {
        return false;
    }
    if (rc != 0) {
        throw TxnFailure{rc, "cursor failed: " + error_text(rc)};
    }
    return true;
}

}  // namespace petrel::store::lmdb
