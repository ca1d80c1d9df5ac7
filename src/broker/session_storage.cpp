// What a worker writes to the store about the sessions it homes, and how it reads an
// offline queue back. Every write about a session comes from its home worker, staged
// per event batch (StagedWrites), so the store sees a session's changes in order.
#include <chrono>
#include <optional>

#include "client_connection.hpp"
#include "worker.hpp"

namespace petrel::broker {

namespace {

store::InflightEntry inflight_entry(const std::string& client_id,
                                    const session::OutboundPacket& packet) {
    const session::Delivery& delivery = packet.delivery;
    store::InflightEntry entry;
    entry.client_id = client_id;
    entry.seq = delivery.seq;
    entry.packet_id = packet.packet_id;
    entry.state = delivery.qos == 1 ? session::OutboundState::AwaitingPuback
                                    : session::OutboundState::AwaitingPubrec;
    entry.message = delivery.message->id;
    entry.qos = delivery.qos;
    entry.retain = delivery.retain;
    entry.subscription_ids = delivery.subscription_ids;
    return entry;
}

}  // namespace

std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

session::OutboundFlow::Limits Worker::session_limits() const {
    const Config& config = context_.config;
    session::OutboundFlow::Limits limits;
    limits.max_inflight = config.max_inflight_messages;
    limits.max_queued = config.max_queued_messages;
    limits.max_queued_bytes = config.max_queued_bytes;
    limits.max_inflight_bytes = config.max_inflight_bytes;
    return limits;
}

void Worker::store_retained(const session::MessagePtr& message, const CommitToken& token) {
    // Staged with the message's other writes, and the batch submitted under the router's
    // retained lock: two workers updating one topic reach the store in the order the
    // router applied them.
    context_.router.retain(message, [&] {
        store::WriteBatch& batch = staged_.batch();
        if (message->payload->empty()) {
            batch.erase_retained(message->topic);
        } else {
            batch.put_message(message->id, message);
            batch.set_retained(message->topic, message->id);
        }
        staged_.hold(token);
        staged_.submit();
    });
}

void Worker::stage_queued(const SessionHandlePtr& target, const session::Delivery& delivery,
                          bool with_message) {
    const std::uint64_t bytes = session::OutboundFlow::delivery_size(delivery);
    store::QueuedEntry entry;
    entry.client_id = target->state.client_id();
    entry.seq = delivery.seq;
    entry.message = delivery.message->id;
    entry.qos = delivery.qos;
    entry.retain = delivery.retain;
    entry.subscription_ids = delivery.subscription_ids;
    entry.bytes = bytes;
    store::WriteBatch& batch = staged_.batch();
    if (with_message) {
        batch.put_message(delivery.message->id, delivery.message);
    }
    batch.push_queued(std::move(entry));
    staged_.track(StagedQueueEntry{target, delivery.seq, bytes});
}

void Worker::forget_unstored(std::vector<StagedQueueEntry> entries) {
    // The publisher was refused (0x97, or no PUBACK for 3.1.1 and a resend): the sessions
    // must not deliver these anyway, nor count them. Each is told on its home worker.
    std::vector<std::vector<StagedQueueEntry>> by_home(context_.workers.size());
    for (StagedQueueEntry& entry : entries) {
        by_home[entry.target->home_worker].push_back(std::move(entry));
    }
    for (unsigned home = 0; home < by_home.size(); ++home) {
        if (by_home[home].empty()) {
            continue;
        }
        auto box = std::make_shared<std::vector<StagedQueueEntry>>(std::move(by_home[home]));
        context_.workers[home]->loop().post([box] {
            for (const StagedQueueEntry& entry : *box) {
                if (!entry.target->discarded) {
                    entry.target->state.outbound().forget(entry.seq, entry.bytes);
                }
            }
        });
    }
}

void Worker::record_delivery(const SessionHandlePtr& target, const session::Delivery& delivery,
                             session::OfferOutcome outcome) {
    if (outcome == session::OfferOutcome::Queued || outcome == session::OfferOutcome::Spilled) {
        stage_queued(target, delivery, true);
    }
    // Sent: dispatch_outbound records it in flight. Dropped: nothing to keep.
}

void Worker::drop_unsendable(const SessionHandlePtr& session,
                             std::vector<session::OutboundPacket>& packets) {
    using Unsendable = session::OutboundFlow::Unsendable;
    std::int64_t now_ms = 0;  // read once, and only when some message can expire
    session::OutboundFlow& outbound = session->state.outbound();
    const bool persistent = session->persistent.load(std::memory_order_relaxed);
    const std::uint32_t size_limit = session->client_maximum_packet_size;
    std::size_t kept = 0;
    // Index loop: releasing a flight appends the packets that take its place.
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const session::OutboundPacket& packet = packets[i];
        const session::Message* message = packet.delivery.message.get();
        std::optional<Unsendable> why;
        if (packet.kind == session::OutboundPacket::Kind::Publish && message != nullptr) {
            // Only a delivery not yet started expires: a flight is completed [MQTT-4.3.3-7].
            if (!packet.dup && message->expires_at_ms != 0) {
                now_ms = now_ms != 0 ? now_ms : wall_clock_ms();
                if (message->expired(now_ms)) {
                    why = Unsendable::Expired;
                }
            }
            // Measured when queued; a client may reconnect with a smaller limit since.
            if (!why && size_limit > 0 &&
                ClientConnection::publish_size(packet.delivery, session->state.version) +
                        (session->client_topic_aliases ? kTopicAliasBytes : 0) >
                    size_limit) {
                why = Unsendable::TooLarge;
            }
        }
        if (!why) {
            if (kept != i) {
                packets[kept] = std::move(packets[i]);
            }
            ++kept;
            continue;
        }
        const std::uint64_t seq = packet.delivery.seq;
        const protocol::PacketId packet_id = packet.packet_id;
        const bool resend = packet.dup;
        if (packet_id == 0) {
            *why == Unsendable::Expired ? outbound.count_expired() : outbound.count_too_large();
            continue;
        }
        if (persistent) {
            // A resend is stored in flight; a new flight is still a queue entry.
            if (resend) {
                staged_.batch().erase_inflight(session->state.client_id(), packet_id);
            } else if (seq != 0) {
                staged_.batch().erase_queued(session->state.client_id(), seq);
            }
        }
        for (session::OutboundPacket& next : outbound.drop_unsent(packet_id, *why)) {
            packets.push_back(std::move(next));
        }
    }
    packets.resize(kept);
}

void Worker::dispatch_outbound(const SessionHandlePtr& session,
                               std::vector<session::OutboundPacket> packets, bool after_commit) {
    drop_unsendable(session, packets);
    bool wait = after_commit;
    if (session->persistent.load(std::memory_order_relaxed)) {
        const std::string& client_id = session->state.client_id();
        for (const session::OutboundPacket& packet : packets) {
            // A new flight (not a resend) of a stored delivery: the queue entry becomes an
            // in-flight one with its packet id. Erasing a queue entry that was never
            // written (the delivery went straight into flight) is a no-op in the store.
            if (packet.kind != session::OutboundPacket::Kind::Publish || packet.packet_id == 0 ||
                packet.dup || packet.delivery.seq == 0) {
                continue;
            }
            store::WriteBatch& batch = staged_.batch();
            batch.put_message(packet.delivery.message->id, packet.delivery.message);
            batch.erase_queued(client_id, packet.delivery.seq);
            batch.put_inflight(inflight_entry(client_id, packet));
            // A QoS 2 packet id must be on disk before the client sees it: were it resent
            // after a crash under another id, the client would deliver it twice.
            wait = wait || packet.delivery.qos == 2;
        }
    }
    SessionConnection* connection = session->connection;
    if (connection == nullptr || packets.empty()) {
        return;
    }
    if (wait) {
        staged_.hold(connection->send_after_commit(std::move(packets)));
    } else {
        connection->send_outbound(std::move(packets));
    }
}

void Worker::record_released(const SessionHandlePtr& session, protocol::PacketId packet_id) {
    if (session->persistent.load(std::memory_order_relaxed)) {
        staged_.batch().erase_inflight(session->state.client_id(), packet_id);
    }
}

void Worker::record_pubrec(const SessionHandlePtr& session, protocol::PacketId packet_id) {
    if (!session->persistent.load(std::memory_order_relaxed)) {
        return;
    }
    for (const session::InflightMessage& flight : session->state.outbound().inflight()) {
        if (flight.packet_id != packet_id) {
            continue;
        }
        store::InflightEntry entry;
        entry.client_id = session->state.client_id();
        entry.seq = flight.delivery.seq;
        entry.packet_id = packet_id;
        entry.state = session::OutboundState::AwaitingPubcomp;
        entry.message = 0;  // the payload is no longer needed [MQTT-4.3.3-4]
        entry.qos = 2;
        staged_.batch().put_inflight(std::move(entry));
        return;
    }
}

void Worker::record_session(const SessionHandlePtr& session, std::int64_t disconnected_at_ms) {
    const session::Session& state = session->state;
    const bool persistent = state.expiry_interval > 0;
    // A session that ends with its connection is still stored while it has a will: if the
    // broker crashes, the will is published when it starts again.
    const bool needs_record = persistent || (state.will && disconnected_at_ms == 0);
    if (!needs_record) {
        if (session->stored) {
            staged_.batch().erase_session(state.client_id());
            session->stored = false;
        }
        session->persistent.store(false);
        return;
    }
    store::StoredSession record;
    record.client_id = state.client_id();
    record.version = state.version;
    record.expiry_interval = state.expiry_interval;
    record.disconnected_at_ms = disconnected_at_ms;
    record.will = state.will;
    if (const auto username = session->username.load()) {
        record.username = *username;
    }
    if (const ListenerPolicy* listener = session->listener.load(std::memory_order_acquire)) {
        record.listener = listener->index;
    }
    staged_.batch().put_session(std::move(record));
    session->stored = true;
    session->persistent.store(persistent);
    if (persistent && context_.queue_memory_window > 0) {
        session->state.outbound().set_memory_window(context_.queue_memory_window);
    }
}

void Worker::refill(const SessionHandlePtr& session) {
    session::OutboundFlow& outbound = session->state.outbound();
    const std::size_t wanted = outbound.refill_wanted();
    if (wanted == 0 || session->discarded || session->refill_scheduled) {
        return;
    }
    store::Store::QueuedRead read;
    try {
        read = context_.store->read_queued(session->state.client_id(), outbound.refill_after_seq(),
                                           wanted);
    } catch (const store::StoreError& error) {
        log().error("client '{}': cannot read its queue from the store: {}",
                    session->state.client_id(), error.what());
        return;
    }
    std::vector<session::Delivery> deliveries;
    deliveries.reserve(read.entries.size());
    for (store::QueuedEntry& entry : read.entries) {
        auto message = read.messages.find(entry.message);
        if (message == read.messages.end()) {
            continue;
        }
        session::Delivery delivery;
        delivery.message = message->second;
        delivery.qos = entry.qos;
        delivery.retain = entry.retain;
        delivery.subscription_ids = std::move(entry.subscription_ids);
        delivery.seq = entry.seq;
        deliveries.push_back(std::move(delivery));
    }
    if (deliveries.empty()) {
        // Spilled entries still on their way to the disk: look again shortly.
        session->refill_scheduled = true;
        std::weak_ptr<SessionHandle> weak = session;
        loop_.after(std::chrono::milliseconds(20), [this, weak] {
            if (SessionHandlePtr again = weak.lock()) {
                again->refill_scheduled = false;
                refill(again);
            }
        });
        return;
    }
    std::vector<session::OutboundPacket> ready =
        outbound.refill(std::move(deliveries), session->connection != nullptr);
    if (!ready.empty()) {
        dispatch_outbound(session, std::move(ready));
    }
}

void Worker::adopt_recovered(SessionHandlePtr session) {
    std::string client_id = session->state.client_id();
    sessions_.emplace(std::move(client_id), std::move(session));
}

}  // namespace petrel::broker
