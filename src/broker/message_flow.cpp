// PUBLISH and its acknowledgements in both directions, SUBSCRIBE, UNSUBSCRIBE and
// DISCONNECT from a connected client.
#include <algorithm>

#include "client_connection.hpp"
#include "petrel/topic/topic_name.hpp"
#include "worker.hpp"

namespace petrel::broker {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

namespace {

// The properties a subscriber receives: all the publisher's, except those that belong
// to one connection (Topic Alias, spec 3.3.2.3.4) or one subscription (Subscription
// Identifier, added per delivery [MQTT-3.3.4-3]).
protocol::Properties forwarded_properties(const protocol::Properties& received) {
    protocol::Properties forwarded;
    for (const protocol::Property& property : received) {
        if (property.id != PropertyId::TopicAlias &&
            property.id != PropertyId::SubscriptionIdentifier) {
            forwarded.add(property);
        }
    }
    return forwarded;
}

}  // namespace

void ClientConnection::handle_publish(protocol::Publish&& publish) {
    if (publish.properties.contains(PropertyId::TopicAlias)) {
        // We advertise no Topic Alias Maximum, so any alias is out of range [MQTT-3.3.2-9].
        fail(protocol::Error{ReasonCode::TopicAliasInvalid, "topic alias not allowed"});
        return;
    }
    if (publish.properties.contains(PropertyId::SubscriptionIdentifier)) {
        // [MQTT-3.3.4-6] only a server puts Subscription Identifiers in a PUBLISH.
        fail(protocol::protocol_error("subscription identifier in a client's PUBLISH"));
        return;
    }
    if (!topic::is_valid_topic_name(publish.topic)) {
        fail(protocol::Error{ReasonCode::TopicNameInvalid, "invalid topic name in PUBLISH"});
        return;
    }
    session::Session& state = session_->state;
    const protocol::Qos qos = publish.qos;
    const protocol::PacketId packet_id = publish.packet_id;
    using Admission = StoreHealth::Admission;
    const Admission admission =
        qos > 0 ? worker_.context().store_health.admit() : Admission::Accept;
    if (admission == Admission::Refuse) {
        // The store is full: refuse rather than acknowledge what could not be kept.
        gate_.run_in_order([this, qos, packet_id](const store::CommitResult&) {
            acknowledge_publish(qos, packet_id,
                                store::CommitResult{false, true, "the store is full"});
        });
        return;
    }
    if (qos == 2 && !state.inbound_qos2().on_publish(packet_id)) {
        // Already delivered; the PUBREC was lost. Acknowledge again, deliver nothing
        // [MQTT-4.3.3-10].
        gate_.run_in_order([this, packet_id](const store::CommitResult&) {
            send(protocol::Pubrec{packet_id, ReasonCode::Success, {}});
        });
        return;
    }
    auto message = std::make_shared<session::Message>();
    message->topic = std::move(publish.topic);
    message->payload = std::move(publish.payload);
    message->qos = qos;
    message->retain = publish.retain;
    if (version_ == ProtocolVersion::V5) {
        message->properties = forwarded_properties(publish.properties);
    }
    message->publisher = state.client_id();
    if (qos > 0 || publish.retain) {
        message->id = worker_.context().next_message_id();
    }

    CommitToken token;
    if (qos > 0) {
        const bool probe = admission == Admission::Probe;
        token =
            reply_after_commit([this, qos, packet_id, probe](const store::CommitResult& result) {
                if (probe) {
                    worker_.context().store_health.on_probe(result);
                }
                acknowledge_publish(qos, packet_id, result);
            });
    }
    if (qos == 2 && session_->persistent.load(std::memory_order_relaxed)) {
        // In the same commit as the message: after a crash, a resent PUBLISH with this id
        // is recognised and not delivered twice.
        worker_.staged().batch().add_inbound_qos2(state.client_id(), packet_id);
        worker_.staged().hold(token);
    }
    worker_.publish(message, token);
}

void ClientConnection::acknowledge_publish(protocol::Qos qos, protocol::PacketId packet_id,
                                           const store::CommitResult& result) {
    if (result.ok) {
        if (qos == 1) {
            send(protocol::Puback{packet_id, ReasonCode::Success, {}});
        } else {
            send(protocol::Pubrec{packet_id, ReasonCode::Success, {}});
        }
        return;
    }
    if (qos == 2 && session_) {
        // Not accepted: a resend of this id is a new message, not a duplicate.
        session_->state.inbound_qos2().on_pubrel(packet_id);
        if (session_->persistent.load(std::memory_order_relaxed)) {
            worker_.staged().batch().erase_inbound_qos2(session_->state.client_id(), packet_id);
        }
    }
    const ReasonCode reason =
        result.out_of_space ? ReasonCode::QuotaExceeded : ReasonCode::ImplementationSpecificError;
    worker_.log().warn("{}: QoS {} PUBLISH (packet id {}) not accepted: {}", describe(), qos,
                       packet_id, result.error);
    if (version_ != ProtocolVersion::V5) {
        // 3.1.1 has no way to say no: close without acknowledging, and the client resends.
        disconnect(reason);
        return;
    }
    if (qos == 1) {
        send(protocol::Puback{packet_id, reason, {}});
    } else {
        send(protocol::Pubrec{packet_id, reason, {}});
    }
}

void ClientConnection::handle_pubrel(const protocol::Pubrel& release) {
    const protocol::PacketId packet_id = release.packet_id;
    const bool known = session_->state.inbound_qos2().on_pubrel(packet_id);
    if (known && session_->persistent.load(std::memory_order_relaxed)) {
        // PUBCOMP only once the release is on disk: otherwise a crash would bring the id
        // back and the client's next message with it would be taken for a duplicate.
        worker_.staged().batch().erase_inbound_qos2(session_->state.client_id(), packet_id);
        worker_.staged().hold(reply_after_commit([this, packet_id](const store::CommitResult&) {
            send(protocol::Pubcomp{packet_id, ReasonCode::Success, {}});
        }));
        return;
    }
    gate_.run_in_order([this, packet_id, known](const store::CommitResult&) {
        send(protocol::Pubcomp{
            packet_id, known ? ReasonCode::Success : ReasonCode::PacketIdentifierNotFound, {}});
    });
}

void ClientConnection::handle_puback(const protocol::Puback& ack) {
    auto next = session_->state.outbound().on_puback(ack.packet_id);
    if (!next) {
        worker_.log().debug("{}: PUBACK for unknown packet id {}", describe(), ack.packet_id);
        return;
    }
    worker_.record_released(session_, ack.packet_id);
    worker_.dispatch_outbound(session_, std::move(*next));
    worker_.refill(session_);
}

void ClientConnection::handle_pubrec(const protocol::Pubrec& ack) {
    session::OutboundFlow& outbound = session_->state.outbound();
    // A v5 PUBREC with a failure reason ends the exchange: no PUBREL follows (4.3.3).
    const bool failed = protocol::is_failure(ack.reason);
    auto next =
        failed ? outbound.on_pubrec_failed(ack.packet_id) : outbound.on_pubrec(ack.packet_id);
    if (!next) {
        worker_.log().debug("{}: PUBREC for unknown packet id {}", describe(), ack.packet_id);
        if (!failed) {
            send(protocol::Pubrel{ack.packet_id, ReasonCode::PacketIdentifierNotFound, {}});
        }
        return;
    }
    if (failed) {
        worker_.record_released(session_, ack.packet_id);
        worker_.dispatch_outbound(session_, std::move(*next));
        worker_.refill(session_);
        return;
    }
    // The PUBREL waits for the new state: were it sent first and the broker crashed, the
    // PUBLISH would be resent after the client had already released its packet id.
    worker_.record_pubrec(session_, ack.packet_id);
    worker_.dispatch_outbound(session_, std::move(*next),
                              session_->persistent.load(std::memory_order_relaxed));
}

void ClientConnection::handle_pubcomp(const protocol::Pubcomp& ack) {
    auto next = session_->state.outbound().on_pubcomp(ack.packet_id);
    if (!next) {
        worker_.log().debug("{}: PUBCOMP for unknown packet id {}", describe(), ack.packet_id);
        return;
    }
    worker_.record_released(session_, ack.packet_id);
    worker_.dispatch_outbound(session_, std::move(*next));
    worker_.refill(session_);
}

void ClientConnection::handle_subscribe(const protocol::Subscribe& subscribe) {
    Router& router = worker_.context().router;
    session::Session& state = session_->state;
    const auto subscription_id = subscribe.properties.number(PropertyId::SubscriptionIdentifier);

    const bool persistent = session_->persistent.load(std::memory_order_relaxed);
    protocol::Suback suback;
    suback.packet_id = subscribe.packet_id;
    std::vector<session::Delivery> retained;
    for (const protocol::Subscription& subscription : subscribe.subscriptions) {
        if (!topic::is_valid_topic_filter(subscription.filter)) {
            suback.reasons.push_back(ReasonCode::TopicFilterInvalid);
            continue;
        }
        if (topic::parse_shared(subscription.filter)) {
            suback.reasons.push_back(ReasonCode::SharedSubscriptionsNotSupported);
            continue;
        }
        protocol::SubscribeOptions options = subscription.options;
        options.qos = std::min<protocol::Qos>(options.qos, 2);
        const bool is_new = router.subscribe(subscription.filter, session_,
                                             SubscriptionData{options, subscription_id});
        state.subscriptions[subscription.filter] =
            session::SubscriptionRecord{options, subscription_id};
        if (persistent) {
            worker_.staged().batch().put_subscription(
                store::StoredSubscription{state.client_id(), subscription.filter,
                                          session::SubscriptionRecord{options, subscription_id}});
        }
        suback.reasons.push_back(static_cast<ReasonCode>(options.qos));

        // [MQTT-3.3.1-9..11] retained messages on subscribe, as Retain Handling says.
        const bool send_retained =
            options.retain_handling == protocol::RetainHandling::SendOnSubscribe ||
            (options.retain_handling == protocol::RetainHandling::SendIfNewSubscription && is_new);
        if (send_retained) {
            for (session::MessagePtr& message : router.retained_matching(subscription.filter)) {
                session::Delivery delivery;
                delivery.qos = std::min(message->qos, options.qos);
                delivery.retain = true;  // [MQTT-3.3.1-8]
                delivery.message = std::move(message);
                if (subscription_id) {
                    delivery.subscription_ids.push_back(*subscription_id);
                }
                retained.push_back(std::move(delivery));
            }
        }
    }
    reply_when_stored(persistent, [this, suback = std::move(suback)] { send(suback); });
    for (session::Delivery& delivery : retained) {
        worker_.deliver(session_, std::move(delivery));
    }
}

void ClientConnection::handle_unsubscribe(const protocol::Unsubscribe& unsubscribe) {
    Router& router = worker_.context().router;
    session::Session& state = session_->state;
    protocol::Unsuback unsuback;
    unsuback.packet_id = unsubscribe.packet_id;
    const bool persistent = session_->persistent.load(std::memory_order_relaxed);
    for (const std::string& filter : unsubscribe.filters) {
        const bool existed = router.unsubscribe(filter, session_);
        state.subscriptions.erase(filter);
        if (persistent && existed) {
            worker_.staged().batch().erase_subscription(state.client_id(), filter);
        }
        unsuback.reasons.push_back(existed ? ReasonCode::Success
                                           : ReasonCode::NoSubscriptionExisted);
    }
    reply_when_stored(persistent, [this, unsuback = std::move(unsuback)] { send(unsuback); });
}

void ClientConnection::reply_when_stored(bool wait_for_commit, std::function<void()> reply) {
    // A SUBACK promises that messages published from now on reach the session: for a
    // persistent session that includes surviving a crash, so it waits for the commit.
    if (wait_for_commit) {
        worker_.staged().hold(reply_after_commit(
            [reply = std::move(reply)](const store::CommitResult&) { reply(); }));
    } else {
        gate_.run_in_order([reply = std::move(reply)](const store::CommitResult&) { reply(); });
    }
}

void ClientConnection::handle_disconnect(const protocol::Disconnect& disconnect) {
    session::Session& state = session_->state;
    if (const auto expiry = disconnect.properties.number(PropertyId::SessionExpiryInterval)) {
        // [MQTT-3.14.2-2] a session that ends at disconnect cannot be revived here.
        if (state.expiry_interval == 0 && *expiry != 0) {
            fail(protocol::protocol_error("session expiry set on DISCONNECT after 0 at CONNECT"));
            return;
        }
        state.expiry_interval = *expiry;
    }
    // [MQTT-3.14.4-3] a normal DISCONNECT discards the will; 0x04 asks for it.
    const bool publish_will = disconnect.reason == ReasonCode::DisconnectWithWillMessage;
    worker_.log().debug("{}: DISCONNECT ({})", describe(), protocol::to_string(disconnect.reason));
    finish(publish_will);
}

}  // namespace petrel::broker
