// What the broker does with a connected client's PUBLISH, its acknowledgements of
// deliveries, PUBREL, SUBSCRIBE and UNSUBSCRIBE, once the endpoint has held them to the
// protocol's rules.
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
    publish.topic = listener_.mount_topic(std::move(publish.topic));
    session::Session& state = session_->state;
    const protocol::Qos qos = publish.qos;
    const protocol::PacketId packet_id = publish.packet_id;
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
    if (endpoint_.version() == ProtocolVersion::V5) {
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
    if (endpoint_.version() == ProtocolVersion::V5) {
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
        if (!closed_) {
            endpoint_.acknowledge_publish(qos, packet_id);
            handle_events();
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
    if (closed_) {
        return;
    }
    endpoint_.refuse_publish(qos, packet_id, reason, why);
    handle_events();
}

void ClientConnection::handle_release(const connection::ReleaseReceived& release) {
    const protocol::PacketId packet_id = release.packet_id;
    const bool known = release.known;
    const auto complete = [this, packet_id, known](const store::CommitResult&) {
        if (!closed_) {
            endpoint_.complete_release(packet_id, known);
            handle_events();
        }
    };
    // PUBCOMP only once the release is committed (rule 6 in session_recorder.hpp).
    if (known && worker_.recorder().inbound_qos2_released(*session_, packet_id)) {
        worker_.recorder().hold(reply_after_commit(complete));
        return;
    }
    gate_.run_in_order(complete);
}

void ClientConnection::handle_acknowledged(connection::DeliveryAcknowledged& acknowledged) {
    if (acknowledged.completed) {
        worker_.recorder().delivery_completed(*session_, acknowledged.packet_id);
        worker_.dispatch_outbound(session_, std::move(acknowledged.next));
        worker_.refill(session_);
        return;
    }
    // The PUBREL waits for the new state (rule 9 in session_recorder.hpp).
    const bool after_commit = worker_.recorder().pubrec_received(*session_, acknowledged.packet_id);
    worker_.dispatch_outbound(session_, std::move(acknowledged.next), after_commit);
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
    const connection::ServerCapabilities& capabilities = endpoint_.settings().capabilities;

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
    if (worker_.log().should_log(spdlog::level::debug)) {
        // From here on the subscriptions match: what tests wait for before publishing.
        std::string filters;
        for (const protocol::Subscription& subscription : subscribe.subscriptions) {
            filters += (filters.empty() ? "'" : ", '") + subscription.filter + "'";
        }
        worker_.log().debug("{}: SUBSCRIBE {}", describe(), filters);
    }
    reply_when_stored(persistent, [this, suback = std::move(suback)]() mutable {
        if (!closed_) {
            endpoint_.answer_subscribe(std::move(suback));
            handle_events();
        }
    });
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

}  // namespace petrel::broker
