// BatchApplier: mutations in order, then reference counts settled once per batch, so a
// message queued for a thousand sessions in one batch is written once with count 1000.
#include "lmdb_apply.hpp"

#include <algorithm>
#include <string>

#include "petrel/store/record_codec.hpp"

namespace petrel::store::lmdb {

namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};

[[noreturn]] void corrupt(const char* db, std::string_view key) {
    throw TxnFailure{0, std::string("corrupt record in '") + db + "' at key " + describe_key(key)};
}

}  // namespace

void BatchApplier::apply(const WriteBatch& batch) {
    puts_.clear();
    deltas_.clear();
    for (const Mutation& m : batch.mutations()) {
        apply_one(m);
    }
    settle_messages();
}

// A reference must name a message that is stored or put in this batch: a dangling one
// would make recovery fail later, so the batch is refused now.
void BatchApplier::acquire(MessageId id) {
    if (!puts_.contains(id) && !get(txn_, dbs_.messages, codec::message_key(id))) {
        throw TxnFailure{0, "reference to unknown message " + std::to_string(id)};
    }
    ++deltas_[id];
}

void BatchApplier::release(MessageId id) {
    if (id != 0) {
        --deltas_[id];
    }
}

void BatchApplier::apply_one(const Mutation& m) {
    std::visit(Overloaded{
                   [&](const mutation::PutMessage& p) {
                       if (p.id == 0 || !p.message) {
                           throw TxnFailure{0, "message id 0 or null message"};
                       }
                       puts_.try_emplace(p.id, p.message);
                   },
                   [&](const mutation::PutSession& p) {
                       put(txn_, dbs_.sessions, codec::session_key(p.session.client_id),
                           codec::encode_session(p.session));
                   },
                   [&](const mutation::EraseSession& e) { erase_client(e.client_id); },
                   [&](const mutation::PutSubscription& p) {
                       const auto& s = p.subscription;
                       put(txn_, dbs_.subscriptions, codec::subscription_key(s.client_id, s.filter),
                           codec::encode_subscription(s.record));
                   },
                   [&](const mutation::EraseSubscription& e) {
                       del(txn_, dbs_.subscriptions,
                           codec::subscription_key(e.client_id, e.filter));
                   },
                   [&](const mutation::PushQueued& p) {
                       const auto key = codec::queued_key(p.entry.client_id, p.entry.seq);
                       acquire(p.entry.message);
                       if (auto old = get(txn_, dbs_.queued, key)) {
                           auto entry = codec::decode_queued(key, *old);
                           if (!entry) {
                               corrupt("queued", key);
                           }
                           release(entry->message);
                       }
                       put(txn_, dbs_.queued, key, codec::encode_queued(p.entry));
                   },
                   [&](const mutation::EraseQueued& e) {
                       const auto key = codec::queued_key(e.client_id, e.seq);
                       if (auto old = get(txn_, dbs_.queued, key)) {
                           auto entry = codec::decode_queued(key, *old);
                           if (!entry) {
                               corrupt("queued", key);
                           }
                           release(entry->message);
                           del(txn_, dbs_.queued, key);
                       }
                   },
                   [&](const mutation::PutInflight& p) {
                       const auto key = codec::inflight_key(p.entry.client_id, p.entry.packet_id);
                       if (p.entry.message != 0) {
                           acquire(p.entry.message);
                       }
                       if (auto old = get(txn_, dbs_.inflight, key)) {
                           auto entry = codec::decode_inflight(key, *old);
                           if (!entry) {
                               corrupt("inflight", key);
                           }
                           release(entry->message);
                       }
                       put(txn_, dbs_.inflight, key, codec::encode_inflight(p.entry));
                   },
                   [&](const mutation::EraseInflight& e) {
                       const auto key = codec::inflight_key(e.client_id, e.packet_id);
                       if (auto old = get(txn_, dbs_.inflight, key)) {
                           auto entry = codec::decode_inflight(key, *old);
                           if (!entry) {
                               corrupt("inflight", key);
                           }
                           release(entry->message);
                           del(txn_, dbs_.inflight, key);
                       }
                   },
                   [&](const mutation::AddInboundQos2& a) {
                       put(txn_, dbs_.qos2, codec::qos2_key(a.client_id, a.packet_id), {});
                   },
                   [&](const mutation::EraseInboundQos2& e) {
                       del(txn_, dbs_.qos2, codec::qos2_key(e.client_id, e.packet_id));
                   },
                   [&](const mutation::SetRetained& s) {
                       acquire(s.message);
                       if (auto old = get(txn_, dbs_.retained, s.topic)) {
                           auto id = codec::decode_u64(*old);
                           if (!id) {
                               corrupt("retained", s.topic);
                           }
                           release(*id);
                       }
                       put(txn_, dbs_.retained, s.topic, codec::message_key(s.message));
                   },
                   [&](const mutation::EraseRetained& e) {
                       if (auto old = get(txn_, dbs_.retained, e.topic)) {
                           auto id = codec::decode_u64(*old);
                           if (!id) {
                               corrupt("retained", e.topic);
                           }
                           release(*id);
                           del(txn_, dbs_.retained, e.topic);
                       }
                   },
               },
               m);
}

void BatchApplier::erase_client(const std::string& client_id) {
    const auto prefix = codec::client_prefix(client_id);
    del(txn_, dbs_.sessions, codec::session_key(client_id));
    for_each_prefixed(txn_, dbs_.subscriptions, prefix, true,
                      [](std::string_view, std::string_view) {});
    for_each_prefixed(txn_, dbs_.qos2, prefix, true, [](std::string_view, std::string_view) {});
    // A longer client id can share the prefix's bytes only if its length field matches,
    // which fixes its size: the prefix identifies exactly one client.
    for_each_prefixed(txn_, dbs_.queued, prefix, true, [&](std::string_view k, std::string_view v) {
        auto entry = codec::decode_queued(k, v);
        if (!entry) {
            corrupt("queued", k);
        }
        release(entry->message);
    });
    for_each_prefixed(txn_, dbs_.inflight, prefix, true,
                      [&](std::string_view k, std::string_view v) {
                          auto entry = codec::decode_inflight(k, v);
                          if (!entry) {
                              corrupt("inflight", k);
                          }
                          release(entry->message);
                      });
}

std::uint64_t BatchApplier::stored_references(MessageId id) {
    const auto key = codec::message_key(id);
    auto value = get(txn_, dbs_.refs, key);
    if (!value) {
        return 0;
    }
    auto count = codec::decode_u64(*value);
    if (!count) {
        corrupt("refs", key);
    }
    return *count;
}

// Writes new messages that ended up referenced, updates counts, and deletes messages
// whose count reached zero. Also raises the id high-water mark in meta.
void BatchApplier::settle_messages() {
    if (!puts_.empty()) {
        MessageId high = 0;
        if (auto stored = get(txn_, dbs_.meta, kMaxMessageIdKey)) {
            high = codec::decode_u64(*stored).value_or(0);
        }
        for (const auto& [id, message] : puts_) {
            high = std::max(high, id);
            deltas_.try_emplace(id, 0);
        }
        put(txn_, dbs_.meta, kMaxMessageIdKey, codec::encode_u64(high));
    }
    for (const auto& [id, delta] : deltas_) {
        const auto key = codec::message_key(id);
        const bool stored = get(txn_, dbs_.messages, key).has_value();
        if (!stored) {
            auto put_it = puts_.find(id);
            if (put_it != puts_.end() && delta > 0) {
                put(txn_, dbs_.messages, key, codec::encode_message(*put_it->second));
                put(txn_, dbs_.refs, key, codec::encode_u64(static_cast<std::uint64_t>(delta)));
            }
            continue;
        }
        if (delta == 0) {
            continue;
        }
        const auto count = static_cast<std::int64_t>(stored_references(id)) + delta;
        if (count <= 0) {
            del(txn_, dbs_.messages, key);
            del(txn_, dbs_.refs, key);
        } else {
            put(txn_, dbs_.refs, key, codec::encode_u64(static_cast<std::uint64_t>(count)));
        }
    }
}

}  // namespace petrel::store::lmdb
