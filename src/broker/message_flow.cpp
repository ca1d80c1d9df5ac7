// PUBLISH and its acknowledgements in both directions, SUBSCRIBE, UNSUBSCRIBE and
// DISCONNECT from a connected client.
#include <algorithm>

#include "client_connection.hpp"
#include "petrel/connection/subscribe_rules.hpp"
#include "petrel/protocol/codec.hpp"
#include "petrel/topic/topic_name.hpp"
#include "server_capabilities.hpp"
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

bool ClientConnection::publish_allowed(protocol::Publish& publish) {
    const Config& config = worker_.context().config;
    if (auto error = core_.inbound_aliases().resolve(publish)) {
        fail(*error);
        return false;
    }
    if (publish.properties.contains(PropertyId::SubscriptionIdentifier)) {
        // [MQTT-3.3.4-6] only a server puts Subscription Identifiers in a PUBLISH.
        fail(protocol::protocol_error("subscription identifier in a client's PUBLISH"));
        return false;
    }
    if (const auto violation = check_message_form(facts_of(publish), config)) {
        fail(protocol::Error{violation->code, violation->what});
        return false;
    }
    if (inbound_window_.exceeded_by(publish.qos, publish.packet_id,
                                    session_->state.inbound_qos2())) {
        fail(protocol::Error{ReasonCode::ReceiveMaximumExceeded,
                             "more unacknowledged QoS 1/2 PUBLISHes than receive_maximum"});
        return false;
    }
    return true;
}

bool ClientConnection::within_publish_rate() {
    if (!publish_rate_ || publish_rate_->take(Clock::now())) {
        return true;
    }
    const unsigned rate = worker_.context().config.max_inbound_message_rate;
    worker_.log().warn(
        "{}: more than max_inbound_message_rate {} PUBLISH packets per second, "
        "disconnecting",
        describe(), rate);
    // A server-side disconnect: the will is published, as after any close that was not the
    // client's normal DISCONNECT [MQTT-3.1.2-8].
    disconnect(ReasonCode::MessageRateTooHigh, true,
               "more than " + std::to_string(rate) + " PUBLISH packets per second");
    return false;
}

void ClientConnection::log_refused_publish(const MessageRefusal& refusal,
                                           const protocol::Publish& publish) {
    const Config& config = worker_.context().config;
    switch (refusal.rule) {
        case MessageRefusal::Rule::TooManyLevels:
            worker_.log().info("{}: PUBLISH to a topic of {} levels dropped (max_topic_levels {})",
                               describe(), topic::level_count(publish.topic),
                               config.max_topic_levels);
            return;
        case MessageRefusal::Rule::BrokerTopic:
            worker_.log().info("{}: PUBLISH to '{}' dropped: {} ({} so far)", describe(),
                               publish.topic, refusal.what,
                               ++worker_.context().broker_topic_publishes);
            return;
        default:
            worker_.log().info("{}: QoS {} PUBLISH to '{}' dropped: {}", describe(), publish.qos,
                               publish.topic, refusal.what);
            return;
    }
}

void ClientConnection::handle_publish(protocol::Publish&& publish) {
    if (!within_publish_rate() || !publish_allowed(publish)) {
        return;
    }
    publish.topic = listener_.mount_topic(std::move(publish.topic));
    session::Session& state = session_->state;
    const protocol::Qos qos = publish.qos;
    const protocol::PacketId packet_id = publish.packet_id;
    if (qos == 1) {
        inbound_window_.qos1_taken();
    }
    if (const auto refusal =
            check_message_acceptance(facts_of(publish), worker_.context().config)) {
        log_refused_publish(*refusal, publish);
        drop_publish(qos, packet_id, protocol::puback_reason_for(refusal->code), refusal->what);
        return;
    }
    if (worker_.context().config.message_size_limit > 0 && drop_oversized_publish(publish)) {
        return;
    }
    if (!worker_.may_publish(*session_, publish.topic)) {
        refuse_unauthorized_publish(qos, packet_id, publish.topic);
        return;
    }
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
    if (core_.version() == ProtocolVersion::V5) {
        message->properties = forwarded_properties(publish.properties);
        if (const auto expiry = publish.properties.number(PropertyId::MessageExpiryInterval);
            expiry && *expiry > 0) {
            message->expires_at_ms = wall_clock_ms() + std::int64_t{*expiry} * 1000;
        }
    }
    message->publisher = state.client_id();
    if (publish.retain) {
        message->source = worker_.source_of(*session_);  // for check_retain_source
    }
    if (qos > 0 || publish.retain || worker_.context().config.upgrade_outgoing_qos) {
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
    if (qos == 2) {
        // In the same commit as the message (rule 1 in session_recorder.hpp).
        worker_.recorder().inbound_qos2_received(*session_, packet_id, token);
    }
    worker_.publish(message, token);
}

void ClientConnection::refuse_unauthorized_publish(protocol::Qos qos, protocol::PacketId packet_id,
                                                   const std::string& topic) {
    const std::uint64_t denied = ++worker_.context().denied_publishes;
    worker_.log().info("{}: PUBLISH to '{}' not authorized by the ACL, dropped ({} so far)",
                       describe(), topic, denied);
    drop_publish(qos, packet_id, ReasonCode::NotAuthorized, "not authorized");
}

void ClientConnection::drop_publish(protocol::Qos qos, protocol::PacketId packet_id,
                                    protocol::PubackReason reason, const std::string& why) {
    if (qos == 0) {
        return;
    }
    if (core_.version() == ProtocolVersion::V5) {
        gate_.run_in_order([this, qos, packet_id, reason, why](const store::CommitResult&) {
            refuse_publish(qos, packet_id, reason, why);
        });
        return;
    }
    // 3.1.1 cannot say no: acknowledge as usual and drop it [MQTT-3.3.5-2].
    if (qos == 2) {
        session_->state.inbound_qos2().on_publish(packet_id);  // so its PUBREL completes
    }
    gate_.run_in_order([this, qos, packet_id](const store::CommitResult&) {
        acknowledge_publish(qos, packet_id, store::CommitResult{true, false, {}});
    });
}

void ClientConnection::acknowledge_publish(protocol::Qos qos, protocol::PacketId packet_id,
                                           const store::CommitResult& result) {
    if (result.ok) {
        if (qos == 1) {
            inbound_window_.qos1_answered();
            send(protocol::Puback{packet_id, ReasonCode::Success, {}});
        } else {
            send(protocol::Pubrec{packet_id, ReasonCode::Success, {}});
        }
        return;
    }
    if (qos == 2 && session_) {
        // Not accepted: a resend of this id is a new message, not a duplicate (rule 2 in
        // session_recorder.hpp).
        session_->state.inbound_qos2().on_pubrel(packet_id);
        worker_.recorder().inbound_qos2_refused(*session_, packet_id);
    }
    worker_.log().warn("{}: QoS {} PUBLISH (packet id {}) not accepted: {}", describe(), qos,
                       packet_id, result.error);
    refuse_publish(qos, packet_id,
                   result.out_of_space
                       ? protocol::PubackReason(ReasonCode::QuotaExceeded)
                       : protocol::PubackReason(ReasonCode::ImplementationSpecificError),
                   result.error);
}

void ClientConnection::refuse_publish(protocol::Qos qos, protocol::PacketId packet_id,
                                      protocol::PubackReason reason, const std::string& why) {
    if (qos == 1) {
        inbound_window_.qos1_answered();
    }
    if (core_.version() != ProtocolVersion::V5) {
        // 3.1.1 has no way to say no: close without acknowledging, and the client resends.
        disconnect(protocol::disconnect_reason_for(reason));  // sends nothing to 3.1.1
        return;
    }
    protocol::Properties properties;
    properties.add_text(PropertyId::ReasonString, why);
    if (qos == 1) {
        send(protocol::Puback{packet_id, reason, std::move(properties)});
    } else {
        send(protocol::Pubrec{packet_id, reason, std::move(properties)});
    }
}

void ClientConnection::handle_pubrel(const protocol::Pubrel& release) {
    const protocol::PacketId packet_id = release.packet_id;
    const bool known = session_->state.inbound_qos2().on_pubrel(packet_id);
    // PUBCOMP only once the release is committed (rule 6 in session_recorder.hpp).
    if (known && worker_.recorder().inbound_qos2_released(*session_, packet_id)) {
        worker_.recorder().hold(reply_after_commit([this, packet_id](const store::CommitResult&) {
            send(protocol::Pubcomp{packet_id, ReasonCode::Success, {}});
        }));
        return;
    }
    gate_.run_in_order([this, packet_id, known](const store::CommitResult&) {
        send(protocol::Pubcomp{packet_id,
                               known
                                   ? protocol::PubcompReason(ReasonCode::Success)
                                   : protocol::PubcompReason(ReasonCode::PacketIdentifierNotFound),
                               {}});
    });
}

bool ClientConnection::wrong_acknowledgement(session::AckOutcome outcome, const char* what) {
    if (outcome != session::AckOutcome::WrongKind) {
        return false;
    }
    // A Protocol Error (v5 DISCONNECT 0x82, 3.x closed) [MQTT-4.13.1-1]; the delivery stays
    // in the session and is sent again, DUP set, on the next connection [MQTT-4.4.0-1].
    fail(protocol::protocol_error(what));
    return true;
}

void ClientConnection::handle_puback(const protocol::Puback& ack) {
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = session_->state.outbound().on_puback(ack.packet_id, &outcome);
    if (!next) {
        if (!wrong_acknowledgement(outcome, "PUBACK for a QoS 2 delivery")) {
            worker_.log().debug("{}: PUBACK for unknown packet id {}", describe(), ack.packet_id);
        }
        return;
    }
    worker_.recorder().delivery_completed(*session_, ack.packet_id);
    worker_.dispatch_outbound(session_, std::move(*next));
    worker_.refill(session_);
}

void ClientConnection::handle_pubrec(const protocol::Pubrec& ack) {
    session::OutboundFlow& outbound = session_->state.outbound();
    // A v5 PUBREC with a failure reason ends the exchange: no PUBREL follows (4.3.3).
    const bool failed = protocol::is_failure(ack.reason);
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = failed ? outbound.on_pubrec_failed(ack.packet_id, &outcome)
                       : outbound.on_pubrec(ack.packet_id, &outcome);
    if (!next) {
        if (wrong_acknowledgement(outcome, "PUBREC for a QoS 1 delivery")) {
            return;
        }
        worker_.log().debug("{}: PUBREC for unknown packet id {}", describe(), ack.packet_id);
        if (!failed) {
            send(protocol::Pubrel{ack.packet_id, ReasonCode::PacketIdentifierNotFound, {}});
        }
        return;
    }
    if (failed) {
        worker_.recorder().delivery_completed(*session_, ack.packet_id);
        worker_.dispatch_outbound(session_, std::move(*next));
        worker_.refill(session_);
        return;
    }
    // The PUBREL waits for the new state (rule 9 in session_recorder.hpp).
    const bool after_commit = worker_.recorder().pubrec_received(*session_, ack.packet_id);
    worker_.dispatch_outbound(session_, std::move(*next), after_commit);
}

void ClientConnection::handle_pubcomp(const protocol::Pubcomp& ack) {
    session::AckOutcome outcome = session::AckOutcome::Ignored;
    auto next = session_->state.outbound().on_pubcomp(ack.packet_id, &outcome);
    if (!next) {
        if (!wrong_acknowledgement(outcome, "PUBCOMP for a QoS 1 delivery or before PUBREC")) {
            worker_.log().debug("{}: PUBCOMP for unknown packet id {}", describe(), ack.packet_id);
        }
        return;
    }
    worker_.recorder().delivery_completed(*session_, ack.packet_id);
    worker_.dispatch_outbound(session_, std::move(*next));
    worker_.refill(session_);
}

std::optional<protocol::SubackReason> ClientConnection::subscription_refusal(
    const protocol::Subscription& subscription, bool has_subscription_id,
    const connection::ServerCapabilities& capabilities) const {
    const Config& config = worker_.context().config;
    if (const auto refusal = connection::filter_refusal(
            subscription, has_subscription_id,
            connection::SubscribeLimits{capabilities, config.max_topic_levels})) {
        return refusal;
    }
    const std::string& filter = subscription.filter;
    if (!worker_.may_subscribe(*session_, filter)) {
        return protocol::SubackReason(ReasonCode::NotAuthorized);
    }
    const auto& subscriptions = session_->state.subscriptions;
    if (config.max_subscriptions_per_client > 0 &&
        subscriptions.size() >= config.max_subscriptions_per_client &&
        !subscriptions.contains(filter)) {
        return protocol::SubackReason(ReasonCode::QuotaExceeded);
    }
    return std::nullopt;
}

void ClientConnection::handle_subscribe(protocol::Subscribe subscribe) {
    for (protocol::Subscription& subscription : subscribe.subscriptions) {
        subscription.filter = listener_.mount_filter(std::move(subscription.filter));
    }
    Router& router = worker_.context().router;
    const Config& config = worker_.context().config;
    session::Session& state = session_->state;
    const auto subscription_id = subscribe.properties.number(PropertyId::SubscriptionIdentifier);
    const connection::ServerCapabilities capabilities = server_capabilities(config);
    if (const auto violation = connection::subscribe_violation(subscribe)) {
        fail(*violation);
        return;
    }

    const bool persistent = worker_.recorder().persistent(*session_);
    protocol::Suback suback;
    suback.packet_id = subscribe.packet_id;
    std::vector<session::Delivery> retained;
    const std::int64_t now_ms = wall_clock_ms();
    for (const protocol::Subscription& subscription : subscribe.subscriptions) {
        if (const auto refusal =
                subscription_refusal(subscription, subscription_id.has_value(), capabilities)) {
            suback.reasons.push_back(*refusal);
            continue;
        }
        const bool shared = topic::parse_shared(subscription.filter).has_value();
        protocol::SubscribeOptions options = subscription.options;
        options.qos = connection::granted_qos(options.qos, capabilities);
        const bool is_new = router.subscribe(subscription.filter, session_,
                                             SubscriptionData{options, subscription_id});
        state.subscriptions[subscription.filter] =
            session::SubscriptionRecord{options, subscription_id};
        worker_.recorder().subscribed(*session_, subscription.filter,
                                      session::SubscriptionRecord{options, subscription_id});
        suback.reasons.push_back(protocol::granted_qos(options.qos));

        if (connection::sends_retained(options, shared, is_new)) {
            for (session::MessagePtr& message : router.retained_matching(subscription.filter)) {
                if (message->expired(now_ms) || !worker_.may_receive(*session_, message->topic)) {
                    continue;  // [MQTT-3.3.2-5]; the ACL may forbid some topics the filter matches
                }
                if (config.check_retain_source && worker_.context().any_acl &&
                    !worker_.source_may_publish(*message)) {
                    worker_.log().debug(
                        "{}: retained message on '{}' withheld: its publisher '{}' may no longer "
                        "publish there (check_retain_source)",
                        describe(), message->topic, message->publisher);
                    continue;
                }
                session::Delivery delivery;
                delivery.qos = router.delivery_qos(message->qos, options.qos);
                delivery.retain = true;  // [MQTT-3.3.1-8]
                delivery.message = std::move(message);
                if (subscription_id) {
                    delivery.subscription_ids.push_back(*subscription_id);
                }
                retained.push_back(std::move(delivery));
            }
        }
    }
    if (core_.version() == ProtocolVersion::V5 &&
        std::any_of(suback.reasons.begin(), suback.reasons.end(), protocol::is_failure)) {
        suback.properties.add_text(PropertyId::ReasonString,
                                   "some filters were refused; see the reason code of each");
    }
    if (worker_.log().should_log(spdlog::level::debug)) {
        // From here on the subscriptions match: what tests wait for before publishing.
        std::string filters;
        for (const protocol::Subscription& subscription : subscribe.subscriptions) {
            filters += (filters.empty() ? "'" : ", '") + subscription.filter + "'";
        }
        worker_.log().debug("{}: SUBSCRIBE {}", describe(), filters);
    }
    reply_when_stored(persistent, [this, suback = std::move(suback)] { send(suback); });
    for (session::Delivery& delivery : retained) {
        worker_.deliver(session_, std::move(delivery));
    }
}

void ClientConnection::handle_unsubscribe(protocol::Unsubscribe unsubscribe) {
    for (std::string& filter : unsubscribe.filters) {
        filter = listener_.mount_filter(std::move(filter));
    }
    Router& router = worker_.context().router;
    session::Session& state = session_->state;
    protocol::Unsuback unsuback;
    unsuback.packet_id = unsubscribe.packet_id;
    const bool persistent = worker_.recorder().persistent(*session_);
    for (const std::string& filter : unsubscribe.filters) {
        const bool existed = router.unsubscribe(filter, session_);
        state.subscriptions.erase(filter);
        if (existed) {
            worker_.recorder().unsubscribed(*session_, filter);
        }
        unsuback.reasons.push_back(
            existed ? protocol::UnsubackReason(ReasonCode::Success)
                    : protocol::UnsubackReason(ReasonCode::NoSubscriptionExisted));
    }
    reply_when_stored(persistent, [this, unsuback = std::move(unsuback)] { send(unsuback); });
}

void ClientConnection::reply_when_stored(bool wait_for_commit, std::function<void()> reply) {
    // Rule 5 in session_recorder.hpp.
    if (wait_for_commit) {
        worker_.recorder().hold(reply_after_commit(
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
