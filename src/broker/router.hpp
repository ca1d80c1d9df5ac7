// The router: which subscribers a published message goes to, and the retained messages.
//
// Shared by all workers. The subscription trie is read on every publish and written only
// on (un)subscribe, so it sits behind a shared_mutex: publishers on different workers
// match concurrently. Retained messages have their own lock.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "petrel/broker/config.hpp"
#include "petrel/topic/retained_tree.hpp"
#include "petrel/topic/subscription_trie.hpp"
#include "subscriber.hpp"

namespace petrel::broker {

struct SubscriptionData {
    protocol::SubscribeOptions options;
    std::optional<std::uint32_t> subscription_id;
};

// Posted between workers: the shared pointer keeps the target alive until its home worker
// has taken the delivery.
struct RoutedDelivery {
    SubscriberPtr target;
    session::Delivery delivery;
};

class Router {
  public:
    // `upgrade_qos`: Mosquitto's upgrade_outgoing_qos (see delivery_qos).
    explicit Router(SharedStrategy strategy = SharedStrategy::RoundRobin, bool upgrade_qos = false)
        : strategy_(strategy), upgrade_qos_(upgrade_qos) {}

    // The QoS a subscriber granted `granted` receives a message published at `published`
    // with: the lower of the two [MQTT-3.8.4-8], or with upgrade_outgoing_qos (not
    // standard) the subscription's.
    protocol::Qos delivery_qos(protocol::Qos published, protocol::Qos granted) const {
        return upgrade_qos_ ? granted : std::min(published, granted);
    }

    // Adds or replaces a subscription; true when it is new.
    bool subscribe(std::string_view filter, const SubscriberPtr& subscriber, SubscriptionData data);
    // True when the subscription existed.
    bool unsubscribe(std::string_view filter, const SubscriberPtr& subscriber);

    // Appends one delivery per matching subscriber to `out`. A subscriber with several
    // matching subscriptions gets the message once, at the highest granted QoS, with
    // every matching subscription identifier. Each shared subscription that matches adds
    // one delivery, to one member picked by the strategy among those online (or, when
    // none is, among all: an offline persistent member queues it).
    void match(const session::MessagePtr& message, std::vector<RoutedDelivery>& out) const;

    // Whether the shared subscription `shared_filter` has a member other than `leaving`
    // that is online.
    bool has_other_online_member(const std::string& shared_filter,
                                 const SubscriberPtr& leaving) const;
    // `delivery` (of a shared subscription) for another online member than `leaving`, with
    // that member's granted QoS and subscription identifier; nullopt when there is none.
    std::optional<RoutedDelivery> reroute_shared(const session::Delivery& delivery,
                                                 const SubscriberPtr& leaving);

    // Stores a retained message, or deletes the topic's one when the payload is empty.
    // `while_locked` runs under the retained lock, so that the store sees updates of one
    // topic in the order the router applied them.
    void retain(const session::MessagePtr& message,
                const std::function<void()>& while_locked = nullptr);
    // Retained messages whose topics match `filter`.
    std::vector<session::MessagePtr> retained_matching(std::string_view filter) const;

    std::size_t subscription_count() const;
    std::size_t retained_count() const;

  private:
    using Members = std::vector<std::pair<SubscriberPtr, SubscriptionData>>;
    // The member of a shared group that gets the next message from `publisher`.
    const Members::value_type* pick_member(const Members& members, std::string_view key,
                                           const std::string& publisher,
                                           const Subscriber* excluded) const;
    std::atomic<std::uint64_t>& cursor(std::string_view key) const;

    const SharedStrategy strategy_;
    const bool upgrade_qos_;
    mutable std::shared_mutex trie_mutex_;
    topic::SubscriptionTrie<SubscriberPtr, SubscriptionData> trie_;  // guarded by trie_mutex_
    // Round-robin position per shared subscription ("group/filter"), created at subscribe:
    // the map is guarded by trie_mutex_, the counters are atomic because publishers on
    // several workers advance them under a shared lock.
    std::unordered_map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>>
        cursors_;  // guarded by trie_mutex_

    mutable std::mutex retained_mutex_;
    topic::RetainedTree<session::MessagePtr> retained_;  // guarded by retained_mutex_
};

}  // namespace petrel::broker
