// CommitWaiter: a reply that must wait until every store batch it depends on is committed.
//
// A QoS 1 PUBLISH may produce several writes (one queue entry per persistent subscriber
// and a retained update; session_recorder.hpp says which and in which commit); its PUBACK
// may go out only when all of them are on disk. Each batch that carries such a write holds
// a CommitToken and records its result; when the last holder lets go, the reply runs on
// the worker that owns it, with the first failure if there was one. A message no persistent
// session receives has no holder but the publisher's own, so its reply is not delayed
// beyond the current event batch: clean sessions and QoS 0 never wait for the disk.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "petrel/net/event_loop.hpp"
#include "petrel/store/store.hpp"

namespace petrel::broker {

class CommitWaiter {
  public:
    using Reply = std::function<void(const store::CommitResult&)>;

    CommitWaiter(net::EventLoop& loop, Reply reply) : loop_(loop), reply_(std::move(reply)) {}
    // Runs the reply on the owning loop: deferred when already on it, else posted.
    ~CommitWaiter();
    CommitWaiter(const CommitWaiter&) = delete;
    CommitWaiter& operator=(const CommitWaiter&) = delete;

    // Thread-safe. Keeps the first failure.
    void record(const store::CommitResult& result);

  private:
    net::EventLoop& loop_;
    Reply reply_;
    std::atomic<bool> failed_{false};
    std::mutex failure_mutex_;
    store::CommitResult failure_;  // guarded by failure_mutex_; set once failed_
};

using CommitToken = std::shared_ptr<CommitWaiter>;

inline CommitToken make_commit_token(net::EventLoop& loop, CommitWaiter::Reply reply) {
    return std::make_shared<CommitWaiter>(loop, std::move(reply));
}

}  // namespace petrel::broker
