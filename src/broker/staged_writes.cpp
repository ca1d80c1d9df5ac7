#include "staged_writes.hpp"

#include "store_health.hpp"

namespace petrel::broker {

store::WriteBatch& StagedWrites::batch() {
    if (!scheduled_) {
        scheduled_ = true;
        loop_.defer([this] { submit(); });
    }
    return batch_;
}

void StagedWrites::hold(CommitToken token) {
    if (token) {
        tokens_.push_back(std::move(token));
    }
}

void StagedWrites::on_failure(std::function<void()> undo) {
    undo_.push_back(std::move(undo));
}

void StagedWrites::submit() {
    scheduled_ = false;
    if (batch_.empty()) {
        tokens_.clear();
        undo_.clear();
        return;
    }
    // std::function wants a copyable callable: the move-only parts travel in a box.
    struct Waiting {
        std::vector<CommitToken> tokens;
        std::vector<std::function<void()>> undo;
    };
    auto waiting = std::make_shared<Waiting>(Waiting{std::move(tokens_), std::move(undo_)});
    tokens_.clear();
    undo_.clear();
    store::WriteBatch batch = std::move(batch_);
    batch_ = store::WriteBatch{};
    store_.submit(std::move(batch), [this, waiting](const store::CommitResult& result) {
        health_.on_commit(result);
        for (const CommitToken& token : waiting->tokens) {
            token->record(result);
        }
        waiting->tokens.clear();  // replies run (or are posted) now
        if (!result.ok && !waiting->undo.empty()) {
            loop_.post([waiting] {
                for (auto& undo : waiting->undo) {
                    undo();
                }
            });
        }
    });
}

}  // namespace petrel::broker
