// StoreHealth: whether the store has room, shared by every worker.
//
// When a commit fails for lack of space (the map at store_max_map_size, or a full disk),
// QoS 1/2 publishes are refused up front (v5: 0x97 Quota exceeded; 3.1.1: the connection
// is closed without an acknowledgement) rather than accepted and then lost. Once a second
// one publish is let through as a probe; the first commit that stores new data again ends
// the refusal. Each change is logged once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <spdlog/logger.h>

#include "petrel/store/store.hpp"

namespace petrel::broker {

class StoreHealth {
  public:
    explicit StoreHealth(spdlog::logger& log) : log_(log) {}

    // Thread-safe: called with every commit result. `stored_data` says whether the batch
    // added data (a message, a queue entry), as opposed to only removing some.
    void on_commit(const store::CommitResult& result, bool stored_data);
    // Thread-safe: true when a QoS 1/2 publish must be refused now.
    bool refuse_publish();
    bool full() const { return full_.load(std::memory_order_relaxed); }

  private:
    spdlog::logger& log_;
    std::atomic<bool> full_{false};
    std::atomic<std::int64_t> next_probe_ms_{0};
};

}  // namespace petrel::broker
