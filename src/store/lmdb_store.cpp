// LmdbStore: the writer thread, group commit, map growth and out-of-space handling.
#include "petrel/store/lmdb_store.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <thread>

#include "lmdb_apply.hpp"
#include "lmdb_read.hpp"
#include "lmdb_support.hpp"

namespace petrel::store {

namespace {

constexpr std::size_t kPageSize = 4096;

// How often the writer lets go of the map's pages (LmdbStore::release_resident_pages):
// a writer filling the store at full speed faults in well under a few hundred MB a second.
constexpr std::chrono::seconds kReleaseInterval{1};

struct Pending {
    WriteBatch batch;
    Store::Done done;
};

// One attempt at a transaction: rc is the MDB code or errno that stopped it (0 with a
// non-empty error is a rule the batch broke).
struct Attempt {
    int rc = 0;
    std::string error;
    bool ok() const { return rc == 0 && error.empty(); }
};

// Below this much free space, an EIO from a commit is taken for a full disk.
constexpr std::uintmax_t kLowDiskSpace = std::uintmax_t{4} << 20;

// The map at its limit, or the disk full. A failed write comes back from the commit as
// its errno (ENOSPC; EDQUOT over a quota), except that a write the disk filled up half
// way through comes back as EIO (mdb_page_flush: "short write, filesystem full?"): an
// EIO counts when the store's filesystem has next to nothing left.
bool out_of_space(int rc, const std::filesystem::path& directory) {
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT) {
        return true;
    }
    if (rc != EIO) {
        return false;
    }
    std::error_code ec;
    const auto space = std::filesystem::space(directory, ec);
    return !ec && space.available < kLowDiskSpace;
}

CommitResult to_result(const Attempt& a, const std::filesystem::path& directory) {
    if (a.ok()) {
        return {};
    }
    return CommitResult{false, out_of_space(a.rc, directory), a.error};
}

}  // namespace

struct LmdbStore::Impl {
    explicit Impl(LmdbOptions o)
        : options(std::move(o)),
          env(options.directory, {.map_size = round_up(options.map_size), .sync = options.sync}),
          writer([this] { run(); }) {}

    static std::size_t round_up(std::size_t size) {
        return std::max(kPageSize, (size + kPageSize - 1) / kPageSize * kPageSize);
    }

    void run();
    void commit_group(std::vector<Pending>& group);
    CommitResult commit_with_growth(std::span<Pending> batches);
    Attempt attempt(std::span<Pending> batches);
    bool grow();
    void sync_to_disk();
    void release_resident_pages();

    const LmdbOptions options;
    lmdb::Env env;
    // mdb_env_set_mapsize is only legal with no transaction active in the process: the
    // writer holds this exclusively to resize, readers (load, recover, read_queued,
    // counts) hold it shared.
    std::shared_mutex resize_mutex;

    std::mutex mutex;  // guards the fields below
    std::condition_variable wake_writer;
    std::condition_variable progress;
    std::vector<Pending> queue;
    std::uint64_t submitted = 0;
    std::uint64_t committed = 0;  // batches finished (ok or failed), in submit order
    std::uint64_t durable = 0;    // batches known to be on disk
    std::uint64_t transactions = 0;
    bool sync_requested = false;
    bool stopping = false;

    std::thread writer;  // last: starts once everything above exists
};

LmdbStore::LmdbStore(LmdbOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

LmdbStore::~LmdbStore() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake_writer.notify_one();
    impl_->writer.join();
}

void LmdbStore::submit(WriteBatch batch, Done done) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->queue.push_back(Pending{std::move(batch), std::move(done)});
        ++impl_->submitted;
    }
    impl_->wake_writer.notify_one();
}

void LmdbStore::flush() {
    std::unique_lock lock(impl_->mutex);
    const auto target = impl_->submitted;
    impl_->sync_requested = true;
    impl_->wake_writer.notify_one();
    impl_->progress.wait(lock, [&] { return impl_->durable >= target; });
}

std::uint64_t LmdbStore::transactions_committed() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->transactions;
}

std::size_t LmdbStore::map_size() const {
    return impl_->env.map_size();
}

void LmdbStore::release_resident_pages() {
    impl_->release_resident_pages();
}

// The shared lock: mdb_env_set_mapsize moves the map, and madvise must not reach
// whatever might be mapped where it was.
void LmdbStore::Impl::release_resident_pages() {
    std::shared_lock lock(resize_mutex);
    env.release_resident_pages();
}

// load() and recover() read through the map; what they keep is copied out of it, so the
// pages they touched are let go once the transaction ends.
Snapshot LmdbStore::load() {
    Snapshot s;
    {
        std::shared_lock lock(impl_->resize_mutex);
        try {
            lmdb::Txn txn(impl_->env.get(), true);
            s = lmdb::read_snapshot(txn.get(), impl_->env.dbs(), nullptr);
        } catch (const lmdb::TxnFailure& f) {
            throw StoreError("cannot read store: " + f.what);
        }
    }
    impl_->release_resident_pages();
    return s;
}

Snapshot LmdbStore::recover(std::size_t queue_window) {
    Snapshot s;
    {
        std::shared_lock lock(impl_->resize_mutex);
        try {
            lmdb::Txn txn(impl_->env.get(), true);
            s = lmdb::recover_snapshot(txn.get(), impl_->env.dbs(), queue_window);
        } catch (const lmdb::TxnFailure& f) {
            throw StoreError("cannot read store: " + f.what);
        }
    }
    impl_->release_resident_pages();
    return s;
}

// MDB_NOTLS (see lmdb::Env) lets each caller's thread run its own read transaction; the
// shared lock keeps the writer from resizing the map under it.
Store::QueuedRead LmdbStore::read_queued(const std::string& client_id, std::uint64_t after_seq,
                                         std::size_t limit) {
    std::shared_lock lock(impl_->resize_mutex);
    try {
        lmdb::Txn txn(impl_->env.get(), true);
        return lmdb::read_queue(txn.get(), impl_->env.dbs(), client_id, after_seq, limit);
    } catch (const lmdb::TxnFailure& f) {
        throw StoreError("cannot read store: " + f.what);
    }
}

StoreCounts LmdbStore::counts() {
    std::shared_lock lock(impl_->resize_mutex);
    try {
        lmdb::Txn txn(impl_->env.get(), true);
        return lmdb::read_counts(txn.get(), impl_->env.dbs());
    } catch (const lmdb::TxnFailure&) {
        return {};  // counts feed metrics only; load() and check() report read failures
    }
}

void LmdbStore::Impl::run() {
    using Clock = std::chrono::steady_clock;
    auto next_sync = Clock::now() + options.batch_interval;
    auto next_release = Clock::now() + kReleaseInterval;
    for (;;) {
        std::vector<Pending> group;
        bool stop = false;
        bool want_sync = false;
        {
            std::unique_lock lock(mutex);
            auto ready = [&] { return stopping || sync_requested || !queue.empty(); };
            if (options.sync) {
                wake_writer.wait(lock, ready);
            } else {
                wake_writer.wait_until(lock, next_sync, ready);
            }
            group.swap(queue);
            stop = stopping && group.empty();
            want_sync = sync_requested || stop;
            sync_requested = false;
        }
        if (!group.empty()) {
            commit_group(group);
        }
        bool synced = options.sync;  // a sync commit is durable at once
        if (!options.sync && (want_sync || Clock::now() >= next_sync)) {
            sync_to_disk();
            next_sync = Clock::now() + options.batch_interval;
            synced = true;
        }
        {
            std::lock_guard lock(mutex);
            committed += group.size();
            if (synced) {
                durable = committed;
            }
        }
        progress.notify_all();
        if (stop) {
            return;
        }
        // After the callbacks and the wake-up, so that no commit waits for it.
        if (!group.empty() && Clock::now() >= next_release) {
            release_resident_pages();
            next_release = Clock::now() + kReleaseInterval;
        }
    }
}

void LmdbStore::Impl::sync_to_disk() {
    // A failed sync leaves commits in the page cache; the next interval tries again.
    mdb_env_sync(env.get(), 1);
}

// One transaction for the whole group; if it fails, each batch alone, so that one bad or
// oversized batch fails by itself and the others still commit.
void LmdbStore::Impl::commit_group(std::vector<Pending>& group) {
    std::vector<CommitResult> results(group.size());
    const CommitResult all = commit_with_growth(group);
    if (all.ok || group.size() == 1) {
        std::fill(results.begin(), results.end(), all);
    } else {
        for (std::size_t i = 0; i < group.size(); ++i) {
            results[i] = commit_with_growth(std::span(&group[i], 1));
        }
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (group[i].done) {
            group[i].done(std::move(results[i]));
        }
    }
}

CommitResult LmdbStore::Impl::commit_with_growth(std::span<Pending> batches) {
    for (;;) {
        Attempt a = attempt(batches);
        if (a.rc == MDB_MAP_FULL && grow()) {
            continue;  // the aborted transaction left nothing behind: replay it whole
        }
        return to_result(a, options.directory);
    }
}

namespace {

// Whether a batch brings new data in (a published message queued or retained, a QoS 2
// id), as opposed to moving or removing what is there.
bool adds_data(const WriteBatch& batch) {
    for (const Mutation& m : batch.mutations()) {
        if (std::holds_alternative<mutation::PushQueued>(m) ||
            std::holds_alternative<mutation::SetRetained>(m) ||
            std::holds_alternative<mutation::AddInboundQos2>(m)) {
            return true;
        }
    }
    return false;
}

// Bytes of the map in use as of the last commit: every page up to the highest one
// written, less the pages on LMDB's freelist (reusable by later transactions). A freelist
// record's value is a list of page numbers whose first word is their count (LMDB's IDL
// layout). LMDB opens no cursor on the freelist inside a write transaction, hence the
// short read transaction, begun before the writer's own.
std::size_t used_bytes(MDB_env* env) {
    MDB_envinfo info{};
    MDB_stat stat{};
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &stat) != 0) {
        return 0;
    }
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) != 0) {
        return 0;
    }
    std::size_t free_pages = 0;
    MDB_cursor* cursor = nullptr;
    if (mdb_cursor_open(txn, 0 /* FREE_DBI */, &cursor) == 0) {
        MDB_val key{};
        MDB_val value{};
        while (mdb_cursor_get(cursor, &key, &value, MDB_NEXT) == 0) {
            if (value.mv_size >= sizeof(std::size_t)) {
                std::size_t count = 0;
                std::memcpy(&count, value.mv_data, sizeof count);
                free_pages += count;
            }
        }
        mdb_cursor_close(cursor);
    }
    mdb_txn_abort(txn);
    const std::size_t pages = info.me_last_pgno + 1;
    return (pages > free_pages ? pages - free_pages : 0) * stat.ms_psize;
}

}  // namespace

Attempt LmdbStore::Impl::attempt(std::span<Pending> batches) {
    // With a growth limit, a map that is completely full cannot even delete: every change
    // copies pages. New data is refused once the pages in use pass 90% of the limit, so
    // that acknowledgements, deliveries and expiries can still drain the store.
    if (options.max_map_size != 0 &&
        std::any_of(batches.begin(), batches.end(),
                    [](const Pending& p) { return adds_data(p.batch); }) &&
        used_bytes(env.get()) > options.max_map_size / 10 * 9) {
        return Attempt{ENOSPC, "store above 90% of store_max_map_size"};
    }
    try {
        lmdb::Txn txn(env.get(), false);
        lmdb::BatchApplier applier(txn.get(), env.dbs());
        for (const Pending& p : batches) {
            applier.apply(p.batch);
        }
        const int rc = txn.commit();
        if (rc != 0) {
            return Attempt{rc, "commit failed: " + lmdb::error_text(rc)};
        }
    } catch (const lmdb::TxnFailure& f) {
        return Attempt{f.rc, f.what};
    }
    std::lock_guard lock(mutex);
    ++transactions;
    return {};
}

bool LmdbStore::Impl::grow() {
    const std::size_t current = env.map_size();
    const std::size_t limit = options.max_map_size == 0
                                  ? std::numeric_limits<std::size_t>::max()
                                  : options.max_map_size / kPageSize * kPageSize;
    if (current >= limit) {
        return false;
    }
    const std::size_t next = current > limit / 2 ? limit : current * 2;
    std::unique_lock lock(resize_mutex);
    return mdb_env_set_mapsize(env.get(), next) == 0;
}

}  // namespace petrel::store
