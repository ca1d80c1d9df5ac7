#include "store_health.hpp"

namespace petrel::broker {

namespace {

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

void StoreHealth::on_commit(const store::CommitResult& result) {
    if (!result.ok) {
        if (result.out_of_space) {
            next_probe_ms_.store(steady_ms() + 1000, std::memory_order_relaxed);
            if (!full_.exchange(true)) {
                log_.error(
                    "store full ({}): refusing QoS 1/2 publishes until space returns "
                    "(raise store_max_map_size or free disk space)",
                    result.error);
            }
        } else {
            log_.error("store commit failed: {}", result.error);
        }
    }
}

void StoreHealth::on_probe(const store::CommitResult& result) {
    if (result.ok && full_.exchange(false)) {
        log_.warn("store has space again: accepting QoS 1/2 publishes");
    }
}

StoreHealth::Admission StoreHealth::admit() {
    if (!full_.load(std::memory_order_relaxed)) {
        return Admission::Accept;
    }
    std::int64_t due = next_probe_ms_.load(std::memory_order_relaxed);
    const std::int64_t now = steady_ms();
    // One publish per second goes through to find out whether space has come back.
    if (now >= due && next_probe_ms_.compare_exchange_strong(due, now + 1000)) {
        return Admission::Probe;
    }
    return Admission::Refuse;
}

}  // namespace petrel::broker
