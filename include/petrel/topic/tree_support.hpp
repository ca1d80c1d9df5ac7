// Small building blocks shared by SubscriptionTrie and RetainedTree; not part of the API.
//
// Both trees key their children by topic level. Lookups happen once per level on every
// PUBLISH (trie) or retained-message match, so they must take a string_view straight from
// the topic without building a std::string, and the walks keep their work list on the
// stack rather than recursing, because a 65535-byte filter can have 32768 levels.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace petrel::topic::detail {

// Transparent hash: with std::equal_to<> it enables C++20 heterogeneous lookup (P0919R3,
// P1690R1), so `map.find(std::string_view)` does not construct a key.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
        return std::hash<std::string_view>{}(text);
    }
};

template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// A LIFO work list that lives on the stack up to N entries and spills to the heap beyond,
// so a typical match allocates nothing while a pathological one still terminates safely.
template <class T, std::size_t N>
class SmallStack {
  public:
    bool empty() const noexcept { return size_ == 0 && spill_.empty(); }

    void push(const T& value) {
        if (size_ < N) {
            inline_[size_++] = value;
        } else {
            spill_.push_back(value);
        }
    }

    // Precondition: !empty().
    T pop() {
        if (!spill_.empty()) {
            T value = std::move(spill_.back());
            spill_.pop_back();
            return value;
        }
        return std::move(inline_[--size_]);
    }

  private:
    std::array<T, N> inline_{};
    std::size_t size_ = 0;
    std::vector<T> spill_;
};

// The literal children of a tree node, by level. Most nodes of a large trie are leaves, so
// the map is allocated only when the first child arrives: a leaf pays one pointer, not the
// 56 bytes of an empty std::unordered_map.
template <class Node>
class Children {
  public:
    bool empty() const noexcept { return !map_ || map_->empty(); }
    std::size_t size() const noexcept { return map_ ? map_->size() : 0; }

    // nullptr when absent; never allocates.
    Node* find(std::string_view level) const {
        if (empty()) {
            return nullptr;
        }
        const auto it = map_->find(level);
        return it == map_->end() ? nullptr : it->second.get();
    }

    Node& find_or_create(std::string_view level) {
        if (!map_) {
            map_ = std::make_unique<Map>();
        }
        auto it = map_->find(level);
        if (it == map_->end()) {
            it = map_->emplace(std::string(level), std::make_unique<Node>()).first;
        }
        return *it->second;
    }

    // Frees the child at `level` (which must exist) and the map once it is empty.
    void erase(std::string_view level) {
        map_->erase(map_->find(level));
        if (map_->empty()) {
            map_.reset();
        }
    }

    // Calls visit(const Node&) for each child.
    template <class Visit>
    void for_each(Visit&& visit) const {
        if (map_) {
            for (const auto& [level, child] : *map_) {
                visit(*child);
            }
        }
    }

    // Moves every child out, for iterative teardown.
    void release_into(std::vector<std::unique_ptr<Node>>& out) {
        if (map_) {
            for (auto& [level, child] : *map_) {
                out.push_back(std::move(child));
            }
            map_.reset();
        }
    }

  private:
    using Map = StringMap<std::unique_ptr<Node>>;
    std::unique_ptr<Map> map_;
};

// Destroys a tree of nodes held by unique_ptr without recursion. Each Node exposes
// `template <class Out> void release_children(Out& out)` that moves its child pointers out.
template <class NodePtr>
void destroy_iteratively(std::vector<NodePtr>& pending) {
    while (!pending.empty()) {
        NodePtr node = std::move(pending.back());
        pending.pop_back();
        node->release_children(pending);
        // `node` now has no children; its destructor does not recurse.
    }
}

}  // namespace petrel::topic::detail
