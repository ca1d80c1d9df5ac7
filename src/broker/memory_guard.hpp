// The memory guard (`memory_limit`): when the broker's resident memory passes the limit,
// new connections are refused until it falls below 90 % of it again. Connections already
// open keep being served: refusing newcomers is what stops the growth that a flood of
// clients causes, without taking anything from the clients the broker already serves.
//
// "Resident" means anonymous resident pages (resident minus file-backed, from
// /proc/self/statm): the LMDB map's pages are file-backed page cache the kernel can drop
// at will, and counting them would make a large store look like a memory leak.
//
// The verdict is read by every worker at accept (an atomic); it is updated by one thread
// at a time: at start-up, then on worker 0's 1 s tick.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>

namespace petrel::broker {

class MemoryGuard {
  public:
    // `limit_bytes` 0: the guard is off.
    MemoryGuard(std::size_t limit_bytes, spdlog::logger& log);

    // Measures the resident size and updates the verdict (logged when it changes).
    void check();
    // The same with a measured size: above the limit, refuse; below 90 % of it, accept.
    void update(std::size_t resident_bytes);

    bool refusing() const { return refusing_.load(std::memory_order_relaxed); }
    std::size_t limit() const { return limit_; }

  private:
    const std::size_t limit_;
    const std::size_t resume_below_;
    spdlog::logger& log_;
    std::atomic<bool> refusing_{false};
};

// Anonymous resident bytes of this process (see above); nullopt if /proc cannot be read.
std::optional<std::size_t> anonymous_resident_bytes();

// The default memory_limit: 3/4 of the physical memory, or of the cgroup's memory limit
// when there is a smaller one (a container), so that the guard acts before the kernel's
// OOM killer does.
struct DefaultMemoryLimit {
    std::size_t bytes = 0;
    std::string basis;  // "physical memory" or "the cgroup memory limit", for the log
};
DefaultMemoryLimit default_memory_limit();
// The rule alone, for tests: `cgroup_limit` is ignored when it is not below `physical`.
DefaultMemoryLimit default_memory_limit(std::size_t physical,
                                        std::optional<std::size_t> cgroup_limit);

}  // namespace petrel::broker
