#include "session_recorder.hpp"

#include "broker_context.hpp"
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

SessionRecorder::SessionRecorder(net::EventLoop& loop, BrokerContext& context)
    : context_(context),
      staged_(
          loop, *context.store, context.store_health,
          [this](std::vector<StagedQueueEntry> entries) { forget_unstored(std::move(entries)); }) {}

// ---- the session record ----

void SessionRecorder::connected(SessionHandle& session) {
    record(session, 0);
}

void SessionRecorder::disconnected(SessionHandle& session) {
    record(session, session.disconnected_at_ms);
}

void SessionRecorder::will_published(SessionHandle& session) {
    if (!session.discarded && session.stored) {
        record(session, session.disconnected_at_ms);
    }
}

void SessionRecorder::ended(SessionHandle& session) {
    if (session.stored) {
        staged_.batch().erase_session(session.state.client_id());
        session.stored = false;
        session.persistent.store(false);
    }
}

bool SessionRecorder::persistent(const SessionHandle& session) const {
    return session.persistent.load(std::memory_order_relaxed);
}

void SessionRecorder::record(SessionHandle& session, std::int64_t disconnected_at_ms) {
    const session::Session& state = session.state;
    const bool persistent = state.expiry_interval > 0;
    // A session that ends with its connection is still stored while it has a will: if the
    // broker crashes, the will is published when it starts again.
    const bool needs_record = persistent || (state.will && disconnected_at_ms == 0);
    if (!needs_record) {
        if (session.stored) {
            staged_.batch().erase_session(state.client_id());
            session.stored = false;
        }
        session.persistent.store(false);
        return;
    }
    store::StoredSession record;
    record.client_id = state.client_id();
    record.version = state.version;
    record.expiry_interval = state.expiry_interval;
    record.disconnected_at_ms = disconnected_at_ms;
    record.will = state.will;
    if (const auto username = session.username.load()) {
        record.username = *username;
    }
    if (const ListenerPolicy* listener = session.listener.load(std::memory_order_acquire)) {
        record.listener = listener->index;
    }
    staged_.batch().put_session(std::move(record));
    session.stored = true;
    session.persistent.store(persistent);
    if (persistent && context_.queue_memory_window > 0) {
        session.state.outbound().set_memory_window(context_.queue_memory_window);
    }
}

// ---- subscriptions ----

void SessionRecorder::subscribed(const SessionHandle& session, const std::string& filter,
                                 const session::SubscriptionRecord& record) {
    if (persistent(session)) {
        staged_.batch().put_subscription(
            store::StoredSubscription{session.state.client_id(), filter, record});
    }
}

void SessionRecorder::unsubscribed(const SessionHandle& session, const std::string& filter) {
    if (persistent(session)) {
        staged_.batch().erase_subscription(session.state.client_id(), filter);
    }
}

// ---- QoS 2 from the client ----

void SessionRecorder::inbound_qos2_received(const SessionHandle& session,
                                            protocol::PacketId packet_id,
                                            const CommitToken& reply) {
    if (persistent(session)) {
        staged_.batch().add_inbound_qos2(session.state.client_id(), packet_id);
        staged_.hold(reply);
    }
}

void SessionRecorder::inbound_qos2_refused(const SessionHandle& session,
                                           protocol::PacketId packet_id) {
    if (persistent(session)) {
        staged_.batch().erase_inbound_qos2(session.state.client_id(), packet_id);
    }
}

bool SessionRecorder::inbound_qos2_released(const SessionHandle& session,
                                            protocol::PacketId packet_id) {
    if (!persistent(session)) {
        return false;
    }
    staged_.batch().erase_inbound_qos2(session.state.client_id(), packet_id);
    return true;
}

// ---- published messages ----

void SessionRecorder::routed(std::vector<RoutedDelivery>& routed, const CommitToken& reply) {
    bool staged = false;
    std::uint64_t message_staged = 0;
    for (RoutedDelivery& delivery : routed) {
        const std::uint64_t id = delivery.delivery.message->id;
        // QoS 0 promises nothing that a commit must keep.
        if (delivery.delivery.qos > 0 &&
            delivery.target->stage(*this, delivery.delivery, id != message_staged)) {
            message_staged = id;
            staged = true;
        }
    }
    if (staged) {
        staged_.hold(reply);
    }
}

void SessionRecorder::queued(const SessionHandlePtr& target, session::Delivery& delivery,
                             bool with_message) {
    delivery.seq = target->next_seq.fetch_add(1, std::memory_order_relaxed);
    stage_queued(target, delivery, with_message);
}

void SessionRecorder::retained(const session::MessagePtr& message, const CommitToken& reply) {
    context_.router.retain(message, [&] {
        store::WriteBatch& batch = staged_.batch();
        if (message->payload->empty()) {
            batch.erase_retained(message->topic);
        } else {
            batch.put_message(message->id, message);
            batch.set_retained(message->topic, message->id);
        }
        staged_.hold(reply);
        staged_.submit();
    });
}

void SessionRecorder::stage_queued(const SessionHandlePtr& target,
                                   const session::Delivery& delivery, bool with_message) {
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

void SessionRecorder::forget_unstored(std::vector<StagedQueueEntry> entries) {
    // Rule 2: the sessions must neither deliver these nor count them.
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

// ---- deliveries ----

std::optional<session::Delivery> SessionRecorder::numbered_here(SessionHandle& target,
                                                                session::Delivery& delivery) {
    if (delivery.qos == 0 || !persistent(target)) {
        return std::nullopt;
    }
    delivery.seq = target.next_seq.fetch_add(1, std::memory_order_relaxed);
    return delivery;  // the flow consumes `delivery`; the store needs it if it is queued
}

void SessionRecorder::offered(const SessionHandlePtr& target, const session::Delivery& delivery,
                              session::OfferOutcome outcome) {
    if (outcome == session::OfferOutcome::Queued || outcome == session::OfferOutcome::Spilled) {
        stage_queued(target, delivery, true);
    }
}

void SessionRecorder::stored_delivery_dropped(const SessionHandle& target, std::uint64_t seq) {
    staged_.batch().erase_queued(target.state.client_id(), seq);
}

void SessionRecorder::unsent_dropped(const SessionHandle& session,
                                     const session::OutboundPacket& packet) {
    if (!persistent(session)) {
        return;
    }
    // A resend is stored in flight; a new flight is still a queue entry.
    if (packet.dup) {
        staged_.batch().erase_inflight(session.state.client_id(), packet.packet_id);
    } else if (packet.delivery.seq != 0) {
        staged_.batch().erase_queued(session.state.client_id(), packet.delivery.seq);
    }
}

bool SessionRecorder::flights_started(const SessionHandle& session,
                                      const std::vector<session::OutboundPacket>& packets) {
    if (!persistent(session)) {
        return false;
    }
    bool wait = false;
    const std::string& client_id = session.state.client_id();
    for (const session::OutboundPacket& packet : packets) {
        // A new flight (not a resend) of a stored delivery. Erasing a queue entry that was
        // never written (the delivery went straight into flight) is a no-op in the store.
        if (packet.kind != session::OutboundPacket::Kind::Publish || packet.packet_id == 0 ||
            packet.dup || packet.delivery.seq == 0) {
            continue;
        }
        store::WriteBatch& batch = staged_.batch();
        batch.put_message(packet.delivery.message->id, packet.delivery.message);
        batch.erase_queued(client_id, packet.delivery.seq);
        batch.put_inflight(inflight_entry(client_id, packet));
        wait = wait || packet.delivery.qos == 2;
    }
    return wait;
}

bool SessionRecorder::pubrec_received(const SessionHandle& session, protocol::PacketId packet_id) {
    if (!persistent(session)) {
        return false;
    }
    for (const session::InflightMessage& flight : session.state.outbound().inflight()) {
        if (flight.packet_id != packet_id) {
            continue;
        }
        store::InflightEntry entry;
        entry.client_id = session.state.client_id();
        entry.seq = flight.delivery.seq;
        entry.packet_id = packet_id;
        entry.state = session::OutboundState::AwaitingPubcomp;
        entry.message = 0;  // the payload is no longer needed [MQTT-4.3.3-4]
        entry.qos = 2;
        staged_.batch().put_inflight(std::move(entry));
        break;
    }
    return true;
}

void SessionRecorder::delivery_completed(const SessionHandle& session,
                                         protocol::PacketId packet_id) {
    if (persistent(session)) {
        staged_.batch().erase_inflight(session.state.client_id(), packet_id);
    }
}

void SessionRecorder::handed_over(const SessionHandle& session,
                                  const session::OutboundFlow::Taken& taken) {
    if (!persistent(session)) {
        return;
    }
    store::WriteBatch& batch = staged_.batch();
    for (const std::uint64_t seq : taken.queued_seqs) {
        batch.erase_queued(session.state.client_id(), seq);
    }
    for (const protocol::PacketId id : taken.released_ids) {
        batch.erase_inflight(session.state.client_id(), id);
    }
}

// ---- the batch ----

void SessionRecorder::alive_at(std::int64_t unix_ms) {
    staged_.batch().set_clock(unix_ms);
}

void SessionRecorder::hold(CommitToken reply) {
    staged_.hold(std::move(reply));
}

void SessionRecorder::submit() {
    staged_.submit();
}

}  // namespace petrel::broker
