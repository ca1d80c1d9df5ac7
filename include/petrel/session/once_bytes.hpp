// Bytes derived from an immutable shared object, built by the first thread that needs them
// and then read by every other without a lock. A Message carries its forwarded properties
// in wire form this way: encoded at most once, and only if some v5 subscriber receives it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

namespace petrel::session {

class OnceBytes {
  public:
    OnceBytes() = default;
    // A copy starts empty: the object it belongs to may be changed before it is shared.
    OnceBytes(const OnceBytes&) noexcept {}
    OnceBytes(OnceBytes&& other) noexcept : bytes_(other.bytes_.exchange(nullptr)) {}
    OnceBytes& operator=(const OnceBytes& other) noexcept {
        if (this != &other) {
            reset();
        }
        return *this;
    }
    OnceBytes& operator=(OnceBytes&& other) noexcept {
        if (this != &other) {
            reset();
            bytes_.store(other.bytes_.exchange(nullptr));
        }
        return *this;
    }
    ~OnceBytes() { reset(); }

    // The bytes, built by `build()` on first use. Two threads may both build them; one
    // result wins and the other is discarded, so `build` must give the same bytes each time.
    template <typename Build>
    const std::string& get(Build&& build) const {
        if (const std::string* built = bytes_.load(std::memory_order_acquire)) {
            return *built;
        }
        auto fresh = std::make_unique<const std::string>(build());
        const std::string* expected = nullptr;
        if (bytes_.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
            return *fresh.release();
        }
        return *expected;
    }

  private:
    void reset() { delete bytes_.exchange(nullptr); }

    mutable std::atomic<const std::string*> bytes_{nullptr};
};

}  // namespace petrel::session
