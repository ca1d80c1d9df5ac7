// StagedWrites: everything one worker writes to the store during one event batch, submitted
// as one WriteBatch when the batch ends.
//
// The store's writer groups batches from all workers into one transaction anyway; staging
// per event batch also saves a lock, an allocation and a callback per message. All writes
// about a session come from its home worker, in order, so they reach the store in the
// order the session's state changed.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "commit_waiter.hpp"
#include "petrel/net/event_loop.hpp"
#include "petrel/store/store.hpp"

namespace petrel::broker {

class StoreHealth;

class StagedWrites {
  public:
    StagedWrites(net::EventLoop& loop, store::Store& store, StoreHealth& health)
        : loop_(loop), store_(store), health_(health) {}

    // The batch being staged; the submit is scheduled for the end of the event batch.
    store::WriteBatch& batch();
    // `token` is held until the staged batch is committed and records its result.
    void hold(CommitToken token);
    // Runs on this worker's loop if the staged batch fails.
    void on_failure(std::function<void()> undo);
    // Submits now (at shut-down, when no end of batch may come).
    void submit();

  private:
    net::EventLoop& loop_;
    store::Store& store_;
    StoreHealth& health_;
    store::WriteBatch batch_;
    std::vector<CommitToken> tokens_;
    std::vector<std::function<void()>> undo_;
    bool scheduled_ = false;
};

}  // namespace petrel::broker
