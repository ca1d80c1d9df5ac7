// ReplyGate: keeps a connection's replies in order while some of them wait for the disk.
//
// PUBACKs must go out in the order the PUBLISHes came [MQTT-4.6.0-2], and a message to a
// subscriber must not overtake an earlier one on the same topic; yet one reply may wait
// for a commit while the next needs none. Every reply that must keep its place takes a
// ticket; a reply runs once it is completed and every earlier ticket has run.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

#include "petrel/store/store.hpp"

namespace petrel::broker {

class ReplyGate {
  public:
    using Reply = std::function<void(const store::CommitResult&)>;
    using Ticket = std::uint64_t;

    // A reply that runs when complete(ticket) has been called and all before it have run.
    Ticket open(Reply reply) {
        entries_.push_back(Entry{std::move(reply), std::nullopt});
        return first_ + entries_.size() - 1;
    }

    void complete(Ticket ticket, const store::CommitResult& result) {
        if (ticket < first_ || ticket - first_ >= entries_.size()) {
            return;
        }
        entries_[ticket - first_].result = result;
        while (!entries_.empty() && entries_.front().result) {
            Entry entry = std::move(entries_.front());
            entries_.pop_front();
            ++first_;
            entry.reply(*entry.result);  // may open more tickets: the deque is consistent
        }
    }

    // A reply that needs no commit: runs now unless earlier ones still wait.
    void run_in_order(Reply reply) {
        if (entries_.empty()) {
            reply(store::CommitResult{});
            return;
        }
        complete(open(std::move(reply)), store::CommitResult{});
    }

    bool empty() const { return entries_.empty(); }

  private:
    struct Entry {
        Reply reply;
        std::optional<store::CommitResult> result;
    };
    std::deque<Entry> entries_;
    Ticket first_ = 0;
};

}  // namespace petrel::broker
