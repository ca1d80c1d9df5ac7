// LmdbStore: the Store interface on an LMDB environment (Debian liblmdb-dev), with group
// commit on one writer thread.
//
// Workers submit batches from any thread; the writer takes every batch waiting, applies
// them all in one write transaction and commits once, so one fsync serves many messages
// from many clients. `done` callbacks then run on the writer thread, in submit order.
//
// Space: the map starts at `map_size` and doubles when full, up to `max_map_size`
// (0 = no limit). A batch that does not fit, or a full disk, fails with out_of_space and
// the store keeps serving smaller batches; nothing of a failed batch is written.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "petrel/store/store.hpp"

namespace petrel::store {

struct LmdbOptions {
    std::filesystem::path directory = "data";
    // true: every commit is durable before `done` runs (`persistence_mode sync`).
    // false: commits skip fsync and the writer syncs every `batch_interval`
    // (`persistence_mode batch`): a bounded loss window, in exchange for speed.
    bool sync = true;
    std::chrono::milliseconds batch_interval{50};
    std::size_t map_size = std::size_t{64} << 20;
    std::size_t max_map_size = 0;
};

class LmdbStore final : public Store {
  public:
    // Opens or creates the environment; throws StoreError when it cannot be opened or
    // carries another schema version.
    explicit LmdbStore(LmdbOptions options);
    // Commits everything already submitted, syncs, and stops the writer.
    ~LmdbStore() override;
    LmdbStore(const LmdbStore&) = delete;
    LmdbStore& operator=(const LmdbStore&) = delete;

    void submit(WriteBatch batch, Done done) override;
    Snapshot load() override;
    Snapshot recover(std::size_t queue_window) override;
    // Read-only transactions, from any number of threads at once while the writer commits.
    QueuedRead read_queued(const std::string& client_id, std::uint64_t after_seq,
                           std::size_t limit) override;
    StoreCounts counts() override;
    void flush() override;

    // Write transactions committed so far: with group commit, far fewer than batches.
    std::uint64_t transactions_committed() const;
    // The current map size in bytes (grows when the map fills).
    std::size_t map_size() const;

    // Lets go of the store file's pages that this process has read through LMDB's memory
    // map. Readers and the writer's copy-on-write fault pages of the file into the map,
    // and they stay in the process's resident set: after a restart or a long fill its RSS
    // would approach the size of the file although the broker's own memory is small.
    // The pages stay in the kernel's page cache and the next access faults them back, so
    // this is safe at any time, with readers and the writer at work. recover(), load()
    // and the writer (at most once a second, after a commit) call it.
    void release_resident_pages();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// What `petrel --check-store DIR` prints: counts, and every problem found (a record that
// does not decode, a reference to a missing message, a reference count that does not
// match, a message nothing refers to, a schema it cannot read).
struct CheckReport {
    StoreCounts counts;
    std::vector<std::string> problems;
    bool ok() const { return problems.empty(); }
};

// Opens `directory` read-only and verifies it; never throws for a bad store.
CheckReport check(const std::filesystem::path& directory);

}  // namespace petrel::store
