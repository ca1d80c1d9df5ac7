// StagedWrites: everything one worker writes to the store during one event batch, submitted
// as one WriteBatch when the batch ends.
//
// The store's writer groups batches from all workers into one transaction anyway; staging
// per event batch also saves a lock, an allocation and a callback per message. What is
// staged, and in which order, is the SessionRecorder's (session_recorder.hpp).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "commit_waiter.hpp"
#include "petrel/net/event_loop.hpp"
#include "petrel/store/store.hpp"
#include "session_handle.hpp"

namespace petrel::broker {

class StoreHealth;

// A queue entry in a staged batch, as its session counts it: what to take back if the
// batch fails.
struct StagedQueueEntry {
    SessionHandlePtr target;
    std::uint64_t seq = 0;
    std::uint64_t bytes = 0;
};

class StagedWrites {
  public:
    // Called on this worker's loop with the queue entries of a batch that failed.
    using Forget = std::function<void(std::vector<StagedQueueEntry>)>;

    StagedWrites(net::EventLoop& loop, store::Store& store, StoreHealth& health, Forget forget)
        : loop_(loop), store_(store), health_(health), forget_(std::move(forget)) {}

    // The batch being staged; the submit is scheduled for the end of the event batch.
    store::WriteBatch& batch();
    // `token` is held until the staged batch is committed and records its result. A batch
    // that stays empty is "committed" at the end of the event batch.
    void hold(CommitToken token);
    // Notes a queue entry staged in the batch (see Forget).
    void track(StagedQueueEntry entry) { queue_entries_.push_back(std::move(entry)); }
    // Submits now (at shut-down, when no end of batch may come).
    void submit();

  private:
    net::EventLoop& loop_;
    store::Store& store_;
    StoreHealth& health_;
    Forget forget_;
    store::WriteBatch batch_;
    std::vector<CommitToken> tokens_;
    std::vector<StagedQueueEntry> queue_entries_;
    bool scheduled_ = false;

    void schedule();
};

}  // namespace petrel::broker
