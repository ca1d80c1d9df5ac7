// Applies WriteBatches to an open LMDB write transaction, keeping message reference
// counts and the per-client queue summaries (`queue_stats`) exact. Internal to src/store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "lmdb_support.hpp"
#include "petrel/store/store.hpp"

namespace petrel::store::lmdb {

class BatchApplier {
  public:
    BatchApplier(MDB_txn* txn, const Databases& dbs) : txn_(txn), dbs_(dbs) {}

    // Applies one batch; throws TxnFailure, after which the transaction must be aborted.
    // Several batches may be applied to the same transaction (group commit): each one's
    // messages and reference counts are settled at its end, as if it ran alone.
    void apply(const WriteBatch& batch);

  private:
    void apply_one(const Mutation& m);
    void erase_client(const std::string& client_id);
    // Long client ids (codec::is_hashed) are stored in `names`: claim_name before writing a
    // record of such a client (it fails the batch if another id has the same key);
    // owns_name before erasing one (false: nothing of that client is stored);
    // released_record after erasing one, so that an unused name goes at the batch's end.
    void claim_name(const std::string& client_id);
    bool owns_name(const std::string& client_id);
    void released_record(const std::string& client_id);
    void drop_unused_names();
    void acquire(MessageId id);
    void release(MessageId id);
    void settle_messages();
    std::uint64_t stored_references(MessageId id);
    // The queue summary of the client whose keys start with `prefix`, as this batch has
    // left it so far; written back by write_summaries() at the batch's end.
    QueueSummary& summary(const std::string& prefix);
    std::optional<std::uint64_t> highest_queued_seq(const std::string& prefix);
    void queued_removed(const std::string& prefix, std::uint64_t seq, std::uint64_t bytes);
    void write_summaries();

    MDB_txn* txn_;
    const Databases& dbs_;
    // Per batch: messages put (not yet written) and reference count changes.
    std::unordered_map<MessageId, session::MessagePtr> puts_;
    std::unordered_map<MessageId, std::int64_t> deltas_;
    // Per batch: client prefixes whose stored name is known to match, and those of long
    // client ids that lost a record.
    std::set<std::string> named_;
    std::set<std::string> released_;
    // Per batch: the queue summaries it changes, by client prefix (a count of 0 means the
    // queue is empty and its record goes).
    std::map<std::string, QueueSummary> summaries_;
};

}  // namespace petrel::store::lmdb
