// StoreHealth: whether the store has room, shared by every worker.
//
// When a commit fails for lack of space (the map at store_max_map_size, or a full disk),
// QoS 1/2 publishes are refused up front (v5: 0x97 Quota exceeded; 3.1.1: the connection
// is closed without an acknowledgement) rather than accepted and then lost. Once a second
// one publish is let through as a probe; when everything a probe wrote is committed, the
// refusal ends. Each change is logged once.
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

    enum class Admission { Accept, Refuse, Probe };

    // Thread-safe: called with every commit result; a failure for lack of space starts
    // the refusal.
    void on_commit(const store::CommitResult& result);
    // Thread-safe: whether a QoS 1/2 publish may go ahead now. Probe: yes, and report
    // how its writes fared with on_probe().
    Admission admit();
    void on_probe(const store::CommitResult& result);
    bool full() const { return full_.load(std::memory_order_relaxed); }

  private:
    spdlog::logger& log_;
    std::atomic<bool> full_{false};
    std::atomic<std::int64_t> next_probe_ms_{0};
};

}  // namespace petrel::broker
