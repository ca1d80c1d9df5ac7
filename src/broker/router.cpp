#include "router.hpp"

#include <algorithm>

namespace petrel::broker {

bool Router::subscribe(std::string_view filter, const SessionHandlePtr& session,
                       SubscriptionData data) {
    std::unique_lock lock(trie_mutex_);
    return trie_.subscribe(filter, session, data);
}

bool Router::unsubscribe(std::string_view filter, const SessionHandlePtr& session) {
    std::unique_lock lock(trie_mutex_);
    return trie_.unsubscribe(filter, session);
}

void Router::match(const session::MessagePtr& message, std::vector<RoutedDelivery>& out) const {
    const std::size_t first = out.size();
    auto add = [&](const SessionHandlePtr& target, const SubscriptionData& data) {
        // [MQTT-3.8.3-3] No Local: not to the publisher's own session.
        if (data.options.no_local && target->state.client_id() == message->publisher) {
            return;
        }
        session::Delivery delivery;
        delivery.message = message;
        delivery.qos = std::min(message->qos, data.options.qos);
        // [MQTT-3.3.1-9] live deliveries carry RETAIN 0 unless Retain As Published.
        delivery.retain = data.options.retain_as_published && message->retain;
        if (data.subscription_id) {
            delivery.subscription_ids.push_back(*data.subscription_id);
        }
        out.push_back(RoutedDelivery{target, std::move(delivery)});
    };
    {
        std::shared_lock lock(trie_mutex_);
        trie_.match(message->topic, add,
                    [&](std::string_view, std::string_view, const auto& members) {
                        // Shared subscriptions are refused at SUBSCRIBE for now; should one be
                        // present, the first member stands for the group.
                        if (!members.empty()) {
                            add(members.front().first, members.front().second);
                        }
                    });
    }
    if (out.size() - first < 2) {
        return;
    }
    // Overlapping subscriptions: one delivery per session, highest QoS, all ids.
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const RoutedDelivery& a, const RoutedDelivery& b) { return a.target < b.target; });
    auto keep = out.begin() + static_cast<std::ptrdiff_t>(first);
    for (auto it = keep + 1; it != out.end(); ++it) {
        if (it->target == keep->target) {
            keep->delivery.qos = std::max(keep->delivery.qos, it->delivery.qos);
            keep->delivery.retain = keep->delivery.retain || it->delivery.retain;
            keep->delivery.subscription_ids.insert(keep->delivery.subscription_ids.end(),
                                                   it->delivery.subscription_ids.begin(),
                                                   it->delivery.subscription_ids.end());
        } else {
            ++keep;
            if (keep != it) {
                *keep = std::move(*it);
            }
        }
    }
    out.erase(keep + 1, out.end());
}

void Router::retain(const session::MessagePtr& message, const std::function<void()>& while_locked) {
    std::lock_guard lock(retained_mutex_);
    if (while_locked) {
        while_locked();
    }
    if (message->payload->empty()) {
        retained_.erase(message->topic);  // [MQTT-3.3.1-6] an empty payload deletes it
    } else {
        retained_.set(message->topic, message);
    }
}

std::vector<session::MessagePtr> Router::retained_matching(std::string_view filter) const {
    std::vector<session::MessagePtr> found;
    std::lock_guard lock(retained_mutex_);
    retained_.match(filter, [&](std::string_view, const session::MessagePtr& message) {
        found.push_back(message);
    });
    return found;
}

std::size_t Router::subscription_count() const {
    std::shared_lock lock(trie_mutex_);
    return trie_.size();
}

std::size_t Router::retained_count() const {
    std::lock_guard lock(retained_mutex_);
    return retained_.size();
}

}  // namespace petrel::broker
