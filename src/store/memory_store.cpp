// MemoryStore: validate a batch first, then apply it; applying cannot fail, which is
// what makes the batch atomic without copying the whole state.
#include "petrel/store/memory_store.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace petrel::store {

namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
// Spelled out for clang before 17, which lacks C++20 aggregate deduction (the fuzz build).
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// What the store hands back names its id, whatever the caller put.
session::MessagePtr with_id(session::MessagePtr message, MessageId id) {
    if (message->id == id) {
        return message;
    }
    auto copy = std::make_shared<session::Message>(*message);
    copy->id = id;
    return copy;
}

}  // namespace

void MemoryStore::submit(WriteBatch batch, Done done) {
    CommitResult result;
    {
        std::lock_guard lock(mutex_);
        result = validate(batch);
        if (result.ok) {
            apply(batch);
        }
    }
    // Outside the lock: a callback that submits again must not deadlock.
    if (done) {
        done(std::move(result));
    }
}

// A reference must name a message that is stored or put earlier in the same batch.
// Messages are only deleted at the end of a batch, so order within it does not matter.
CommitResult MemoryStore::validate(const WriteBatch& batch) const {
    std::set<MessageId> put;
    auto known = [&](MessageId id) { return messages_.contains(id) || put.contains(id); };
    auto dangling = [](MessageId id) {
        return CommitResult{false, false, "reference to unknown message " + std::to_string(id)};
    };
    for (const Mutation& m : batch.mutations()) {
        if (const auto* p = std::get_if<mutation::PutMessage>(&m)) {
            if (p->id == 0 || !p->message) {
                return CommitResult{false, false, "message id 0 or null message"};
            }
            put.insert(p->id);
        } else if (const auto* q = std::get_if<mutation::PushQueued>(&m)) {
            if (!known(q->entry.message)) {
                return dangling(q->entry.message);
            }
        } else if (const auto* f = std::get_if<mutation::PutInflight>(&m)) {
            if (f->entry.message != 0 && !known(f->entry.message)) {
                return dangling(f->entry.message);
            }
        } else if (const auto* r = std::get_if<mutation::SetRetained>(&m)) {
            if (!known(r->message)) {
                return dangling(r->message);
            }
        }
    }
    return {};
}

void MemoryStore::apply(const WriteBatch& batch) {
    RefDeltas deltas;
    std::unordered_map<MessageId, session::MessagePtr> puts;
    for (const Mutation& m : batch.mutations()) {
        apply_one(m, deltas, puts);
    }
    for (auto& [id, message] : puts) {
        max_message_id_ = std::max(max_message_id_, id);
        if (!messages_.contains(id)) {
            messages_.emplace(id, StoredMessage{with_id(std::move(message), id), 0});
        }
    }
    // A message put but referenced by nothing is dropped here, as is one whose last
    // reference went during the batch.
    for (auto& [id, stored] : puts) {
        (void)stored;
        deltas.try_emplace(id, 0);
    }
    for (const auto& [id, delta] : deltas) {
        auto it = messages_.find(id);
        if (it == messages_.end()) {
            continue;
        }
        const auto count = static_cast<std::int64_t>(it->second.references) + delta;
        if (count <= 0) {
            messages_.erase(it);
        } else {
            it->second.references = static_cast<std::uint64_t>(count);
        }
    }
}

void MemoryStore::apply_one(const Mutation& m, RefDeltas& deltas,
                            std::unordered_map<MessageId, session::MessagePtr>& puts) {
    auto acquire = [&](MessageId id) {
        if (id != 0) {
            ++deltas[id];
        }
    };
    auto release = [&](MessageId id) {
        if (id != 0) {
            --deltas[id];
        }
    };
    std::visit(
        Overloaded{
            [&](const mutation::PutMessage& p) { puts.try_emplace(p.id, p.message); },
            [&](const mutation::PutSession& p) { sessions_[p.session.client_id] = p.session; },
            [&](const mutation::EraseSession& e) {
                sessions_.erase(e.client_id);
                erase_client_data(e.client_id, deltas);
            },
            [&](const mutation::PutSubscription& p) {
                subscriptions_[{p.subscription.client_id, p.subscription.filter}] = p.subscription;
            },
            [&](const mutation::EraseSubscription& e) {
                subscriptions_.erase({e.client_id, e.filter});
            },
            [&](const mutation::PushQueued& p) {
                auto& slot = queued_[p.entry.client_id];
                if (auto it = slot.find(p.entry.seq); it != slot.end()) {
                    release(it->second.message);
                }
                acquire(p.entry.message);
                slot[p.entry.seq] = p.entry;
            },
            [&](const mutation::EraseQueued& e) {
                auto client = queued_.find(e.client_id);
                if (client == queued_.end()) {
                    return;
                }
                if (auto it = client->second.find(e.seq); it != client->second.end()) {
                    release(it->second.message);
                    client->second.erase(it);
                }
                if (client->second.empty()) {
                    queued_.erase(client);
                }
            },
            [&](const mutation::PutInflight& p) {
                auto& slot = inflight_[p.entry.client_id];
                if (auto it = slot.find(p.entry.packet_id); it != slot.end()) {
                    release(it->second.message);
                }
                acquire(p.entry.message);
                slot[p.entry.packet_id] = p.entry;
            },
            [&](const mutation::EraseInflight& e) {
                auto client = inflight_.find(e.client_id);
                if (client == inflight_.end()) {
                    return;
                }
                if (auto it = client->second.find(e.packet_id); it != client->second.end()) {
                    release(it->second.message);
                    client->second.erase(it);
                }
                if (client->second.empty()) {
                    inflight_.erase(client);
                }
            },
            [&](const mutation::AddInboundQos2& a) {
                inbound_qos2_[a.client_id].insert(a.packet_id);
            },
            [&](const mutation::EraseInboundQos2& e) {
                if (auto it = inbound_qos2_.find(e.client_id); it != inbound_qos2_.end()) {
                    it->second.erase(e.packet_id);
                }
            },
            [&](const mutation::SetRetained& s) {
                if (auto it = retained_.find(s.topic); it != retained_.end()) {
                    release(it->second);
                }
                acquire(s.message);
                retained_[s.topic] = s.message;
            },
            [&](const mutation::EraseRetained& e) {
                if (auto it = retained_.find(e.topic); it != retained_.end()) {
                    release(it->second);
                    retained_.erase(it);
                }
            },
            [&](const mutation::SetClock& c) { clock_ms_ = c.unix_ms; },
        },
        m);
}

void MemoryStore::erase_client_data(const std::string& client_id, RefDeltas& deltas) {
    std::erase_if(subscriptions_, [&](const auto& kv) { return kv.first.first == client_id; });
    if (auto it = queued_.find(client_id); it != queued_.end()) {
        for (const auto& [seq, entry] : it->second) {
            --deltas[entry.message];
        }
        queued_.erase(it);
    }
    if (auto it = inflight_.find(client_id); it != inflight_.end()) {
        for (const auto& [id, entry] : it->second) {
            if (entry.message != 0) {
                --deltas[entry.message];
            }
        }
        inflight_.erase(it);
    }
    inbound_qos2_.erase(client_id);
}

Snapshot MemoryStore::load() {
    return snapshot(0, true);
}

Snapshot MemoryStore::recover(std::size_t queue_window) {
    return snapshot(queue_window, false);
}

Snapshot MemoryStore::snapshot(std::size_t queue_window, bool all_messages) {
    std::lock_guard lock(mutex_);
    Snapshot snapshot;
    for (const auto& [id, session] : sessions_) {
        snapshot.sessions.push_back(session);
    }
    for (const auto& [key, subscription] : subscriptions_) {
        snapshot.subscriptions.push_back(subscription);
    }
    std::vector<MessageId> referenced;
    for (const auto& [client, entries] : queued_) {
        if (entries.empty()) {
            continue;
        }
        auto& out = snapshot.queued[client];
        auto& summary = snapshot.queue_summaries[client];
        for (const auto& [seq, entry] : entries) {
            ++summary.count;
            summary.bytes += entry.bytes;
            summary.last_seq = seq;
            if (queue_window == 0 || out.size() < queue_window) {
                out.push_back(entry);
                referenced.push_back(entry.message);
            }
        }
    }
    for (const auto& [client, entries] : inflight_) {
        if (entries.empty()) {
            continue;
        }
        auto& out = snapshot.inflight[client];
        for (const auto& [id, entry] : entries) {
            out.push_back(entry);
            if (entry.message != 0) {
                referenced.push_back(entry.message);
            }
        }
        std::ranges::sort(out, {}, &InflightEntry::seq);
    }
    for (const auto& [client, ids] : inbound_qos2_) {
        if (!ids.empty()) {
            snapshot.inbound_qos2[client].assign(ids.begin(), ids.end());
        }
    }
    snapshot.retained.insert(retained_.begin(), retained_.end());
    for (const auto& [topic, id] : retained_) {
        referenced.push_back(id);
    }
    if (all_messages) {
        for (const auto& [id, stored] : messages_) {
            snapshot.messages.emplace(id, stored.message);
        }
    } else {
        for (MessageId id : referenced) {
            snapshot.messages.try_emplace(id, messages_.at(id).message);
        }
    }
    snapshot.max_message_id = max_message_id_;
    snapshot.clock_ms = clock_ms_;
    return snapshot;
}

Store::QueuedRead MemoryStore::read_queued(const std::string& client_id, std::uint64_t after_seq,
                                           std::size_t limit) {
    std::lock_guard lock(mutex_);
    QueuedRead out;
    auto client = queued_.find(client_id);
    if (client == queued_.end()) {
        return out;
    }
    for (auto it = client->second.upper_bound(after_seq);
         it != client->second.end() && out.entries.size() < limit; ++it) {
        out.entries.push_back(it->second);
        out.messages.try_emplace(it->second.message, messages_.at(it->second.message).message);
    }
    return out;
}

StoreCounts MemoryStore::counts() {
    std::lock_guard lock(mutex_);
    StoreCounts counts;
    counts.sessions = sessions_.size();
    counts.subscriptions = subscriptions_.size();
    for (const auto& [client, entries] : queued_) {
        counts.queued += entries.size();
    }
    for (const auto& [client, entries] : inflight_) {
        counts.inflight += entries.size();
    }
    for (const auto& [client, ids] : inbound_qos2_) {
        counts.inbound_qos2 += ids.size();
    }
    counts.messages = messages_.size();
    counts.retained = retained_.size();
    return counts;
}

}  // namespace petrel::store
