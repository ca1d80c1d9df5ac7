#include "source_rate_limiter.hpp"

namespace petrel::broker {

SourceRateLimiter::SourceRateLimiter(unsigned per_second, std::size_t max_tracked)
    : per_second_(per_second), max_tracked_(max_tracked) {}

bool SourceRateLimiter::allow(std::string_view address, Clock::time_point now) {
    if (per_second_ <= 0) {
        return true;
    }
    std::lock_guard lock(mutex_);
    auto found = buckets_.find(std::string(address));
    if (found == buckets_.end()) {
        if (buckets_.size() >= max_tracked_) {
            return true;  // see kMaxTracked
        }
        found = buckets_
                    .emplace(std::string(address),
                             connection::TokenBucket(per_second_, per_second_, now))
                    .first;
    }
    return found->second.take(now);
}

void SourceRateLimiter::forget_idle(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    std::erase_if(buckets_, [now](auto& entry) { return entry.second.full(now); });
}

std::size_t SourceRateLimiter::tracked() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace petrel::broker
