// A token bucket: events at up to `rate` per second on average, with bursts of up to
// `burst` at once. The connection rate per source address and the PUBLISH rate per client
// are limited with it (the broker keeps the former, the server endpoint the latter).
//
// Time comes in as an argument, so the arithmetic is tested without a clock; the bucket
// is a plain value with no lock (its owner serializes access).
#pragma once

#include <algorithm>
#include <chrono>

namespace petrel::connection {

class TokenBucket {
  public:
    using Clock = std::chrono::steady_clock;

    // Starts full: a newcomer may burst at once.
    TokenBucket(double rate_per_second, double burst, Clock::time_point now)
        : rate_(rate_per_second), burst_(burst), tokens_(burst), updated_(now) {}

    // Takes one token when there is one; false (nothing taken) when the rate is exceeded.
    bool take(Clock::time_point now) {
        tokens_ = tokens_at(now);
        updated_ = std::max(updated_, now);
        if (tokens_ < 1.0) {
            return false;
        }
        tokens_ -= 1.0;
        return true;
    }

    // True when the bucket has refilled completely: it then says no more than a new one
    // would, and its owner may forget it.
    bool full(Clock::time_point now) const { return tokens_at(now) >= burst_; }

  private:
    double tokens_at(Clock::time_point now) const {
        if (now <= updated_) {
            return tokens_;  // several threads' clocks read a hair apart: never go back
        }
        const std::chrono::duration<double> elapsed = now - updated_;
        return std::min(burst_, tokens_ + elapsed.count() * rate_);
    }

    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point updated_;
};

}  // namespace petrel::connection
