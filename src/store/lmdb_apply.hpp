// Applies WriteBatches to an open LMDB write transaction, keeping message reference
// counts exact. Internal to src/store.
#pragma once

#include <cstdint>
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

    MDB_txn* txn_;
    const Databases& dbs_;
    // Per batch: messages put (not yet written) and reference count changes.
    std::unordered_map<MessageId, session::MessagePtr> puts_;
    std::unordered_map<MessageId, std::int64_t> deltas_;
    // Per batch: client prefixes whose stored name is known to match, and those of long
    // client ids that lost a record.
    std::set<std::string> named_;
    std::set<std::string> released_;
};

}  // namespace petrel::store::lmdb
