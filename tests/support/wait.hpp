// Polling waits for broker tests: tests wait for a condition with a deadline instead of
// sleeping for a guessed time, so they are fast when the broker is fast and still pass on
// a loaded machine.
#pragma once

#include <chrono>
#include <thread>

namespace petrel::test {

using namespace std::chrono_literals;

// Generous default: the shared CI machines have two cores and run several test binaries.
inline constexpr std::chrono::milliseconds kDefaultTimeout = 5s;

// Polls `predicate` until it returns true or `timeout` passes; returns its last value.
template <class Predicate>
bool eventually(Predicate&& predicate, std::chrono::milliseconds timeout = kDefaultTimeout,
                std::chrono::milliseconds poll_interval = 10ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (predicate()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return predicate();
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

// Milliseconds left until `deadline`, never negative; for splitting one budget over steps.
inline std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds{0};
}

}  // namespace petrel::test
