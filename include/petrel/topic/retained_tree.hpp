// The retained-message tree: one Value per topic name, found by topic filter (spec 3.3.1.3).
//
// A SUBSCRIBE must be answered with every retained message whose topic its filter matches
// [MQTT-3.3.1-9], so this is the subscription trie turned around: topics are stored, a
// filter is the query, and wildcards walk the tree ('+' visits every child of a level, '#'
// a whole subtree). A lookup costs in proportion to the part of the tree the filter covers,
// not to the number of retained messages. Topics beginning with '$' sit under their own root
// so that a filter starting with a wildcard never reaches them [MQTT-4.7.2-1]. Nodes emptied
// by erase() are freed. Filters given to match() are plain: the caller strips "$share/g/".
//
// Not thread-safe: the broker serializes writers against readers. find() and match() are
// const and may run concurrently with each other.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "petrel/topic/topic_levels.hpp"
#include "petrel/topic/tree_support.hpp"

namespace petrel::topic {

template <class Value>
class RetainedTree {
  public:
    RetainedTree() = default;
    RetainedTree(const RetainedTree&) = delete;
    RetainedTree& operator=(const RetainedTree&) = delete;
    RetainedTree(RetainedTree&& other) noexcept
        : root_(std::move(other.root_)),
          dollar_root_(std::move(other.dollar_root_)),
          size_(std::exchange(other.size_, 0)) {
        other.root_ = Node{};  // leave the source a valid, empty tree
        other.dollar_root_ = Node{};
    }
    RetainedTree& operator=(RetainedTree&& other) noexcept {
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
    ~RetainedTree() = default;

    // Stores `value` as the retained message of `topic` (a valid topic name), replacing any
    // previous one [MQTT-3.3.1-5]. (Deleting on an empty payload [MQTT-3.3.1-6] is the
    // caller's decision: it calls erase().)
    void set(std::string_view topic, Value value) {
        Node* node = &root_for(topic);
        LevelCursor levels(topic);
        while (!levels.done()) {
            const auto level = levels.next();
            node = &node->children.find_or_create(level);
        }
        if (node->entry) {
            node->entry->value = std::move(value);
        } else {
            node->entry = std::make_unique<Entry>(Entry{std::string(topic), std::move(value)});
            ++size_;
        }
    }

    // Removes the retained message of `topic`; true if there was one.
    bool erase(std::string_view topic) {
        // The way down, to free emptied nodes bottom-up without recursion.
        struct Step {
            Node* node;
            std::string_view level;
        };
        std::vector<Step> path;
        Node* node = &root_for(topic);
        path.push_back({node, {}});
        LevelCursor levels(topic);
        while (!levels.done()) {
            const auto level = levels.next();
            node = node->children.find(level);
            if (node == nullptr) {
                return false;
            }
            path.push_back({node, level});
        }
        if (!node->entry) {
            return false;
        }
        node->entry.reset();
        --size_;
        for (std::size_t i = path.size() - 1; i > 0; --i) {
            if (!path[i].node->empty()) {
                break;
            }
            path[i - 1].node->children.erase(path[i].level);
        }
        return true;
    }

    // The retained value of exactly `topic`, or nullptr. Valid until the next change.
    const Value* find(std::string_view topic) const {
        const Node* node = &root_for(topic);
        LevelCursor levels(topic);
        while (!levels.done()) {
            node = node->children.find(levels.next());
            if (node == nullptr) {
                return nullptr;
            }
        }
        return node->entry ? &node->entry->value : nullptr;
    }

    // Calls visit(std::string_view topic, const Value&) for every stored topic that the
    // valid, non-shared `filter` matches, in unspecified order. `visit` must not modify the
    // tree.
    template <class Visit>
    void match(std::string_view filter, Visit&& visit) const {
        struct Frame {
            const Node* node = nullptr;
            LevelCursor levels;  // the filter levels still to apply below `node`
        };
        // [MQTT-4.7.2-1] A filter starting with '+' or '#' walks the ordinary root only; any
        // other filter's first level is literal and picks the root its topics live under.
        const Node* start = starts_with_dollar(filter) ? &dollar_root_ : &root_;
        detail::SmallStack<Frame, 32> pending;
        pending.push({start, LevelCursor(filter)});
        while (!pending.empty()) {
            // Not a structured binding: clang 14 cannot capture one in the lambda below.
            Frame frame = pending.pop();
            const Node* node = frame.node;
            LevelCursor& levels = frame.levels;
            if (levels.done()) {
                if (node->entry) {
                    visit(std::string_view(node->entry->topic), std::as_const(node->entry->value));
                }
                continue;
            }
            const auto level = levels.next();
            if (level == "#") {
                // [MQTT-4.7.1-2] the parent level and everything below it.
                visit_subtree(node, visit);
            } else if (level == "+") {
                node->children.for_each([&](const Node& child) { pending.push({&child, levels}); });
            } else if (const Node* child = node->children.find(level)) {
                pending.push({child, levels});
            }
        }
    }

    // Number of retained topics.
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    // Number of tree nodes below the two roots, by a full walk: for tests that check pruning
    // and for memory metrics, not for the hot path.
    std::size_t node_count() const {
        std::size_t count = 0;
        detail::SmallStack<const Node*, 32> pending;
        pending.push(&root_);
        pending.push(&dollar_root_);
        while (!pending.empty()) {
            const Node* node = pending.pop();
            node->children.for_each([&](const Node& child) { pending.push(&child); });
            count += node->children.size();
        }
        return count;
    }

  private:
    struct Entry {
        std::string topic;  // kept whole so match() can hand out a view without rebuilding it
        Value value;
    };

    struct Node {
        detail::Children<Node> children;
        std::unique_ptr<Entry> entry;  // the retained message of the topic ending here

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
        }

        bool empty() const noexcept { return children.empty() && !entry; }
    };

    Node& root_for(std::string_view topic) {
        return starts_with_dollar(topic) ? dollar_root_ : root_;
    }
    const Node& root_for(std::string_view topic) const {
        return starts_with_dollar(topic) ? dollar_root_ : root_;
    }

    template <class Visit>
    static void visit_subtree(const Node* top, Visit& visit) {
        detail::SmallStack<const Node*, 32> pending;
        pending.push(top);
        while (!pending.empty()) {
            const Node* node = pending.pop();
            if (node->entry) {
                visit(std::string_view(node->entry->topic), std::as_const(node->entry->value));
            }
            node->children.for_each([&](const Node& child) { pending.push(&child); });
        }
    }

    Node root_;         // topics whose first character is not '$'
    Node dollar_root_;  // topics beginning with '$' [MQTT-4.7.2-1]
    std::size_t size_ = 0;
};

}  // namespace petrel::topic
