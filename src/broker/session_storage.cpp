// A session's outbound packets on their way to its connection, and its offline queue read
// back from the store. What they change in the store is recorded by the worker's
// SessionRecorder (session_recorder.hpp).
#include <chrono>
#include <optional>

#include "client_connection.hpp"
#include "worker.hpp"

namespace petrel::broker {

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

void Worker::drop_unsendable(const SessionHandlePtr& session,
                             std::vector<session::OutboundPacket>& packets) {
    using Unsendable = session::OutboundFlow::Unsendable;
    std::int64_t now_ms = 0;  // read once, and only when some message can expire
    session::OutboundFlow& outbound = session->state.outbound();
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
        const protocol::PacketId packet_id = packet.packet_id;
        if (packet_id == 0) {
            *why == Unsendable::Expired ? outbound.count_expired() : outbound.count_too_large();
            continue;
        }
        recorder_.unsent_dropped(*session, packet);
        for (session::OutboundPacket& next : outbound.drop_unsent(packet_id, *why)) {
            packets.push_back(std::move(next));
        }
    }
    packets.resize(kept);
}

void Worker::dispatch_outbound(const SessionHandlePtr& session,
                               std::vector<session::OutboundPacket> packets, bool after_commit) {
    drop_unsendable(session, packets);
    const bool wait = recorder_.flights_started(*session, packets) || after_commit;
    SessionConnection* connection = session->connection;
    if (connection == nullptr || packets.empty()) {
        return;
    }
    if (wait) {
        recorder_.hold(connection->send_after_commit(std::move(packets)));
    } else {
        connection->send_outbound(std::move(packets));
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
