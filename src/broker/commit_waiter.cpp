#include "commit_waiter.hpp"

namespace petrel::broker {

CommitWaiter::~CommitWaiter() {
    store::CommitResult result;
    if (failed_.load(std::memory_order_acquire)) {
        std::lock_guard lock(failure_mutex_);
        result = failure_;
    }
    auto task = [reply = std::move(reply_), result = std::move(result)] { reply(result); };
    if (loop_.in_loop_thread()) {
        loop_.defer(std::move(task));
    } else {
        loop_.post(std::move(task));
    }
}

void CommitWaiter::record(const store::CommitResult& result) {
    if (result.ok) {
        return;
    }
    std::lock_guard lock(failure_mutex_);
    if (!failed_.load(std::memory_order_relaxed)) {
        failure_ = result;
        failed_.store(true, std::memory_order_release);
    }
}

}  // namespace petrel::broker
