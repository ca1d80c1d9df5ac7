// recover() and read_queued(): a queue is read a window at a time, its size comes from
// `queue_stats`, and only the messages that what is returned refers to are looked up, so
// that start-up and refills cost what they return, not what is stored.
#include <algorithm>
#include <limits>

#include "lmdb_read.hpp"

namespace petrel::store::lmdb {

namespace {

[[noreturn]] void unreadable(const char* db, std::string_view key) {
    Problems(nullptr).corrupt(db, key);
    throw StoreError("corrupt store");  // not reached: a Problems without a sink throws
}

[[noreturn]] void inconsistent(std::string problem) {
    Problems(nullptr).report(std::move(problem));
    throw StoreError("corrupt store");  // not reached, as above
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

// What the window read says about the summary: all of it when the whole queue was read,
// a lower bound otherwise (seqs increase, so the last one read is not the last).
bool consistent(const QueueSummary& stored, const QueueSummary& read, bool whole) {
    if (whole) {
        return stored == read;
    }
    return stored.count > read.count && stored.bytes >= read.bytes &&
           stored.last_seq > read.last_seq;
}

// Each client's first `queue_window` entries (all when 0) with its summary from
// `queue_stats`. The cursor reads a window, then jumps past the rest of that client's
// entries to the next client's first (MDB_SET_RANGE): what this costs grows with the
// windows and the number of clients, not with the entries queued. A queue without a
// summary, or a summary that disagrees with what was read, is corruption (check() finds
// the rest, comparing every entry).
void read_windows(MDB_txn* txn, const Databases& dbs, ClientNameCache& names,
                  std::size_t queue_window, Snapshot& s) {
    std::uint64_t clients = 0;
    Cursor cursor(txn, dbs.queued);
    bool more = cursor.seek({});
    while (more) {
        const auto key = codec::decode_client_key(cursor.key());
        if (!key || key->rest.size() != 8) {
            unreadable("queued", cursor.key());
        }
        const std::string prefix(key->client.encoded);
        std::string client;
        if (!key->client.hashed) {
            client.assign(key->client.name);
        } else if (const auto* name = names.find(prefix)) {
            client = *name;
        } else {
            unreadable("queued", cursor.key());
        }
        const auto stored = get(txn, dbs.queue_stats, prefix);
        if (!stored) {
            inconsistent("the queue of client " + describe_client(client) +
                         " has no record in 'queue_stats'");
        }
        const auto summary = codec::decode_queue_summary(*stored);
        if (!summary) {
            unreadable("queue_stats", prefix);
        }
        auto& window = s.queued[client];
        QueueSummary read;
        while (more && cursor.key().starts_with(prefix) &&
               (queue_window == 0 || window.size() < queue_window)) {
            const auto seq = codec::decode_u64(cursor.key().substr(prefix.size()));
            auto entry = codec::decode_queued_value(cursor.value());
            if (!seq || !entry) {
                unreadable("queued", cursor.key());
            }
            ++read.count;
            read.bytes += entry->bytes;
            read.last_seq = *seq;
            entry->client_id = client;
            entry->seq = *seq;
            window.push_back(std::move(*entry));
            more = cursor.next();
        }
        const bool whole = !more || !cursor.key().starts_with(prefix);
        if (!consistent(*summary, read, whole)) {
            inconsistent("'queue_stats' of client " + describe_client(client) + " says " +
                         describe(*summary) + ", but its queue reads " +
                         (whole ? "" : "at least ") + describe(read));
        }
        s.queue_summaries.emplace(std::move(client), *summary);
        ++clients;
        if (!whole) {
            more = cursor.seek(prefix + std::string(9, '\xff'));
        }
    }
    const auto records = entries(txn, dbs.queue_stats);
    if (records != clients) {
        inconsistent("'queue_stats' holds " + std::to_string(records) + " records, but " +
                     std::to_string(clients) + " clients have a queue");
    }
}

}  // namespace

Snapshot recover_snapshot(MDB_txn* txn, const Databases& dbs, std::size_t queue_window) {
    Problems problems(nullptr);
    Snapshot s;
    ClientNameCache names(txn, dbs);
    read_client_state(txn, dbs, names, problems, s);
    read_windows(txn, dbs, names, queue_window, s);

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
    if (auto clock = get(txn, dbs.meta, kClockKey)) {
        auto ms = codec::decode_u64(*clock);
        if (!ms) {
            unreadable("meta", kClockKey);
        }
        s.clock_ms = static_cast<std::int64_t>(*ms);
    }
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
