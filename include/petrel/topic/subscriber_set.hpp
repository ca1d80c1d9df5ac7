// The plain subscriptions that end at one place in the subscription trie.
//
// Two needs pull apart: a match walks every subscriber at a matching node, which wants a
// contiguous array, and subscribe/unsubscribe must find one subscriber in O(1) even when
// thousands share a filter. So members live in a dense vector, and a hash index (subscriber
// -> position) is added only once the set outgrows a few entries; most filters have one
// subscriber, and a linear scan of a handful is cheaper than hashing. Removal swaps the last
// member into the hole, so member order is not preserved (plain subscriptions have none).
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace petrel::topic {

template <class Subscriber, class Data, class Hash = std::hash<Subscriber>>
class SubscriberSet {
  public:
    using Member = std::pair<Subscriber, Data>;

    // Adds `subscriber`, or replaces its Data when present. Returns true if added.
    bool insert_or_assign(const Subscriber& subscriber, Data data) {
        if (const auto at = position(subscriber); at != kAbsent) {
            members_[at].second = std::move(data);
            return false;
        }
        members_.emplace_back(subscriber, std::move(data));
        if (index_) {
            index_->emplace(subscriber, members_.size() - 1);
        } else if (members_.size() > kIndexAbove) {
            build_index();
        }
        return true;
    }

    // Removes `subscriber`; true if it was present.
    bool erase(const Subscriber& subscriber) {
        const auto at = position(subscriber);
        if (at == kAbsent) {
            return false;
        }
        if (index_) {
            index_->erase(subscriber);
        }
        if (at != members_.size() - 1) {
            members_[at] = std::move(members_.back());
            if (index_) {
                (*index_)[members_[at].first] = at;
            }
        }
        members_.pop_back();
        // Hysteresis: drop the index well below the threshold so that a set hovering around
        // it does not rebuild the index on every change.
        if (index_ && members_.size() <= kIndexAbove / 2) {
            index_.reset();
        }
        if (members_.empty()) {
            members_.shrink_to_fit();  // a drained node keeps no capacity behind
        }
        return true;
    }

    bool empty() const noexcept { return members_.empty(); }
    std::size_t size() const noexcept { return members_.size(); }
    auto begin() const noexcept { return members_.cbegin(); }
    auto end() const noexcept { return members_.cend(); }

  private:
    static constexpr std::size_t kIndexAbove = 8;
    static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);

    std::size_t position(const Subscriber& subscriber) const {
        if (index_) {
            const auto it = index_->find(subscriber);
            return it == index_->end() ? kAbsent : it->second;
        }
        const auto it = std::find_if(members_.begin(), members_.end(),
                                     [&](const Member& m) { return m.first == subscriber; });
        return it == members_.end() ? kAbsent : static_cast<std::size_t>(it - members_.begin());
    }

    void build_index() {
        index_ = std::make_unique<std::unordered_map<Subscriber, std::size_t, Hash>>();
        index_->reserve(members_.size() * 2);
        for (std::size_t i = 0; i < members_.size(); ++i) {
            index_->emplace(members_[i].first, i);
        }
    }

    std::vector<Member> members_;
    std::unique_ptr<std::unordered_map<Subscriber, std::size_t, Hash>> index_;
};

}  // namespace petrel::topic
