// Reading the whole store back (load), and what load and check() share.
#include "lmdb_read.hpp"

#include <algorithm>

namespace petrel::store::lmdb {

void Problems::report(std::string problem) {
    if (sink_ == nullptr) {
        throw StoreError("corrupt store: " + problem);
    }
    sink_->push_back(std::move(problem));
}

void Problems::corrupt(const char* db, std::string_view key) {
    report(std::string("unreadable record in '") + db + "' at key " + describe_key(key));
}

const std::string* ClientNameCache::find(std::string_view client_part) {
    auto it = cache_.find(client_part);
    if (it == cache_.end()) {
        std::optional<std::string> name;
        if (auto value = get(txn_, names_, client_part)) {
            name = codec::decode_name(client_part, *value);
        }
        it = cache_.emplace(std::string(client_part), std::move(name)).first;
    }
    return it->second ? &*it->second : nullptr;
}

void read_client_state(MDB_txn* txn, const Databases& dbs, ClientNameCache& names,
                       Problems& problems, Snapshot& s) {
    const auto resolve = names.resolver();
    read_all(txn, dbs.sessions, "sessions", problems, [&](auto k, auto v) {
        auto session = codec::decode_session(k, v, resolve);
        return session && (s.sessions.push_back(std::move(*session)), true);
    });
    read_all(txn, dbs.subscriptions, "subscriptions", problems, [&](auto k, auto v) {
        auto sub = codec::decode_subscription(k, v, resolve);
        return sub && (s.subscriptions.push_back(std::move(*sub)), true);
    });
    // In-flight entries are keyed by packet id (the acknowledgements name it), so they
    // are put back into send order here; a window holds at most 65,535 of them.
    read_all(txn, dbs.inflight, "inflight", problems, [&](auto k, auto v) {
        auto entry = codec::decode_inflight(k, v, resolve);
        return entry && (s.inflight[entry->client_id].push_back(std::move(*entry)), true);
    });
    for (auto& [client, entries] : s.inflight) {
        std::ranges::sort(entries, {}, &InflightEntry::seq);
    }
    read_all(txn, dbs.qos2, "qos2", problems, [&](auto k, auto v) {
        std::string client;
        auto id = codec::decode_qos2_key(k, &client, resolve);
        return id && v.empty() && (s.inbound_qos2[client].push_back(*id), true);
    });
    read_all(txn, dbs.retained, "retained", problems, [&](auto k, auto v) {
        auto slot = codec::decode_retained(k, v);
        return slot && (s.retained.insert(std::move(*slot)), true);
    });
}

session::MessagePtr read_message(MDB_txn* txn, const Databases& dbs, MessageId id,
                                 Problems& problems) {
    const auto key = codec::message_key(id);
    auto value = get(txn, dbs.messages, key);
    if (!value) {
        return nullptr;
    }
    auto message = codec::decode_message(*value);
    if (!message) {
        problems.corrupt("messages", key);
        return nullptr;
    }
    message->id = id;
    return std::make_shared<const session::Message>(std::move(*message));
}

namespace {

Snapshot read(MDB_txn* txn, const Databases& dbs, Problems& problems) {
    Snapshot s;
    ClientNameCache names(txn, dbs);
    read_client_state(txn, dbs, names, problems, s);
    // Key order is (client, big-endian seq): each client's queue comes out in seq order.
    const auto resolve = names.resolver();
    read_all(txn, dbs.queued, "queued", problems, [&](auto k, auto v) {
        auto entry = codec::decode_queued(k, v, resolve);
        return entry && (s.queued[entry->client_id].push_back(std::move(*entry)), true);
    });
    for (const auto& [client, entries] : s.queued) {
        auto& summary = s.queue_summaries[client];
        for (const auto& e : entries) {
            ++summary.count;
            summary.bytes += e.bytes;
            summary.last_seq = std::max(summary.last_seq, e.seq);
        }
    }
    verify_queue_stats(txn, dbs, names, s.queue_summaries, problems);
    read_all(txn, dbs.messages, "messages", problems, [&](auto k, auto v) {
        auto id = codec::decode_message_key(k);
        auto message = codec::decode_message(v);
        if (!id || !message) {
            return false;
        }
        message->id = *id;
        s.max_message_id = std::max(s.max_message_id, *id);
        s.messages.emplace(*id, std::make_shared<const session::Message>(std::move(*message)));
        return true;
    });
    if (auto high = get(txn, dbs.meta, kMaxMessageIdKey)) {
        auto id = codec::decode_u64(*high);
        if (!id) {
            problems.corrupt("meta", kMaxMessageIdKey);
        } else {
            s.max_message_id = std::max(s.max_message_id, *id);
        }
    }
    if (auto clock = get(txn, dbs.meta, kClockKey)) {
        if (auto ms = codec::decode_u64(*clock)) {
            s.clock_ms = static_cast<std::int64_t>(*ms);
        } else {
            problems.corrupt("meta", kClockKey);
        }
    }
    return s;
}

}  // namespace

Snapshot read_snapshot(MDB_txn* txn, const Databases& dbs, std::vector<std::string>* problems) {
    Problems sink(problems);
    return read(txn, dbs, sink);
}

std::string describe_client(std::string_view client_id) {
    constexpr std::size_t kShown = 64;
    return "'" + std::string(client_id.substr(0, kShown)) +
           (client_id.size() > kShown ? "...'" : "'");
}

std::string describe(const QueueSummary& summary) {
    return std::to_string(summary.count) + " entries, " + std::to_string(summary.bytes) +
           " bytes, last seq " + std::to_string(summary.last_seq);
}

void verify_queue_stats(MDB_txn* txn, const Databases& dbs, ClientNameCache& names,
                        const std::map<std::string, QueueSummary>& computed, Problems& problems) {
    std::size_t found = 0;
    read_all(txn, dbs.queue_stats, "queue_stats", problems, [&](auto k, auto v) {
        const auto key = codec::decode_client_key(k);
        const auto stored = codec::decode_queue_summary(v);
        if (!key || !key->rest.empty() || !stored) {
            return false;
        }
        const std::string* name = key->client.hashed ? names.find(k) : nullptr;
        if (key->client.hashed && name == nullptr) {
            return false;  // a long client id with no name: whose it is cannot be told
        }
        const std::string client = name != nullptr ? *name : std::string(key->client.name);
        const auto it = computed.find(client);
        if (it == computed.end()) {
            problems.report("'queue_stats' has a record for client " + describe_client(client) +
                            ", whose queue is empty");
        } else {
            ++found;
            if (it->second != *stored) {
                problems.report("'queue_stats' of client " + describe_client(client) + " says " +
                                describe(*stored) + ", but its queue holds " +
                                describe(it->second));
            }
        }
        return true;
    });
    if (found == computed.size()) {
        return;
    }
    for (const auto& [client, summary] : computed) {
        if (!get(txn, dbs.queue_stats, codec::client_prefix(client))) {
            problems.report("the queue of client " + describe_client(client) + " (" +
                            describe(summary) + ") has no record in 'queue_stats'");
        }
    }
}

StoreCounts read_counts(MDB_txn* txn, const Databases& dbs) {
    StoreCounts c;
    c.sessions = entries(txn, dbs.sessions);
    c.subscriptions = entries(txn, dbs.subscriptions);
    c.queued = entries(txn, dbs.queued);
    c.inflight = entries(txn, dbs.inflight);
    c.inbound_qos2 = entries(txn, dbs.qos2);
    c.messages = entries(txn, dbs.messages);
    c.retained = entries(txn, dbs.retained);
    return c;
}

}  // namespace petrel::store::lmdb
