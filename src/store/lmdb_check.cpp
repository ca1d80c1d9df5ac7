// check(): `petrel --check-store`. Walks every table once, record by record, keeping
// counts only (a reference count per message, a summary per client), never the records:
// a store of ten million queued entries is checked in the memory of its message ids.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "lmdb_read.hpp"
#include "petrel/store/lmdb_store.hpp"

namespace petrel::store::lmdb {

namespace {

// Records walked between two Env::release_resident_pages(): the walk reads the whole
// file through the map, which would otherwise all stay resident in this process.
constexpr std::uint64_t kReleaseEvery = 1 << 18;

// What the records refer to, as counted while walking them.
struct Tally {
    std::unordered_map<MessageId, std::uint64_t> references;
    std::map<std::string, QueueSummary> queues;  // by client id
};

class Walk {
  public:
    Walk(const Env& env, MDB_txn* txn, Problems& problems)
        : env_(env), txn_(txn), dbs_(env.dbs()), problems_(problems), names_(txn, dbs_) {}

    void records(Tally& tally);
    void messages(Tally& tally);
    void names();
    void queue_stats(const Tally& tally) {
        verify_queue_stats(txn_, dbs_, names_, tally.queues, problems_);
    }

  private:
    // read_all, letting go of the map's pages now and then.
    template <class Decode>
    void walk(MDB_dbi dbi, const char* name, Decode decode) {
        read_all(txn_, dbi, name, problems_, [&](std::string_view k, std::string_view v) {
            if (++walked_ % kReleaseEvery == 0) {
                env_.release_resident_pages();
            }
            return decode(k, v);
        });
    }
    void message_record(std::string_view key, std::string_view value, Tally& tally,
                        const std::optional<std::uint64_t>& count);
    std::optional<std::uint64_t> refs_record(std::string_view key, std::string_view value);

    const Env& env_;
    MDB_txn* txn_;
    const Databases& dbs_;
    Problems& problems_;
    ClientNameCache names_;
    std::uint64_t walked_ = 0;
};

// Every record decodes; references and queues are counted.
void Walk::records(Tally& tally) {
    const auto resolve = names_.resolver();
    walk(dbs_.sessions, "sessions",
         [&](auto k, auto v) { return codec::decode_session(k, v, resolve).has_value(); });
    walk(dbs_.subscriptions, "subscriptions",
         [&](auto k, auto v) { return codec::decode_subscription(k, v, resolve).has_value(); });
    walk(dbs_.qos2, "qos2", [&](auto k, auto v) {
        std::string client;
        return codec::decode_qos2_key(k, &client, resolve) && v.empty();
    });
    walk(dbs_.inflight, "inflight", [&](auto k, auto v) {
        auto entry = codec::decode_inflight(k, v, resolve);
        if (entry && entry->message != 0) {
            ++tally.references[entry->message];
        }
        return entry.has_value();
    });
    walk(dbs_.retained, "retained", [&](auto k, auto v) {
        auto slot = codec::decode_retained(k, v);
        if (slot) {
            ++tally.references[slot->second];
        }
        return slot.has_value();
    });
    // A client's entries are adjacent and in seq order: its summary is looked up once.
    QueueSummary* queue = nullptr;
    std::string client;
    walk(dbs_.queued, "queued", [&](auto k, auto v) {
        auto entry = codec::decode_queued(k, v, resolve);
        if (!entry) {
            return false;
        }
        if (queue == nullptr || entry->client_id != client) {
            client = entry->client_id;
            queue = &tally.queues[client];
        }
        ++queue->count;
        queue->bytes += entry->bytes;
        queue->last_seq = std::max(queue->last_seq, entry->seq);
        ++tally.references[entry->message];
        return true;
    });
    if (auto high = get(txn_, dbs_.meta, kMaxMessageIdKey); high && !codec::decode_u64(*high)) {
        problems_.corrupt("meta", kMaxMessageIdKey);
    }
}

std::optional<std::uint64_t> Walk::refs_record(std::string_view key, std::string_view value) {
    auto count = codec::decode_message_key(key) ? codec::decode_u64(value) : std::nullopt;
    if (!count) {
        problems_.corrupt("refs", key);
    }
    return count;
}

// One message, with its reference count (nullopt: none, or unreadable).
void Walk::message_record(std::string_view key, std::string_view value, Tally& tally,
                          const std::optional<std::uint64_t>& count) {
    const auto id = codec::decode_message_key(key);
    if (!id || !codec::decode_message(value)) {
        problems_.corrupt("messages", key);
        return;  // its references, if any, are reported as missing
    }
    const auto it = tally.references.find(*id);
    const std::uint64_t want = it == tally.references.end() ? 0 : it->second;
    if (it != tally.references.end()) {
        tally.references.erase(it);
    }
    const auto name = "message " + std::to_string(*id);
    if (!count) {
        problems_.report(name + " has no reference count");
    } else if (*count != want) {
        problems_.report(name + " has reference count " + std::to_string(*count) + " but " +
                         std::to_string(want) + " references");
    } else if (want == 0) {
        problems_.report(name + " is stored but nothing refers to it");
    }
}

// `messages` and `refs` side by side, both in id order: every message decodes and has the
// count its references add up to, and every count has its message. What is left in the
// tally afterwards is referenced but missing.
void Walk::messages(Tally& tally) {
    Cursor message(txn_, dbs_.messages);
    Cursor refs(txn_, dbs_.refs);
    bool more_messages = message.seek({});
    bool more_refs = refs.seek({});
    while (more_messages || more_refs) {
        if (++walked_ % kReleaseEvery == 0) {
            env_.release_resident_pages();
        }
        const int order = !more_refs ? -1 : !more_messages ? 1 : message.key().compare(refs.key());
        if (order > 0) {  // a count with no message
            if (auto count = refs_record(refs.key(), refs.value())) {
                const auto id = *codec::decode_message_key(refs.key());
                const auto it = tally.references.find(id);
                const std::uint64_t want = it == tally.references.end() ? 0 : it->second;
                if (*count != want) {
                    problems_.report("message " + std::to_string(id) + " has reference count " +
                                     std::to_string(*count) + " but " + std::to_string(want) +
                                     " references");
                }
            }
            more_refs = refs.next();
            continue;
        }
        std::optional<std::uint64_t> count;
        if (order == 0) {
            count = refs_record(refs.key(), refs.value());
            more_refs = refs.next();
        }
        message_record(message.key(), message.value(), tally, count);
        more_messages = message.next();
    }
    std::vector<std::pair<MessageId, std::uint64_t>> missing(tally.references.begin(),
                                                             tally.references.end());
    std::ranges::sort(missing);
    for (const auto& [id, count] : missing) {
        problems_.report("message " + std::to_string(id) + " is referenced " +
                         std::to_string(count) + " times but missing");
    }
}

// Every stored long client id hashes to its key and still has records. (A record whose
// client has no name does not decode, so records() reports that side.)
void Walk::names() {
    walk(dbs_.names, "names", [&](auto k, auto v) {
        if (!codec::decode_name(k, v)) {
            return false;
        }
        if (!has_client_records(txn_, dbs_, k)) {
            problems_.report("client id at key " + describe_key(k) + " is stored but unused");
        }
        return true;
    });
}

}  // namespace

}  // namespace petrel::store::lmdb

namespace petrel::store {

CheckReport check(const std::filesystem::path& directory) {
    CheckReport report;
    try {
        lmdb::Env env(directory, {.map_size = 0, .sync = true, .read_only = true});
        lmdb::Txn txn(env.get(), true);
        lmdb::Problems problems(&report.problems);
        lmdb::Walk walk(env, txn.get(), problems);
        lmdb::Tally tally;
        walk.records(tally);
        walk.queue_stats(tally);
        walk.messages(tally);
        walk.names();
        report.counts = lmdb::read_counts(txn.get(), env.dbs());
        env.release_resident_pages();
    } catch (const StoreError& e) {
        report.problems.emplace_back(e.what());
    } catch (const lmdb::TxnFailure& f) {
        report.problems.push_back(f.what);
    }
    return report;
}

}  // namespace petrel::store
