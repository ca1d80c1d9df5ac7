#include "router.hpp"

#include <algorithm>

namespace petrel::broker {

namespace {

// "group/filter" of "$share/group/filter".
std::string_view share_key(std::string_view shared_filter) {
    return shared_filter.substr(std::string_view("$share/").size());
}

// A fixed permutation of a counter (splitmix64's finaliser): the `random` strategy's
// choices, without a random generator shared between threads.
std::uint64_t scramble(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

}  // namespace

bool Router::subscribe(std::string_view filter, const SubscriberPtr& subscriber,
                       SubscriptionData data) {
    std::unique_lock lock(trie_mutex_);
    if (topic::parse_shared(filter)) {
        auto& position = cursors_[std::string(share_key(filter))];
        if (!position) {
            position = std::make_unique<std::atomic<std::uint64_t>>(0);
        }
    }
    return trie_.subscribe(filter, subscriber, data);
}

bool Router::unsubscribe(std::string_view filter, const SubscriberPtr& subscriber) {
    std::unique_lock lock(trie_mutex_);
    const bool existed = trie_.unsubscribe(filter, subscriber);
    if (existed && topic::parse_shared(filter) && trie_.shared_members(filter) == nullptr) {
        cursors_.erase(std::string(share_key(filter)));
    }
    return existed;
}

std::atomic<std::uint64_t>& Router::cursor(std::string_view key) const {
    // Every group with members has one (made at subscribe, under the unique lock).
    return *cursors_.find(std::string(key))->second;
}

const Router::Members::value_type* Router::pick_member(const Members& members, std::string_view key,
                                                       const std::string& publisher,
                                                       const Subscriber* excluded) const {
    // Online members only, unless none is: then an offline persistent member queues it.
    std::size_t online = 0;
    for (const auto& member : members) {
        online +=
            member.first.get() != excluded && member.first->online.load(std::memory_order_relaxed)
                ? 1
                : 0;
    }
    const bool any = online == 0;
    const std::size_t candidates = any ? members.size() - (excluded != nullptr ? 1 : 0) : online;
    if (candidates == 0) {
        return nullptr;
    }
    std::uint64_t choice = 0;
    switch (strategy_) {
        case SharedStrategy::RoundRobin:
            choice = cursor(key).fetch_add(1, std::memory_order_relaxed);
            break;
        case SharedStrategy::Random:
            choice = scramble(cursor(key).fetch_add(1, std::memory_order_relaxed));
            break;
        case SharedStrategy::HashClient:
            choice = std::hash<std::string>{}(publisher);
            break;
    }
    std::size_t index = choice % candidates;
    for (const auto& member : members) {
        if (member.first.get() == excluded ||
            (!any && !member.first->online.load(std::memory_order_relaxed))) {
            continue;
        }
        if (index-- == 0) {
            return &member;
        }
    }
    return nullptr;
}

bool Router::has_other_online_member(const std::string& shared_filter,
                                     const SubscriberPtr& leaving) const {
    std::shared_lock lock(trie_mutex_);
    const Members* members = trie_.shared_members(shared_filter);
    if (members == nullptr) {
        return false;
    }
    return std::any_of(members->begin(), members->end(), [&](const auto& member) {
        return member.first != leaving && member.first->online.load(std::memory_order_relaxed);
    });
}

std::optional<RoutedDelivery> Router::reroute_shared(const session::Delivery& delivery,
                                                     const SubscriberPtr& leaving) {
    std::shared_lock lock(trie_mutex_);
    const Members* members = trie_.shared_members(*delivery.shared);
    if (members == nullptr) {
        return std::nullopt;
    }
    const auto* member = pick_member(*members, share_key(*delivery.shared),
                                     delivery.message->publisher, leaving.get());
    if (member == nullptr || !member->first->online.load(std::memory_order_relaxed)) {
        return std::nullopt;
    }
    const SubscriptionData& data = member->second;
    session::Delivery moved;
    moved.message = delivery.message;
    moved.qos = delivery_qos(delivery.message->qos, data.options.qos);
    moved.retain = data.options.retain_as_published && delivery.message->retain;
    if (data.subscription_id) {
        moved.subscription_ids.push_back(*data.subscription_id);
    }
    moved.shared = delivery.shared;
    return RoutedDelivery{member->first, std::move(moved)};
}

void Router::match(const session::MessagePtr& message, std::vector<RoutedDelivery>& out) const {
    const std::size_t first = out.size();
    auto add = [&](const SubscriberPtr& target, const SubscriptionData& data,
                   const std::shared_ptr<const std::string>& shared = nullptr) {
        // [MQTT-3.8.3-3] No Local: not to the publisher's own session.
        if (data.options.no_local && target->client_id() == message->publisher) {
            return;
        }
        session::Delivery delivery;
        delivery.message = message;
        delivery.qos = delivery_qos(message->qos, data.options.qos);
        // [MQTT-3.3.1-9] live deliveries carry RETAIN 0 unless Retain As Published.
        delivery.retain = data.options.retain_as_published && message->retain;
        if (data.subscription_id) {
            delivery.subscription_ids.push_back(*data.subscription_id);
        }
        delivery.shared = shared;
        out.push_back(RoutedDelivery{target, std::move(delivery)});
    };
    {
        std::shared_lock lock(trie_mutex_);
        trie_.match(message->topic, add,
                    [&](std::string_view group, std::string_view filter, const auto& members) {
                        std::string name = "$share/";
                        name.append(group).append("/").append(filter);
                        const auto* member =
                            pick_member(members, share_key(name), message->publisher, nullptr);
                        if (member != nullptr) {
                            add(member->first, member->second,
                                std::make_shared<const std::string>(std::move(name)));
                        }
                    });
    }
    if (out.size() - first < 2) {
        return;
    }
    // Overlapping subscriptions: one delivery per subscriber, highest QoS, all ids.
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const RoutedDelivery& a, const RoutedDelivery& b) { return a.target < b.target; });
    auto keep = out.begin() + static_cast<std::ptrdiff_t>(first);
    for (auto it = keep + 1; it != out.end(); ++it) {
        // A shared subscription's copy stays separate (4.8.2): the subscriber may get both.
        if (it->target == keep->target && !it->delivery.shared && !keep->delivery.shared) {
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
