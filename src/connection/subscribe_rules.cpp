#include "petrel/connection/subscribe_rules.hpp"

#include <algorithm>

#include "petrel/topic/topic_name.hpp"

namespace petrel::connection {

using protocol::ReasonCode;

bool exceeds_topic_levels(std::string_view topic, std::size_t max_levels) {
    return max_levels > 0 && topic::level_count(topic) > max_levels;
}

std::optional<protocol::Error> subscribe_violation(const protocol::Subscribe& subscribe) {
    for (const protocol::Subscription& subscription : subscribe.subscriptions) {
        if (subscription.options.no_local && topic::parse_shared(subscription.filter)) {
            return protocol::protocol_error("No Local on a shared subscription");
        }
    }
    return std::nullopt;
}

std::optional<protocol::SubackReason> filter_refusal(const protocol::Subscription& subscription,
                                                     bool has_subscription_id,
                                                     const SubscribeLimits& limits) {
    const std::string& filter = subscription.filter;
    if (!topic::is_valid_topic_filter(filter)) {
        return protocol::SubackReason(ReasonCode::TopicFilterInvalid);
    }
    const auto shared = topic::parse_shared(filter);
    if (exceeds_topic_levels(shared ? shared->filter : std::string_view(filter),
                             limits.max_topic_levels)) {
        return protocol::SubackReason(ReasonCode::TopicFilterInvalid);  // 3.1.1: 0x80 Failure
    }
    const ServerCapabilities& capabilities = limits.capabilities;
    if (shared && !capabilities.shared_subscription_available) {
        return protocol::SubackReason(
            ReasonCode::SharedSubscriptionsNotSupported);  // CONNACK said so (3.2.2.3.17)
    }
    if (has_subscription_id && !capabilities.subscription_identifier_available) {
        return protocol::SubackReason(ReasonCode::SubscriptionIdentifiersNotSupported);
    }
    if (!capabilities.wildcard_subscription_available &&
        filter.find_first_of("+#") != std::string::npos) {
        return protocol::SubackReason(ReasonCode::WildcardSubscriptionsNotSupported);
    }
    return std::nullopt;
}

protocol::Qos granted_qos(protocol::Qos requested, const ServerCapabilities& capabilities) {
    return std::min<protocol::Qos>({requested, 2, capabilities.maximum_qos});
}

bool sends_retained(const protocol::SubscribeOptions& options, bool shared, bool is_new) {
    if (shared) {
        return false;
    }
    return options.retain_handling == protocol::RetainHandling::SendOnSubscribe ||
           (options.retain_handling == protocol::RetainHandling::SendIfNewSubscription && is_new);
}

}  // namespace petrel::connection
