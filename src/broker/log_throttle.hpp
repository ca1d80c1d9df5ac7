// At most one log line per interval for a kind of event that an attacker can repeat at
// will (a refused connection): the first one is logged at once, the next ones are counted
// and the count goes into the next line that is let through. A flood then costs the log a
// line per interval, and the operator still learns how big it was.
//
// Thread-safe without a lock: every worker refuses connections, and the refusal path must
// stay cheap under exactly the flood it reports.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace petrel::broker {

class LogThrottle {
  public:
    using Clock = std::chrono::steady_clock;

    explicit LogThrottle(Clock::duration interval) : interval_(interval.count()) {}

    // Nullopt: stay quiet (the event is counted). Otherwise log now, mentioning the
    // returned number of events that were kept quiet since the last line.
    std::optional<std::uint64_t> permit(Clock::time_point now) {
        const Clock::rep at = now.time_since_epoch().count();
        Clock::rep next = next_line_at_.load(std::memory_order_relaxed);
        if (at >= next && next_line_at_.compare_exchange_strong(next, at + interval_,
                                                                std::memory_order_relaxed)) {
            return quiet_.exchange(0, std::memory_order_relaxed);
        }
        quiet_.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
    }

  private:
    const Clock::rep interval_;
    std::atomic<Clock::rep> next_line_at_{std::numeric_limits<Clock::rep>::min()};
    std::atomic<std::uint64_t> quiet_{0};
};

}  // namespace petrel::broker
