// MemoryStore: the Store interface with nothing on disk, for tests and `persistence false`.
//
// It applies a batch at once and calls `done` on the submitting thread before submit()
// returns, so a broker running without persistence pays no thread hop. It follows the
// same rules as LmdbStore (reference counting, dangling references refused) so that one
// conformance suite covers both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "petrel/store/store.hpp"

namespace petrel::store {

class MemoryStore final : public Store {
  public:
    void submit(WriteBatch batch, Done done) override;
    Snapshot load() override;
    Snapshot recover(std::size_t queue_window) override;
    QueuedRead read_queued(const std::string& client_id, std::uint64_t after_seq,
                           std::size_t limit) override;
    StoreCounts counts() override;
    void flush() override {}

  private:
    struct StoredMessage {
        session::MessagePtr message;
        std::uint64_t references = 0;
    };
    using RefDeltas = std::unordered_map<MessageId, std::int64_t>;

    CommitResult validate(const WriteBatch& batch) const;
    void apply(const WriteBatch& batch);
    void apply_one(const Mutation& m, RefDeltas& deltas,
                   std::unordered_map<MessageId, session::MessagePtr>& puts);
    void erase_client_data(const std::string& client_id, RefDeltas& deltas);
    // load() (all_messages) and recover(): see Store.
    Snapshot snapshot(std::size_t queue_window, bool all_messages);

    std::mutex mutex_;  // guards everything below: submit may come from any worker
    std::map<std::string, StoredSession> sessions_;
    std::map<std::pair<std::string, std::string>, StoredSubscription> subscriptions_;
    std::map<std::string, std::map<std::uint64_t, QueuedEntry>> queued_;
    std::map<std::string, std::map<protocol::PacketId, InflightEntry>> inflight_;
    std::map<std::string, std::set<protocol::PacketId>> inbound_qos2_;
    std::map<std::string, MessageId> retained_;
    std::unordered_map<MessageId, StoredMessage> messages_;  // each with Message::id set
    MessageId max_message_id_ = 0;
    std::int64_t clock_ms_ = 0;
};

}  // namespace petrel::store
