// PUBLISH from the client and its answers, and the client's acknowledgements of the
// session's deliveries, in the server role.
#include "petrel/connection/message_rules.hpp"
#include "petrel/connection/server_endpoint.hpp"

namespace petrel::connection {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

bool ServerEndpoint::publish_allowed(protocol::Publish& publish) {
    if (auto error = core_.inbound_aliases().resolve(publish)) {
        fail(*error);
        return false;
    }
    if (publish.properties.contains(PropertyId::SubscriptionIdentifier)) {
        // [MQTT-3.3.4-6] only a server puts Subscription Identifiers in a PUBLISH.
        fail(protocol::protocol_error("subscription identifier in a client's PUBLISH"));
        return false;
    }
    if (const auto violation = check_message_form(facts_of(publish), settings_.capabilities)) {
        fail(protocol::Error{violation->code, violation->what});
        return false;
    }
    if (inbound_window_.exceeded_by(publish.qos, publish.packet_id, session_->inbound_qos2())) {
        fail(protocol::Error{ReasonCode::ReceiveMaximumExceeded,
                             "more unacknowledged QoS 1/2 PUBLISHes than receive_maximum"});
        return false;
    }
    return true;
}

void ServerEndpoint::on_publish(protocol::Publish&& publish) {
    if (publish_rate_ && !publish_rate_->take(now_)) {
        const std::string why = "more than " + std::to_string(settings_.max_inbound_message_rate) +
                                " PUBLISH packets per second";
        if (core_.version() == ProtocolVersion::V5) {
            protocol::Disconnect disconnect{ReasonCode::MessageRateTooHigh, {}};
            disconnect.properties.add_text(PropertyId::ReasonString, why);
            send(disconnect);
        }
        // A server-side disconnect: the will is published, as after any close that was not
        // the client's normal DISCONNECT [MQTT-3.1.2-8].
        end(ConnectionEnded{ConnectionEnded::Cause::RateExceeded, true,
                            ReasonCode::MessageRateTooHigh, why});
        return;
    }
    if (!publish_allowed(publish)) {
        return;
    }
    if (publish.qos == 1) {
        inbound_window_.qos1_taken();
    }
    emit<PublishReceived>(std::move(publish));
}

void ServerEndpoint::acknowledge_publish(protocol::Qos qos, protocol::PacketId packet_id) {
    if (qos == 1) {
        inbound_window_.qos1_answered();
        send(protocol::Puback{packet_id, ReasonCode::Success, {}});
    } else {
        send(protocol::Pubrec{packet_id, ReasonCode::Success, {}});
    }
}

void ServerEndpoint::refuse_publish(protocol::Qos qos, protocol::PacketId packet_id,
                                    protocol::PubackReason reason, std::string_view why) {
    if (qos == 1) {
        inbound_window_.qos1_answered();
    }
    if (core_.version() != ProtocolVersion::V5) {
        // 3.1.1 has no way to say no: close without acknowledging, and the client resends.
        disconnect(protocol::disconnect_reason_for(reason));  // sends nothing to 3.1.1
        return;
    }
    protocol::Properties properties;
    if (!why.empty()) {
        properties.add_text(PropertyId::ReasonString, std::string(why));
    }
    if (qos == 1) {
        send(protocol::Puback{packet_id, reason, std::move(properties)});
    } else {
        send(protocol::Pubrec{packet_id, reason, std::move(properties)});
    }
}

void ServerEndpoint::on_pubrel(const protocol::Pubrel& release) {
    emit<ReleaseReceived>(release.packet_id, session_->inbound_qos2().on_pubrel(release.packet_id));
}

void ServerEndpoint::complete_release(protocol::PacketId packet_id, bool known) {
    send(protocol::Pubcomp{packet_id,
                           known ? protocol::PubcompReason(ReasonCode::Success)
                                 : protocol::PubcompReason(ReasonCode::PacketIdentifierNotFound),
                           {}});
}

bool ServerEndpoint::wrong_acknowledgement(session::AckOutcome outcome, const char* what) {
    if (outcome != session::AckOutcome::WrongKind) {
        return false;
    }
    // A Protocol Error (v5 DISCONNECT 0x82, 3.x closed) [MQTT-4.13.1-1]; the delivery stays
    // in the session and is sent again, DUP set, on the next connection [MQTT-4.4.0-1].
    fail(protocol::protocol_error(what));
    return true;
}

void ServerEndpoint::acknowledged(protocol::PacketId id, bool completed,
                                  std::optional<std::vector<session::OutboundPacket>>&& next,
                                  session::AckOutcome outcome, protocol::PacketType type,
                                  const char* wrong) {
    if (next) {
        emit<DeliveryAcknowledged>(id, completed, std::move(*next));
    } else if (!wrong_acknowledgement(outcome, wrong)) {
        emit<AcknowledgementIgnored>(type, id);
    }
}

void ServerEndpoint::on_puback(const protocol::Puback& ack) {
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = session_->outbound().on_puback(ack.packet_id, &outcome);
    acknowledged(ack.packet_id, true, std::move(next), outcome, protocol::PacketType::Puback,
                 "PUBACK for a QoS 2 delivery");
}

void ServerEndpoint::on_pubrec(const protocol::Pubrec& ack) {
    session::OutboundFlow& outbound = session_->outbound();
    // A v5 PUBREC with a failure reason ends the exchange: no PUBREL follows (4.3.3).
    const bool failed = protocol::is_failure(ack.reason);
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = failed ? outbound.on_pubrec_failed(ack.packet_id, &outcome)
                       : outbound.on_pubrec(ack.packet_id, &outcome);
    if (!next && !failed && outcome != session::AckOutcome::WrongKind) {
        send(protocol::Pubrel{ack.packet_id, ReasonCode::PacketIdentifierNotFound, {}});
    }
    acknowledged(ack.packet_id, failed, std::move(next), outcome, protocol::PacketType::Pubrec,
                 "PUBREC for a QoS 1 delivery");
}

void ServerEndpoint::on_pubcomp(const protocol::Pubcomp& ack) {
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = session_->outbound().on_pubcomp(ack.packet_id, &outcome);
    acknowledged(ack.packet_id, true, std::move(next), outcome, protocol::PacketType::Pubcomp,
                 "PUBCOMP for a QoS 1 delivery or before PUBREC");
}

}  // namespace petrel::connection
