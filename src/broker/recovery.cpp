#include "recovery.hpp"

#include <chrono>
#include <set>
#include <unordered_map>

#include "session_handle.hpp"
#include "worker.hpp"

namespace petrel::broker {

namespace {

session::Delivery to_delivery(session::MessagePtr message, protocol::Qos qos, bool retain,
                              std::vector<std::uint32_t> subscription_ids, std::uint64_t seq) {
    session::Delivery delivery;
    delivery.message = std::move(message);
    delivery.qos = qos;
    delivery.retain = retain;
    delivery.subscription_ids = std::move(subscription_ids);
    delivery.seq = seq;
    return delivery;
}

struct Counts {
    std::size_t sessions = 0;
    std::size_t ended = 0;
    std::size_t subscriptions = 0;
    std::uint64_t queued = 0;
    std::size_t inflight = 0;
    std::size_t retained = 0;
};

}  // namespace

std::vector<session::MessagePtr> recover_state(BrokerContext& context) {
    const auto started = std::chrono::steady_clock::now();
    store::Snapshot snapshot = context.store->recover(context.queue_memory_window);
    context.message_ids.store(snapshot.max_message_id + 1);

    const std::int64_t now_ms = wall_clock_ms();
    const auto now = session::Clock::now();
    std::vector<session::MessagePtr> wills;
    std::unordered_map<std::string, SessionHandlePtr> sessions;
    store::WriteBatch updates;
    Counts counts;
    Worker& any_worker = *context.workers.front();

    for (store::StoredSession& stored : snapshot.sessions) {
        // 0 means it was connected when the broker stopped: its connection ended then,
        // within one clock period after the last "alive" time the broker wrote. Taking the
        // end of that period errs on keeping a session a little longer, never shorter.
        const bool was_connected = stored.disconnected_at_ms == 0;
        std::int64_t lost_at_ms = stored.disconnected_at_ms;
        if (was_connected) {
            lost_at_ms = snapshot.clock_ms > 0 ? std::min<std::int64_t>(
                                                     now_ms, snapshot.clock_ms + kClockTicks * 1000)
                                               : now_ms;
        }
        const std::int64_t away_ms = std::max<std::int64_t>(0, now_ms - lost_at_ms);
        const bool ended = stored.expiry_interval == 0 ||
                           (stored.expiry_interval != session::kSessionNeverExpires &&
                            away_ms >= static_cast<std::int64_t>(stored.expiry_interval) * 1000);
        // A will is due at the end of its delay or of the session, whichever comes first
        // [MQTT-3.1.3-9]; one not yet due waits on in the session.
        std::optional<std::int64_t> will_wait_ms;
        bool will_published = false;
        if (stored.will) {
            const std::int64_t delay_ms =
                std::int64_t{stored.will->properties.number(protocol::PropertyId::WillDelayInterval)
                                 .value_or(0)} *
                1000;
            if (ended || away_ms >= delay_ms) {
                wills.push_back(will_message(
                    *stored.will, stored.client_id, context.next_message_id(),
                    session::MessageSource{
                        stored.username ? std::make_shared<const std::string>(*stored.username)
                                        : nullptr,
                        stored.listener}));
                stored.will.reset();
                will_published = true;
            } else {
                will_wait_ms = delay_ms - away_ms;
            }
        }
        if (ended) {
            updates.erase_session(stored.client_id);
            ++counts.ended;
            continue;
        }
        const unsigned home = any_worker.home_worker_for(stored.client_id);
        auto session = std::make_shared<SessionHandle>(stored.client_id, home,
                                                       context.workers[home]->session_limits());
        session::Session& state = session->state;
        state.version = stored.version;
        state.expiry_interval = stored.expiry_interval;
        state.on_connection_lost(now);
        if (state.expires_at) {
            *state.expires_at -= std::chrono::milliseconds(away_ms);  // time stopped counts
        }
        if (stored.username) {
            session->username.store(std::make_shared<const std::string>(*stored.username));
        }
        session->listener.store(&context.listener_policy(stored.listener));
        session->stored = true;
        session->persistent.store(true);
        if (context.queue_memory_window > 0) {
            state.outbound().set_memory_window(context.queue_memory_window);
        }
        session->disconnected_at_ms = lost_at_ms;
        if (will_wait_ms) {
            state.will = stored.will;
            session->will_due_at = now + std::chrono::milliseconds(*will_wait_ms);
        }
        if (was_connected || will_published) {
            stored.disconnected_at_ms = lost_at_ms;
            updates.put_session(stored);
        }
        sessions.emplace(stored.client_id, session);
        ++counts.sessions;
    }

    auto find_session = [&](const std::string& client_id) -> SessionHandle* {
        auto found = sessions.find(client_id);
        return found == sessions.end() ? nullptr : found->second.get();
    };
    auto message_of = [&](store::MessageId id) -> session::MessagePtr {
        auto found = snapshot.messages.find(id);
        return found == snapshot.messages.end() ? nullptr : found->second;
    };

    for (const store::StoredSubscription& subscription : snapshot.subscriptions) {
        auto found = sessions.find(subscription.client_id);
        if (found == sessions.end()) {
            continue;
        }
        context.router.subscribe(
            subscription.filter, found->second,
            SubscriptionData{subscription.record.options, subscription.record.subscription_id});
        found->second->state.subscriptions[subscription.filter] = subscription.record;
        ++counts.subscriptions;
    }
    for (auto& [client_id, entries] : snapshot.inflight) {
        SessionHandle* session = find_session(client_id);
        if (session == nullptr) {
            continue;
        }
        for (store::InflightEntry& entry : entries) {
            session::MessagePtr message = message_of(entry.message);
            if (entry.message != 0 && !message) {
                throw store::StoreError("in-flight message " + std::to_string(entry.message) +
                                        " of client '" + client_id + "' is missing");
            }
            session->state.outbound().restore_inflight(session::InflightMessage{
                entry.packet_id, entry.state,
                to_delivery(std::move(message), entry.qos, entry.retain,
                            std::move(entry.subscription_ids), entry.seq)});
            session->next_seq.store(std::max(session->next_seq.load(), entry.seq + 1));
            ++counts.inflight;
        }
    }
    for (auto& [client_id, entries] : snapshot.queued) {
        SessionHandle* session = find_session(client_id);
        if (session == nullptr) {
            continue;
        }
        std::uint64_t restored_bytes = 0;
        for (store::QueuedEntry& entry : entries) {
            session::MessagePtr message = message_of(entry.message);
            if (!message) {
                throw store::StoreError("queued message " + std::to_string(entry.message) +
                                        " of client '" + client_id + "' is missing");
            }
            restored_bytes += entry.bytes;
            session->state.outbound().restore_queued(
                to_delivery(std::move(message), entry.qos, entry.retain,
                            std::move(entry.subscription_ids), entry.seq));
        }
        auto summary = snapshot.queue_summaries.find(client_id);
        if (summary != snapshot.queue_summaries.end()) {
            const store::QueueSummary& whole = summary->second;
            if (whole.count > entries.size()) {
                session->state.outbound().restore_spilled(
                    whole.count - entries.size(),
                    whole.bytes > restored_bytes ? whole.bytes - restored_bytes : 0);
            }
            session->next_seq.store(std::max(session->next_seq.load(), whole.last_seq + 1));
            counts.queued += whole.count;
        }
    }
    for (const auto& [client_id, packet_ids] : snapshot.inbound_qos2) {
        if (SessionHandle* session = find_session(client_id)) {
            for (protocol::PacketId id : packet_ids) {
                session->state.inbound_qos2().on_publish(id);
            }
        }
    }
    for (const auto& [topic, id] : snapshot.retained) {
        if (session::MessagePtr message = message_of(id)) {
            context.router.retain(message);
            ++counts.retained;
        }
    }
    // Records of a client without a session (it ended while a message for it was being
    // stored) are left-overs: erase them so they do not hold their messages forever.
    std::set<std::string> orphans;
    for (const auto& [client_id, entries] : snapshot.queued) {
        orphans.insert(client_id);
    }
    for (const auto& [client_id, entries] : snapshot.inflight) {
        orphans.insert(client_id);
    }
    for (const auto& [client_id, ids] : snapshot.inbound_qos2) {
        orphans.insert(client_id);
    }
    for (const store::StoredSubscription& subscription : snapshot.subscriptions) {
        orphans.insert(subscription.client_id);
    }
    for (const std::string& client_id : orphans) {
        if (!sessions.contains(client_id)) {
            updates.erase_session(client_id);
        }
    }
    for (auto& [client_id, session] : sessions) {
        context.workers[session->home_worker]->adopt_recovered(session);
    }
    updates.set_clock(now_ms);
    context.store->submit(std::move(updates), nullptr);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    context.log.info(
        "recovered {} sessions ({} subscriptions, {} queued and {} in-flight messages), {} "
        "retained messages and {} due wills in {} ms; {} sessions had expired",
        counts.sessions, counts.subscriptions, counts.queued, counts.inflight, counts.retained,
        wills.size(), elapsed.count(), counts.ended);
    return wills;
}

}  // namespace petrel::broker
