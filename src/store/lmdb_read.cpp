// Reading the whole store back (load) and verifying it (check).
#include "lmdb_read.hpp"

#include <algorithm>

#include "petrel/store/lmdb_store.hpp"

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
    return s;
}

// Every reference names a stored message and every stored count equals the references.
void verify_references(MDB_txn* txn, const Databases& dbs, const Snapshot& s, Problems& problems) {
    std::map<MessageId, std::uint64_t> expected;
    for (const auto& [client, entries] : s.queued) {
        for (const auto& e : entries) {
            ++expected[e.message];
        }
    }
    for (const auto& [client, entries] : s.inflight) {
        for (const auto& e : entries) {
            if (e.message != 0) {
                ++expected[e.message];
            }
        }
    }
    for (const auto& [topic, id] : s.retained) {
        ++expected[id];
    }
    for (const auto& [id, count] : expected) {
        if (!s.messages.contains(id)) {
            problems.report("message " + std::to_string(id) + " is referenced " +
                            std::to_string(count) + " times but missing");
        }
    }
    read_all(txn, dbs.refs, "refs", problems, [&](auto k, auto v) {
        auto id = codec::decode_message_key(k);
        auto count = codec::decode_u64(v);
        if (!id || !count) {
            return false;
        }
        auto it = expected.find(*id);
        const std::uint64_t want = it == expected.end() ? 0 : it->second;
        if (*count != want) {
            problems.report("message " + std::to_string(*id) + " has reference count " +
                            std::to_string(*count) + " but " + std::to_string(want) +
                            " references");
        }
        return true;
    });
    for (const auto& [id, message] : s.messages) {
        if (!get(txn, dbs.refs, codec::message_key(id))) {
            problems.report("message " + std::to_string(id) + " has no reference count");
        }
    }
}

// Every stored long client id hashes to its key and still has records. (A record whose
// client has no name does not decode, so read() reports that side.)
void verify_names(MDB_txn* txn, const Databases& dbs, Problems& problems) {
    read_all(txn, dbs.names, "names", problems, [&](auto k, auto v) {
        if (!codec::decode_name(k, v)) {
            return false;
        }
        if (!has_client_records(txn, dbs, k)) {
            problems.report("client id at key " + describe_key(k) + " is stored but unused");
        }
        return true;
    });
}

}  // namespace

Snapshot read_snapshot(MDB_txn* txn, const Databases& dbs, std::vector<std::string>* problems) {
    Problems sink(problems);
    return read(txn, dbs, sink);
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

namespace petrel::store {

CheckReport check(const std::filesystem::path& directory) {
    CheckReport report;
    try {
        lmdb::Env env(directory, {.map_size = 0, .sync = true, .read_only = true});
        lmdb::Txn txn(env.get(), true);
        lmdb::Problems problems(&report.problems);
        const Snapshot snapshot = lmdb::read(txn.get(), env.dbs(), problems);
        lmdb::verify_references(txn.get(), env.dbs(), snapshot, problems);
        lmdb::verify_names(txn.get(), env.dbs(), problems);
        report.counts = lmdb::read_counts(txn.get(), env.dbs());
    } catch (const StoreError& e) {
        report.problems.emplace_back(e.what());
    } catch (const lmdb::TxnFailure& f) {
        report.problems.push_back(f.what);
    }
    return report;
}

}  // namespace petrel::store
