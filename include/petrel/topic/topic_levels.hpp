// Splitting topic names and filters into levels without allocating.
//
// Every topic operation (validation, matching, the subscription trie, the retained tree)
// walks a topic level by level. LevelCursor yields each level as a string_view into the
// caller's string, so the hot path of matching a PUBLISH never builds a std::string.
#pragma once

#include <string_view>
#include <utility>

namespace petrel::topic {

// Walks the '/'-separated levels of a topic name or filter (spec 4.7.1.1). Empty levels are
// levels: "a//b" yields "a", "", "b"; "a/" yields "a", ""; "" yields one empty level. The
// cursor is a small value, cheap to copy, so a matcher can fork it at each trie branch.
class LevelCursor {
  public:
    constexpr LevelCursor() noexcept = default;
    explicit constexpr LevelCursor(std::string_view text) noexcept : rest_(text) {}

    // True once the last level has been returned by next().
    constexpr bool done() const noexcept { return done_; }

    // The next level. Precondition: !done().
    constexpr std::string_view next() noexcept {
        const auto slash = rest_.find('/');
        if (slash == std::string_view::npos) {
            done_ = true;
            return std::exchange(rest_, std::string_view{});
        }
        const auto level = rest_.substr(0, slash);
        rest_.remove_prefix(slash + 1);
        return level;
    }

  private:
    std::string_view rest_;
    bool done_ = false;
};

// [MQTT-4.7.2-1] Topics whose first character is '$' are not matched by a filter that
// starts with a wildcard; the trie and the retained tree keep them under a separate root.
constexpr bool starts_with_dollar(std::string_view topic) noexcept {
    return !topic.empty() && topic.front() == '$';
}

}  // namespace petrel::topic
