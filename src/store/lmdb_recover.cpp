// recover() and read_queued(): a queue is read a window at a time, and only the messages
// that what is returned refers to are looked up, so that start-up and refills cost what
// they return, not what is stored.
#include <algorithm>
#include <limits>

#include "lmdb_read.hpp"

namespace petrel::store::lmdb {

namespace {

[[noreturn]] void unreadable(const char* db, std::string_view key) {
    Problems(nullptr).corrupt(db, key);
    throw StoreError("corrupt store");  // not reached: a Problems without a sink throws
}

// Looks up each distinct id, in id order (neighbouring ids share B-tree pages). A missing
// one is corruption: the entry referring to it could not be delivered.
void read_messages(MDB_txn* txn, const Databases& dbs, std::vector<MessageId> ids,
                   std::unordered_map<MessageId, session::MessagePtr>& out) {
    std::ranges::sort(ids);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    out.reserve(ids.size());
    Problems problems(nullptr);
    for (MessageId id : ids) {
        auto message = read_message(txn, dbs, id, problems);
        if (!message) {
            problems.report("message " + std::to_string(id) + " is referenced but missing");
        }
        out.emplace(id, std::move(message));
    }
}

MessageId read_max_message_id(MDB_txn* txn, const Databases& dbs) {
    MessageId high = 0;
    if (auto stored = get(txn, dbs.meta, kMaxMessageIdKey)) {
        auto id = codec::decode_u64(*stored);
        if (!id) {
            unreadable("meta", kMaxMessageIdKey);
        }
        high = *id;
    }
    // Keys are big-endian ids: the last one is the highest stored.
    Cursor cursor(txn, dbs.messages);
    if (cursor.last()) {
        auto id = codec::decode_message_key(cursor.key());
        if (!id) {
            unreadable("messages", cursor.key());
        }
        high = std::max(high, *id);
    }
    return high;
}

}  // namespace

Snapshot recover_snapshot(MDB_txn* txn, const Databases& dbs, std::size_t queue_window) {
    Problems problems(nullptr);
    Snapshot s;
    ClientNameCache names(txn, dbs);
    read_client_state(txn, dbs, names, problems, s);

    // One pass over the whole queue table, keys and values only: a client's records are
    // adjacent (its client part is a prefix no other client's key starts with) and in
    // seq order, so a client's summary and window are built as its records go by.
    std::string client_part;  // of the client being read
    const std::string* client = nullptr;
    QueueSummary* summary = nullptr;
    std::vector<QueuedEntry>* window = nullptr;
    Cursor cursor(txn, dbs.queued);
    for (bool more = cursor.seek({}); more; more = cursor.next()) {
        const auto key = codec::decode_client_key(cursor.key());
        if (!key || key->rest.size() != 8) {
            unreadable("queued", cursor.key());
        }
        if (client == nullptr || key->client.encoded != client_part) {
            client_part.assign(key->client.encoded);
            std::optional<std::string> id;
            if (!key->client.hashed) {
                id.emplace(key->client.name);
            } else if (const auto* name = names.find(client_part)) {
                id.emplace(*name);
            } else {
                unreadable("queued", cursor.key());
            }
            auto it = s.queue_summaries.try_emplace(std::move(*id)).first;
            client = &it->first;
            summary = &it->second;
            window = &s.queued[*client];
        }
        auto entry = codec::decode_queued_value(cursor.value());
        if (!entry) {
            unreadable("queued", cursor.key());
        }
        const auto seq = *codec::decode_u64(key->rest);
        ++summary->count;
        summary->bytes += entry->bytes;
        summary->last_seq = seq;
        if (queue_window == 0 || window->size() < queue_window) {
            entry->client_id = *client;
            entry->seq = seq;
            window->push_back(std::move(*entry));
        }
    }

    std::vector<MessageId> ids;
    for (const auto& [c, entries] : s.queued) {
        for (const auto& e : entries) {
            ids.push_back(e.message);
        }
    }
    for (const auto& [c, entries] : s.inflight) {
        for (const auto& e : entries) {
            if (e.message != 0) {
                ids.push_back(e.message);
            }
        }
    }
    for (const auto& [topic, id] : s.retained) {
        ids.push_back(id);
    }
    read_messages(txn, dbs, std::move(ids), s.messages);
    s.max_message_id = read_max_message_id(txn, dbs);
    return s;
}

Store::QueuedRead read_queue(MDB_txn* txn, const Databases& dbs, const std::string& client_id,
                             std::uint64_t after_seq, std::size_t limit) {
    Store::QueuedRead out;
    if (limit == 0 || after_seq == std::numeric_limits<std::uint64_t>::max()) {
        return out;
    }
    const auto prefix = codec::client_prefix(client_id);
    if (codec::is_hashed(client_id)) {
        auto stored = get(txn, dbs.names, prefix);
        if (!stored) {
            return out;  // nothing of this client is stored
        }
        auto name = codec::decode_name(prefix, *stored);
        if (!name) {
            unreadable("names", prefix);
        }
        if (*name != client_id) {
            return out;  // the records under this prefix are another client's
        }
    }
    std::vector<MessageId> ids;
    Cursor cursor(txn, dbs.queued);
    for (bool more = cursor.seek(codec::queued_key(client_id, after_seq + 1));
         more && cursor.key().starts_with(prefix) && out.entries.size() < limit;
         more = cursor.next()) {
        const auto seq = codec::decode_u64(cursor.key().substr(prefix.size()));
        auto entry = codec::decode_queued_value(cursor.value());
        if (!seq || !entry) {
            unreadable("queued", cursor.key());
        }
        entry->client_id = client_id;
        entry->seq = *seq;
        ids.push_back(entry->message);
        out.entries.push_back(std::move(*entry));
    }
    read_messages(txn, dbs, std::move(ids), out.messages);
    return out;
}

}  // namespace petrel::store::lmdb
