// BatchApplier: mutations in order, then reference counts settled once per batch, so a
// message queued for a thousand sessions in one batch is written once with count 1000.
// Queue summaries likewise: a batch queueing 20,000 entries for one client rewrites its
// `queue_stats` record once.
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
// Spelled out for clang before 17, which lacks C++20 aggregate deduction (the fuzz build).
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

[[noreturn]] void corrupt(const char* db, std::string_view key) {
    throw TxnFailure{0, std::string("corrupt record in '") + db + "' at key " + describe_key(key)};
}

// The client prefix of a queued key (the key less its 8-byte seq), computed once.
std::string client_part(const std::string& queued_key) {
    return queued_key.substr(0, queued_key.size() - 8);
}

// Decodes the records of a client whose name claim_name/owns_name has just checked.
codec::ClientNames self(const std::string& client_id) {
    return [&client_id](std::string_view) { return &client_id; };
}

}  // namespace

void BatchApplier::apply(const WriteBatch& batch) {
    puts_.clear();
    deltas_.clear();
    named_.clear();
    released_.clear();
    summaries_.clear();
    for (const Mutation& m : batch.mutations()) {
        apply_one(m);
    }
    settle_messages();
    write_summaries();
    drop_unused_names();
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

void BatchApplier::claim_name(const std::string& client_id) {
    if (!codec::is_hashed(client_id)) {
        return;
    }
    auto key = codec::client_prefix(client_id);
    if (named_.contains(key)) {
        return;
    }
    if (auto stored = get(txn_, dbs_.names, key)) {
        auto name = codec::decode_name(key, *stored);
        if (!name) {
            corrupt("names", key);
        }
        if (*name != client_id) {
            throw TxnFailure{0, "client id of " + std::to_string(client_id.size()) +
                                    " bytes has the same key as a stored one (SHA-256 collision)"};
        }
    } else {
        put(txn_, dbs_.names, key, codec::encode_name(client_id));
    }
    named_.insert(std::move(key));
}

bool BatchApplier::owns_name(const std::string& client_id) {
    if (!codec::is_hashed(client_id)) {
        return true;
    }
    auto key = codec::client_prefix(client_id);
    if (named_.contains(key)) {
        return true;
    }
    auto stored = get(txn_, dbs_.names, key);
    if (!stored) {
        return false;
    }
    auto name = codec::decode_name(key, *stored);
    if (!name) {
        corrupt("names", key);
    }
    if (*name != client_id) {
        return false;  // the records under this key are another client's
    }
    named_.insert(std::move(key));
    return true;
}

void BatchApplier::released_record(const std::string& client_id) {
    if (codec::is_hashed(client_id)) {
        released_.insert(codec::client_prefix(client_id));
    }
}

// A client's last record may go piecemeal (erase_queued, erase_inflight, ...), not only
// through erase_session: its name goes with it, so `names` never outgrows the records.
void BatchApplier::drop_unused_names() {
    for (const auto& prefix : released_) {
        if (!has_client_records(txn_, dbs_, prefix)) {
            del(txn_, dbs_.names, prefix);
        }
    }
}

void BatchApplier::apply_one(const Mutation& m) {
    std::visit(
        Overloaded{
            [&](const mutation::PutMessage& p) {
                if (p.id == 0 || !p.message) {
                    throw TxnFailure{0, "message id 0 or null message"};
                }
                puts_.try_emplace(p.id, p.message);
            },
            [&](const mutation::PutSession& p) {
                claim_name(p.session.client_id);
                put(txn_, dbs_.sessions, codec::session_key(p.session.client_id),
                    codec::encode_session(p.session));
            },
            [&](const mutation::EraseSession& e) {
                if (owns_name(e.client_id)) {
                    erase_client(e.client_id);
                }
            },
            [&](const mutation::PutSubscription& p) {
                const auto& s = p.subscription;
                claim_name(s.client_id);
                const auto key = codec::subscription_key(s.client_id, s.filter);
                if (codec::is_hashed(s.filter)) {
                    if (auto old = get(txn_, dbs_.subscriptions, key)) {
                        auto stored = codec::decode_subscription(key, *old, self(s.client_id));
                        if (!stored) {
                            corrupt("subscriptions", key);
                        }
                        if (stored->filter != s.filter) {
                            throw TxnFailure{0,
                                             "topic filter has the same key as a stored one "
                                             "(SHA-256 collision)"};
                        }
                    }
                }
                put(txn_, dbs_.subscriptions, key, codec::encode_subscription(s));
            },
            [&](const mutation::EraseSubscription& e) {
                if (!owns_name(e.client_id)) {
                    return;
                }
                const auto key = codec::subscription_key(e.client_id, e.filter);
                if (codec::is_hashed(e.filter)) {
                    auto old = get(txn_, dbs_.subscriptions, key);
                    if (!old) {
                        return;
                    }
                    auto stored = codec::decode_subscription(key, *old, self(e.client_id));
                    if (!stored) {
                        corrupt("subscriptions", key);
                    }
                    if (stored->filter != e.filter) {
                        return;  // another filter's record
                    }
                }
                if (del(txn_, dbs_.subscriptions, key)) {
                    released_record(e.client_id);
                }
            },
            [&](const mutation::PushQueued& p) {
                claim_name(p.entry.client_id);
                const auto key = codec::queued_key(p.entry.client_id, p.entry.seq);
                acquire(p.entry.message);
                auto& queue = summary(client_part(key));
                if (auto old = get(txn_, dbs_.queued, key)) {
                    auto entry = codec::decode_queued_value(*old);
                    if (!entry) {
                        corrupt("queued", key);
                    }
                    release(entry->message);
                    queue.bytes -= entry->bytes;  // replaced: still one entry
                } else {
                    ++queue.count;
                }
                queue.bytes += p.entry.bytes;
                queue.last_seq = std::max(queue.last_seq, p.entry.seq);
                put(txn_, dbs_.queued, key, codec::encode_queued(p.entry));
            },
            [&](const mutation::EraseQueued& e) {
                if (!owns_name(e.client_id)) {
                    return;
                }
                const auto key = codec::queued_key(e.client_id, e.seq);
                if (auto old = get(txn_, dbs_.queued, key)) {
                    auto entry = codec::decode_queued_value(*old);
                    if (!entry) {
                        corrupt("queued", key);
                    }
                    release(entry->message);
                    del(txn_, dbs_.queued, key);
                    queued_removed(client_part(key), e.seq, entry->bytes);
                    released_record(e.client_id);
                }
            },
            [&](const mutation::PutInflight& p) {
                claim_name(p.entry.client_id);
                const auto key = codec::inflight_key(p.entry.client_id, p.entry.packet_id);
                if (p.entry.message != 0) {
                    acquire(p.entry.message);
                }
                if (auto old = get(txn_, dbs_.inflight, key)) {
                    auto entry = codec::decode_inflight(key, *old, self(p.entry.client_id));
                    if (!entry) {
                        corrupt("inflight", key);
                    }
                    release(entry->message);
                }
                put(txn_, dbs_.inflight, key, codec::encode_inflight(p.entry));
            },
            [&](const mutation::EraseInflight& e) {
                if (!owns_name(e.client_id)) {
                    return;
                }
                const auto key = codec::inflight_key(e.client_id, e.packet_id);
                if (auto old = get(txn_, dbs_.inflight, key)) {
                    auto entry = codec::decode_inflight(key, *old, self(e.client_id));
                    if (!entry) {
                        corrupt("inflight", key);
                    }
                    release(entry->message);
                    del(txn_, dbs_.inflight, key);
                    released_record(e.client_id);
                }
            },
            [&](const mutation::AddInboundQos2& a) {
                claim_name(a.client_id);
                put(txn_, dbs_.qos2, codec::qos2_key(a.client_id, a.packet_id), {});
            },
            [&](const mutation::EraseInboundQos2& e) {
                if (owns_name(e.client_id) &&
                    del(txn_, dbs_.qos2, codec::qos2_key(e.client_id, e.packet_id))) {
                    released_record(e.client_id);
                }
            },
            [&](const mutation::SetRetained& s) {
                const auto key = codec::retained_key(s.topic);
                acquire(s.message);
                if (auto old = get(txn_, dbs_.retained, key)) {
                    auto stored = codec::decode_retained(key, *old);
                    if (!stored) {
                        corrupt("retained", key);
                    }
                    if (stored->first != s.topic) {
                        throw TxnFailure{
                            0,
                            "retained topic has the same key as a stored one (SHA-256 collision)"};
                    }
                    release(stored->second);
                }
                put(txn_, dbs_.retained, key, codec::encode_retained(s.topic, s.message));
            },
            [&](const mutation::EraseRetained& e) {
                const auto key = codec::retained_key(e.topic);
                if (auto old = get(txn_, dbs_.retained, key)) {
                    auto stored = codec::decode_retained(key, *old);
                    if (!stored) {
                        corrupt("retained", key);
                    }
                    if (stored->first != e.topic) {
                        return;  // another topic's slot
                    }
                    release(stored->second);
                    del(txn_, dbs_.retained, key);
                }
            },
            [&](const mutation::SetClock& c) {
                put(txn_, dbs_.meta, kClockKey,
                    codec::encode_u64(static_cast<std::uint64_t>(c.unix_ms)));
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
    // No other client's key starts with this prefix (see codec::name_part), so the scan
    // stays within this client, however long its id.
    for_each_prefixed(txn_, dbs_.queued, prefix, true, [&](std::string_view k, std::string_view v) {
        auto entry = codec::decode_queued_value(v);
        if (!entry) {
            corrupt("queued", k);
        }
        release(entry->message);
    });
    summaries_[prefix] = {};
    for_each_prefixed(txn_, dbs_.inflight, prefix, true,
                      [&](std::string_view k, std::string_view v) {
                          auto entry = codec::decode_inflight(k, v, self(client_id));
                          if (!entry) {
                              corrupt("inflight", k);
                          }
                          release(entry->message);
                      });
    released_record(client_id);
}

QueueSummary& BatchApplier::summary(const std::string& prefix) {
    auto [it, inserted] = summaries_.try_emplace(prefix);
    if (inserted) {
        if (auto stored = get(txn_, dbs_.queue_stats, prefix)) {
            auto decoded = codec::decode_queue_summary(*stored);
            if (!decoded) {
                corrupt("queue_stats", prefix);
            }
            it->second = *decoded;
        }
    }
    return it->second;
}

// After the entry with the highest seq went: the one before it is now the last. Keys
// sort as (client prefix, big-endian seq) and no other client's key starts with the
// prefix, so everything of this client sorts before prefix + 9 x 0xFF.
std::optional<std::uint64_t> BatchApplier::highest_queued_seq(const std::string& prefix) {
    Cursor cursor(txn_, dbs_.queued);
    const bool found = cursor.seek(prefix + std::string(9, '\xff')) ? cursor.prev() : cursor.last();
    if (!found || !cursor.key().starts_with(prefix)) {
        return std::nullopt;
    }
    const auto seq = codec::decode_u64(cursor.key().substr(prefix.size()));
    if (!seq) {
        corrupt("queued", cursor.key());
    }
    return seq;
}

// An empty queue keeps no record, so its last_seq goes too. The broker takes last_seq as
// a floor for the seqs it assigns after a restart; with nothing queued there is no entry
// a reused seq could collide with, and in-flight seqs are a floor of their own.
void BatchApplier::queued_removed(const std::string& prefix, std::uint64_t seq,
                                  std::uint64_t bytes) {
    auto& queue = summary(prefix);
    if (queue.count <= 1) {
        queue = {};
        return;
    }
    --queue.count;
    queue.bytes -= bytes;
    if (seq == queue.last_seq) {
        queue.last_seq = highest_queued_seq(prefix).value_or(0);
    }
}

void BatchApplier::write_summaries() {
    for (const auto& [prefix, queue] : summaries_) {
        if (queue.count == 0) {
            del(txn_, dbs_.queue_stats, prefix);
        } else {
            put(txn_, dbs_.queue_stats, prefix, codec::encode_queue_summary(queue));
        }
    }
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
