#include "staged_writes.hpp"

#include "store_health.hpp"

namespace petrel::broker {

void StagedWrites::schedule() {
    if (!scheduled_) {
        scheduled_ = true;
        loop_.defer([this] { submit(); });
    }
}

store::WriteBatch& StagedWrites::batch() {
    schedule();
    return batch_;
}

void StagedWrites::hold(CommitToken token) {
    if (token) {
        tokens_.push_back(std::move(token));
        schedule();  // nothing may be staged after it: the reply must not wait for that
    }
}

void StagedWrites::submit() {
    scheduled_ = false;
    if (batch_.empty()) {
        tokens_.clear();
        queue_entries_.clear();
        return;
    }
    // std::function wants a copyable callable: the move-only parts travel in a box.
    struct Waiting {
        std::vector<CommitToken> tokens;
        std::vector<StagedQueueEntry> queue_entries;
    };
    auto waiting =
        std::make_shared<Waiting>(Waiting{std::move(tokens_), std::move(queue_entries_)});
    tokens_.clear();
    queue_entries_.clear();
    store::WriteBatch batch = std::move(batch_);
    batch_ = store::WriteBatch{};
    store_.submit(std::move(batch), [this, waiting](const store::CommitResult& result) {
        health_.on_commit(result);
        for (const CommitToken& token : waiting->tokens) {
            token->record(result);
        }
        waiting->tokens.clear();  // replies run (or are posted) now
        if (!result.ok && !waiting->queue_entries.empty()) {
            loop_.post([this, waiting] { forget_(std::move(waiting->queue_entries)); });
        }
    });
}

}  // namespace petrel::broker
