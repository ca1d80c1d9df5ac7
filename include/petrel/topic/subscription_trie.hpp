// The subscription trie: which subscriptions match a published topic (spec 4.7, 4.8.2).
//
// The router asks it once per PUBLISH, so a match costs in proportion to the topic's depth
// times the number of trie branches that match, never to the number of subscriptions held.
// Each node is one topic level: a hash map of literal children, a dedicated '+' child and a
// '#' slot (the layout of FlashMQ's SubscriptionNode), so a wildcard branch is a pointer test
// rather than a lookup. Filters whose first level starts with '$' live under a root of their
// own, so a leading wildcard never sees a '$' topic [MQTT-4.7.2-1]. A node keeps its plain
// subscriptions in a SubscriberSet (a dense array for fast matching, hash-indexed once it
// grows, so subscribe and unsubscribe stay O(depth)), and its shared subscriptions
// ($share/{group}/{filter}, 4.8.2) as group -> members in subscription order, for the broker
// to pick one member per message. Child maps, subscriber sets and shared-group maps are
// allocated only when used, and nodes left empty by unsubscribe are freed, so memory
// follows the live subscriptions.
//
// Not thread-safe: the broker serializes writers against readers (a shared_mutex today).
// match() is const and allocation-free for topics up to ~32 levels deep, so many readers
// may run it concurrently under a shared lock.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "petrel/topic/subscriber_set.hpp"
#include "petrel/topic/topic_levels.hpp"
#include "petrel/topic/topic_name.hpp"
#include "petrel/topic/tree_support.hpp"

namespace petrel::topic {

// Subscriber: a cheap-to-copy handle with ==, hashable by Hash (e.g. shared_ptr<Session>).
// Data: what the subscription carries (QoS, options, identifier).
template <class Subscriber, class Data, class Hash = std::hash<Subscriber>>
class SubscriptionTrie {
  public:
    using Member = std::pair<Subscriber, Data>;

    SubscriptionTrie() = default;
    SubscriptionTrie(const SubscriptionTrie&) = delete;
    SubscriptionTrie& operator=(const SubscriptionTrie&) = delete;
    SubscriptionTrie(SubscriptionTrie&& other) noexcept
        : root_(std::move(other.root_)),
          dollar_root_(std::move(other.dollar_root_)),
          size_(std::exchange(other.size_, 0)) {
        other.root_ = Node{};  // leave the source a valid, empty trie
        other.dollar_root_ = Node{};
    }
    SubscriptionTrie& operator=(SubscriptionTrie&& other) noexcept {
        if (this == &other) {
            return *this;
        }
        root_ = std::move(other.root_);
        dollar_root_ = std::move(other.dollar_root_);
        size_ = std::exchange(other.size_, 0);
        other.root_ = Node{};
        other.dollar_root_ = Node{};
        return *this;
    }
    ~SubscriptionTrie() = default;

    // Adds or replaces (same filter, same subscriber -> replace Data) a subscription.
    // `filter` is already validated and may be "$share/group/f". Returns true if new.
    // [MQTT-3.8.4-3] a repeated SUBSCRIBE replaces the existing subscription.
    bool subscribe(std::string_view filter, const Subscriber& subscriber, Data data) {
        const auto shared = parse_shared(filter);
        const std::string_view plain = shared ? shared->filter : filter;
        Subscriptions& slot = slot_for(plain);
        const bool added = shared
                               ? add_shared(slot, shared->group, plain, subscriber, std::move(data))
                               : slot.direct.insert_or_assign(subscriber, std::move(data));
        size_ += added ? 1 : 0;
        return added;
    }

    // Returns true if the subscription existed.
    bool unsubscribe(std::string_view filter, const Subscriber& subscriber) {
        const auto shared = parse_shared(filter);
        const std::string_view plain = shared ? shared->filter : filter;

        // Remember the way down so that emptied nodes can be pruned bottom-up without
        // recursion or parent pointers.
        struct Step {
            Node* node;
            std::string_view level;  // the level that led to `node` from its parent
        };
        std::vector<Step> path;
        path.reserve(level_count(plain) + 1);
        Node* root = &root_for(plain);
        path.push_back({root, {}});
        std::unique_ptr<Subscriptions>* slot =
            find_slot(root, plain, [&](Node* node, std::string_view level) {
                path.push_back({node, level});
            });
        if (slot == nullptr || !*slot) {
            return false;
        }
        const bool removed = shared ? remove_shared(**slot, shared->group, subscriber)
                                    : (*slot)->direct.erase(subscriber);
        if (!removed) {
            return false;
        }
        --size_;
        if ((*slot)->empty()) {
            slot->reset();
        }
        prune(path);
        return true;
    }

    // The members of the shared subscription `shared_filter` ("$share/group/filter"), in
    // subscription order; null when it has none.
    const std::vector<Member>* shared_members(std::string_view shared_filter) const {
        const auto shared = parse_shared(shared_filter);
        if (!shared) {
            return nullptr;
        }
        const Node* root = starts_with_dollar(shared->filter) ? &dollar_root_ : &root_;
        const auto* slot = find_slot(root, shared->filter, [](const Node*, std::string_view) {});
        if (slot == nullptr || !*slot || !(*slot)->shared) {
            return nullptr;
        }
        const auto group = (*slot)->shared->find(shared->group);
        return group == (*slot)->shared->end() ? nullptr : &group->second.members;
    }

    // Calls on_subscriber(const Subscriber&, const Data&) for every non-shared subscription
    // whose filter matches `topic`, and on_shared(std::string_view group, std::string_view
    // filter, const std::vector<std::pair<Subscriber, Data>>& members) once per shared group
    // (per group+filter) that matches. Order unspecified. A subscriber with several
    // overlapping filters is reported once per filter (the broker merges). The callbacks must
    // not modify the trie.
    template <class OnSubscriber, class OnShared>
    void match(std::string_view topic, OnSubscriber&& on_subscriber, OnShared&& on_shared) const {
        struct Frame {
            const Node* node = nullptr;
            LevelCursor levels;  // the topic levels still to consume below `node`
        };
        // Depth-first: each frame pushes at most two, so the stack never holds more than
        // depth + 1 frames; 32 covers realistic topics without touching the heap.
        detail::SmallStack<Frame, 32> pending;
        // [MQTT-4.7.2-1] '$' topics are only reachable from the '$' root, which has no
        // wildcard children because no filter starting with a wildcard is stored there.
        pending.push({starts_with_dollar(topic) ? &dollar_root_ : &root_, LevelCursor(topic)});
        while (!pending.empty()) {
            auto [node, levels] = pending.pop();
            // [MQTT-4.7.1-2] '#' matches this level's parent and every level below, so a
            // "sport/#" subscription matches "sport" as well as "sport/tennis".
            if (node->multi_level) {
                report(*node->multi_level, on_subscriber, on_shared);
            }
            if (levels.done()) {
                if (node->exact) {
                    report(*node->exact, on_subscriber, on_shared);
                }
                continue;
            }
            const auto level = levels.next();
            // '+' matches exactly one level, including an empty one (4.7.1.3).
            if (node->single_level) {
                pending.push({node->single_level.get(), levels});
            }
            if (const Node* child = node->children.find(level)) {
                pending.push({child, levels});
            }
        }
    }

    // Number of subscriptions (shared ones included, one per member).
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    // Number of trie nodes below the two roots, by a full walk: for tests that check pruning
    // and for memory metrics, not for the hot path.
    std::size_t node_count() const {
        std::size_t count = 0;
        detail::SmallStack<const Node*, 32> pending;
        pending.push(&root_);
        pending.push(&dollar_root_);
        while (!pending.empty()) {
            const Node* node = pending.pop();
            node->children.for_each([&](const Node& child) { pending.push(&child); });
            if (node->single_level) {
                pending.push(node->single_level.get());
            }
            count += node->children.size() + (node->single_level ? 1 : 0);
        }
        return count;
    }

  private:
    struct SharedGroup {
        std::string filter;  // without "$share/{group}/", reported to on_shared
        // In subscription order, stable for round-robin. Found by linear search: groups are
        // a handful of workers, and order matters more than O(1) here.
        std::vector<Member> members;
    };

    // The subscriptions whose filter ends at one place in the trie. Shared groups are rare,
    // so their map is allocated on first use.
    struct Subscriptions {
        SubscriberSet<Subscriber, Data, Hash> direct;
        std::unique_ptr<detail::StringMap<SharedGroup>> shared;  // by group name
        bool empty() const noexcept { return direct.empty() && !shared; }
    };

    struct Node {
        detail::Children<Node> children;             // literal next levels
        std::unique_ptr<Node> single_level;          // the '+' child
        std::unique_ptr<Subscriptions> exact;        // filters ending at this level
        std::unique_ptr<Subscriptions> multi_level;  // filters ending in "/#" here

        Node() = default;
        Node(const Node&) = delete;
        Node& operator=(const Node&) = delete;
        Node(Node&&) noexcept = default;
        Node& operator=(Node&&) noexcept = default;
        ~Node() {
            std::vector<std::unique_ptr<Node>> pending;
            release_children(pending);
            detail::destroy_iteratively(pending);
        }

        void release_children(std::vector<std::unique_ptr<Node>>& out) {
            children.release_into(out);
            if (single_level) {
                out.push_back(std::move(single_level));
            }
        }

        bool empty() const noexcept {
            return children.empty() && !single_level && !exact && !multi_level;
        }
    };

    Node& root_for(std::string_view plain_filter) {
        return starts_with_dollar(plain_filter) ? dollar_root_ : root_;
    }

    // Walks `plain_filter` down from its root, creating nodes, and returns the
    // subscriptions at its end.
    Subscriptions& slot_for(std::string_view plain_filter) {
        Node* node = &root_for(plain_filter);
        LevelCursor levels(plain_filter);
        while (!levels.done()) {
            const auto level = levels.next();
            if (level == "#") {
                return ensure(node->multi_level);  // validated: '#' is the last level
            }
            if (level == "+") {
                node = &ensure(node->single_level);
                continue;
            }
            node = &node->children.find_or_create(level);
        }
        return ensure(node->exact);
    }

    // Walks `plain_filter` down from `node` without creating anything: the slot of
    // subscriptions where it ends (possibly empty), or null when its path does not exist.
    // `on_node(node, level)` sees every node passed on the way (not the root).
    template <class NodeT, class OnNode>
    static auto find_slot(NodeT* node, std::string_view plain_filter, OnNode&& on_node)
        -> decltype(&node->exact) {
        LevelCursor levels(plain_filter);
        while (!levels.done()) {
            const auto level = levels.next();
            if (level == "#") {
                return &node->multi_level;  // validated: '#' is the last level
            }
            node = level == "+" ? node->single_level.get() : node->children.find(level);
            if (node == nullptr) {
                return nullptr;
            }
            on_node(node, level);
        }
        return &node->exact;
    }

    template <class T>
    static T& ensure(std::unique_ptr<T>& slot) {
        if (!slot) {
            slot = std::make_unique<T>();
        }
        return *slot;
    }

    static bool add_shared(Subscriptions& slot, std::string_view group, std::string_view filter,
                           const Subscriber& subscriber, Data data) {
        auto& groups = ensure(slot.shared);
        auto it = groups.find(group);
        if (it == groups.end()) {
            it = groups.emplace(std::string(group), SharedGroup{std::string(filter), {}}).first;
        }
        auto& members = it->second.members;
        const auto member = std::find_if(members.begin(), members.end(),
                                         [&](const Member& m) { return m.first == subscriber; });
        if (member != members.end()) {
            member->second = std::move(data);
            return false;
        }
        members.emplace_back(subscriber, std::move(data));
        return true;
    }

    static bool remove_shared(Subscriptions& slot, std::string_view group,
                              const Subscriber& subscriber) {
        if (!slot.shared) {
            return false;
        }
        const auto it = slot.shared->find(group);
        if (it == slot.shared->end()) {
            return false;
        }
        auto& members = it->second.members;
        const auto member = std::find_if(members.begin(), members.end(),
                                         [&](const Member& m) { return m.first == subscriber; });
        if (member == members.end()) {
            return false;
        }
        members.erase(member);  // keeps the others' order
        if (members.empty()) {
            slot.shared->erase(it);
            if (slot.shared->empty()) {
                slot.shared.reset();
            }
        }
        return true;
    }

    // Frees the nodes at the bottom of `path` that hold nothing any more. path[0] is a root.
    template <class Path>
    static void prune(const Path& path) {
        for (std::size_t i = path.size() - 1; i > 0; --i) {
            const Node* node = path[i].node;
            if (!node->empty()) {
                return;
            }
            Node* parent = path[i - 1].node;
            if (node == parent->single_level.get()) {
                parent->single_level.reset();
            } else {
                parent->children.erase(path[i].level);
            }
        }
    }

    template <class OnSubscriber, class OnShared>
    static void report(const Subscriptions& subscriptions, OnSubscriber& on_subscriber,
                       OnShared& on_shared) {
        for (const auto& [subscriber, data] : subscriptions.direct) {
            on_subscriber(subscriber, data);
        }
        if (subscriptions.shared) {
            for (const auto& [group, shared] : *subscriptions.shared) {
                on_shared(std::string_view(group), std::string_view(shared.filter), shared.members);
            }
        }
    }

    Node root_;         // filters whose first level does not start with '$'
    Node dollar_root_;  // filters whose first level starts with '$' [MQTT-4.7.2-1]
    std::size_t size_ = 0;
};

}  // namespace petrel::topic
