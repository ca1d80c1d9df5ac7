// The client role's PUBLISH in both directions and the acknowledgements of each: out
// through session::OutboundFlow within the server's limits, in through
// session::InboundQos2, acknowledged once the embedder says the message is safe.
#include <algorithm>

#include "petrel/connection/client_endpoint.hpp"
#include "petrel/topic/topic_name.hpp"

namespace petrel::connection {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

void ClientEndpoint::publish(session::Delivery delivery, TimePoint now) {
    now_ = now;
    pending_.push_back(std::move(delivery));
    fill_window();
}

void ClientEndpoint::fill_window() {
    // Everything waits in pending_, in order, and enters the flow only when the window has
    // room: so each message meets the limits of the connection it is actually sent on.
    while (phase_ == Phase::Connected && !pending_.empty() &&
           flow_.inflight_count() < flow_.window() && !next_flight_collides()) {
        session::Delivery delivery = std::move(pending_.front());
        pending_.pop_front();
        const protocol::Qos requested = delivery.qos;
        // [MQTT-3.2.2-11] never above the server's Maximum QoS; [MQTT-3.2.2-14] no RETAIN
        // where it has no retained messages.
        delivery.qos = std::min(delivery.qos, server_.maximum_qos);
        delivery.retain = delivery.retain && server_.retain_available;
        const session::OutboundPacket probe{
            session::OutboundPacket::Kind::Publish,
            delivery.qos > 0 ? protocol::PacketId{1} : protocol::PacketId{0}, false, delivery};
        const protocol::Publish publish = make_publish(probe);
        if (!core_.fits(publish)) {
            // [MQTT-3.1.2-24] never sent; it takes no packet id.
            emit(PublishCompleted{0, delivery.seq, ReasonCode::PacketTooLarge});
            continue;
        }
        if (delivery.qos == 0) {
            std::string bytes;
            if (core_.write_publish(publish, bytes, now_).fits) {
                append_output(std::move(bytes));
            }
            if (requested > 0) {
                emit(PublishCompleted{0, delivery.seq, ReasonCode::Success});
            }
            continue;
        }
        write_flow(flow_.offer(std::move(delivery), true));
    }
}

protocol::Publish ClientEndpoint::make_publish(const session::OutboundPacket& packet) const {
    const session::Delivery& delivery = packet.delivery;
    const session::Message& message = *delivery.message;
    protocol::Publish publish;
    publish.dup = packet.dup;
    publish.qos = delivery.qos;
    publish.retain = delivery.retain;
    publish.topic = message.topic;
    publish.packet_id = packet.packet_id;
    publish.payload = message.payload;
    if (core_.version() == ProtocolVersion::V5) {
        for (const protocol::Property& property : message.properties) {
            // A topic alias belongs to one connection; only a server sends Subscription
            // Identifiers [MQTT-3.3.4-6].
            if (property.id != PropertyId::TopicAlias &&
                property.id != PropertyId::SubscriptionIdentifier) {
                publish.properties.add(property);
            }
        }
    }
    return publish;
}

void ClientEndpoint::write_flow(std::vector<session::OutboundPacket> packets) {
    for (const session::OutboundPacket& packet : packets) {
        if (packet.kind == session::OutboundPacket::Kind::Pubrel) {
            write(protocol::Pubrel{packet.packet_id, ReasonCode::Success, {}});
            continue;
        }
        if (!packet.dup) {
            last_flow_id_ = packet.packet_id;
        }
        std::string bytes;
        if (core_.write_publish(make_publish(packet), bytes, now_).fits) {
            append_output(std::move(bytes));
            continue;
        }
        // A resend over the Maximum Packet Size of the connection it is resent on.
        const std::uint64_t seq = packet.delivery.seq;
        std::vector<session::OutboundPacket> next =
            flow_.drop_unsent(packet.packet_id, session::OutboundFlow::Unsendable::TooLarge);
        emit(PublishCompleted{packet.packet_id, seq, ReasonCode::PacketTooLarge});
        write_flow(std::move(next));
    }
}

const session::InflightMessage* ClientEndpoint::find_inflight(protocol::PacketId id) const {
    // A walk of the window (the server's Receive Maximum at most), which OutboundFlow
    // indexes but does not expose; kept out of the session layer's header on purpose.
    for (const session::InflightMessage& flight : flow_.inflight()) {
        if (flight.packet_id == id) {
            return &flight;
        }
    }
    return nullptr;
}

std::uint64_t ClientEndpoint::seq_of(protocol::PacketId id) const {
    const session::InflightMessage* flight = find_inflight(id);
    return flight != nullptr ? flight->delivery.seq : 0;
}

bool ClientEndpoint::wrong_acknowledgement(session::AckOutcome outcome, const char* what) {
    if (outcome != session::AckOutcome::WrongKind) {
        return false;  // an unknown id: ignored, as the server side does
    }
    // A Protocol Error; the message stays in flight for the next connection.
    fail(protocol::protocol_error(what));
    return true;
}

void ClientEndpoint::complete(protocol::PacketId id, std::uint64_t seq, ReasonCode reason,
                              std::vector<session::OutboundPacket> next) {
    emit(PublishCompleted{id, seq, reason});
    write_flow(std::move(next));
    fill_window();
}

void ClientEndpoint::on_puback(const protocol::Puback& ack) {
    const std::uint64_t seq = seq_of(ack.packet_id);
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = flow_.on_puback(ack.packet_id, &outcome);
    if (!next) {
        wrong_acknowledgement(outcome, "PUBACK for a QoS 2 message");
        return;
    }
    complete(ack.packet_id, seq, ack.reason, std::move(*next));
}

void ClientEndpoint::on_pubrec(const protocol::Pubrec& ack) {
    const std::uint64_t seq = seq_of(ack.packet_id);
    // A v5 PUBREC with a failure ends the exchange: no PUBREL follows (4.3.3).
    const bool failed = protocol::is_failure(ack.reason);
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = failed ? flow_.on_pubrec_failed(ack.packet_id, &outcome)
                       : flow_.on_pubrec(ack.packet_id, &outcome);
    if (!next) {
        if (!wrong_acknowledgement(outcome, "PUBREC for a QoS 1 message") && !failed) {
            write(protocol::Pubrel{ack.packet_id, ReasonCode::PacketIdentifierNotFound, {}});
        }
        return;
    }
    if (failed) {
        complete(ack.packet_id, seq, ack.reason, std::move(*next));
        return;
    }
    write_flow(std::move(*next));  // the PUBREL
}

void ClientEndpoint::on_pubcomp(const protocol::Pubcomp& ack) {
    const std::uint64_t seq = seq_of(ack.packet_id);
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = flow_.on_pubcomp(ack.packet_id, &outcome);
    if (!next) {
        wrong_acknowledgement(outcome, "PUBCOMP for a QoS 1 message or before PUBREC");
        return;
    }
    complete(ack.packet_id, seq, ack.reason, std::move(*next));
}

void ClientEndpoint::on_publish(protocol::Publish&& publish) {
    if (auto error = core_.inbound_aliases().resolve(publish)) {
        fail(*error);
        return;
    }
    if (!topic::is_valid_topic_name(publish.topic)) {
        fail(protocol::Error{ReasonCode::TopicNameInvalid, "invalid topic name in a PUBLISH"});
        return;
    }
    if (publish.qos == 0) {
        emit(MessageReceived{std::move(publish), 0});
        return;
    }
    const protocol::PacketId id = publish.packet_id;
    if (const auto waiting = unacknowledged_.find(id); waiting != unacknowledged_.end()) {
        if (waiting->second.qos != publish.qos) {
            fail(protocol::Error{ReasonCode::PacketIdentifierInUse,
                                 "PUBLISH reusing the packet id of one not acknowledged"});
        }
        // Sent again before we acknowledged it: the acknowledgement answers both.
        return;
    }
    if (publish.qos == 2 && inbound_qos2_.awaiting_release().contains(id)) {
        // Delivered and acknowledged before; our PUBREC was lost. Again, but not delivered
        // twice [MQTT-4.3.3-10].
        write(protocol::Pubrec{id, ReasonCode::Success, {}});
        return;
    }
    if (inbound_window_.exceeded_by(publish.qos, id, inbound_qos2_)) {
        fail(protocol::Error{ReasonCode::ReceiveMaximumExceeded,
                             "more unacknowledged QoS 1/2 PUBLISHes than our Receive Maximum"});
        return;
    }
    if (publish.qos == 2) {
        inbound_qos2_.on_publish(id);
    } else {
        inbound_window_.qos1_taken();
    }
    // The packet id in the low 16 bits finds the message at once; the count above them tells
    // a receipt from an earlier use of the same id.
    const std::uint64_t receipt = (next_receipt_++ << 16) | id;
    unacknowledged_.emplace(id, Unacknowledged{publish.qos, receipt});
    emit(MessageReceived{std::move(publish), receipt});
}

void ClientEndpoint::acknowledge(std::uint64_t receipt, TimePoint now,
                                 protocol::PubackReason reason) {
    now_ = now;
    const auto found = unacknowledged_.find(static_cast<protocol::PacketId>(receipt & 0xFFFF));
    if (found == unacknowledged_.end() || found->second.receipt != receipt) {
        return;  // its connection is gone and nobody waits for it (QoS 1), or unknown
    }
    const protocol::PacketId id = found->first;
    const protocol::Qos qos = found->second.qos;
    unacknowledged_.erase(found);
    const bool accepted = !protocol::is_failure(reason);
    if (qos == 1) {
        inbound_window_.qos1_answered();
    } else if (!accepted) {
        inbound_qos2_.on_pubrel(id);  // not taken: a resend is a new message
    }
    if (phase_ != Phase::Connected) {
        // A QoS 2 message comes again on the next connection and gets its PUBREC then.
        return;
    }
    if (!accepted && core_.version() != ProtocolVersion::V5) {
        // 3.1.1 cannot refuse a PUBLISH [MQTT-3.3.5-2]: close, and the server sends it again.
        close(Closed{Closed::Cause::Refused, reason, "the message could not be accepted"});
        return;
    }
    if (qos == 1) {
        write(protocol::Puback{id, reason, {}});
    } else {
        write(protocol::Pubrec{id, reason, {}});
    }
}

void ClientEndpoint::on_pubrel(const protocol::Pubrel& release) {
    const protocol::PacketId id = release.packet_id;
    if (unacknowledged_.contains(id)) {
        fail(protocol::protocol_error("PUBREL before PUBREC"));
        return;
    }
    const bool known = inbound_qos2_.on_pubrel(id);
    write(protocol::Pubcomp{id,
                            known ? protocol::PubcompReason(ReasonCode::Success)
                                  : protocol::PubcompReason(ReasonCode::PacketIdentifierNotFound),
                            {}});
}

}  // namespace petrel::connection
