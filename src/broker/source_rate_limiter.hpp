// New connections per second from one source address (`max_connection_rate`): a token
// bucket per address, refilled at the rate, holding a burst of the same size.
//
// Shared by every worker, since EPOLLEXCLUSIVE spreads one address's connections over all
// of them; a mutex guards the table (taken once per accepted socket, never per packet).
// The table forgets an address once its bucket is full again, so it holds only the
// addresses that connected in the last second or so (a burst refills in one second).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "petrel/connection/token_bucket.hpp"

namespace petrel::broker {

class SourceRateLimiter {
  public:
    using Clock = std::chrono::steady_clock;

    // `per_second` 0: every connection is allowed and nothing is tracked.
    explicit SourceRateLimiter(unsigned per_second, std::size_t max_tracked = kMaxTracked);

    // Thread-safe. True when a new connection from `address` is within the rate.
    bool allow(std::string_view address, Clock::time_point now);
    // Thread-safe. Forgets addresses whose bucket is full again (1 s tick).
    void forget_idle(Clock::time_point now);
    std::size_t tracked() const;

    // Beyond this many addresses within about a second, new addresses are allowed without
    // being tracked: the table stays bounded under a flood from many addresses, which a
    // per-address limit cannot stop anyway (max_connections and the memory guard can).
    static constexpr std::size_t kMaxTracked = 100'000;

  private:
    const double per_second_;
    const std::size_t max_tracked_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, connection::TokenBucket> buckets_;  // guarded by mutex_
};

}  // namespace petrel::broker
