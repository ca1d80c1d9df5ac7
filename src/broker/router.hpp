// The router: which sessions a published message goes to, and the retained messages.
//
// Shared by all workers. The subscription trie is read on every publish and written only
// on (un)subscribe, so it sits behind a shared_mutex: publishers on different workers
// match concurrently. Retained messages have their own lock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "petrel/topic/retained_tree.hpp"
#include "petrel/topic/subscription_trie.hpp"
#include "session_handle.hpp"

namespace petrel::broker {

struct SubscriptionData {
    protocol::SubscribeOptions options;
    std::optional<std::uint32_t> subscription_id;
};

struct RoutedDelivery {
    SessionHandlePtr target;
    session::Delivery delivery;
};

class Router {
  public:
    // Adds or replaces a subscription; true when it is new.
    bool subscribe(std::string_view filter, const SessionHandlePtr& session, SubscriptionData data);
    // True when the subscription existed.
    bool unsubscribe(std::string_view filter, const SessionHandlePtr& session);

    // Appends one delivery per matching session to `out`. A session with several
    // matching subscriptions gets the message once, at the highest granted QoS, with
    // every matching subscription identifier.
    void match(const session::MessagePtr& message, std::vector<RoutedDelivery>& out) const;

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
    mutable std::shared_mutex trie_mutex_;
    topic::SubscriptionTrie<SessionHandlePtr, SubscriptionData> trie_;  // guarded by trie_mutex_

    mutable std::mutex retained_mutex_;
    topic::RetainedTree<session::MessagePtr> retained_;  // guarded by retained_mutex_
};

}  // namespace petrel::broker
