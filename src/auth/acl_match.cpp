#include "acl_match.hpp"

#include <cstddef>

namespace petrel::auth::acl_match {
namespace {

constexpr std::size_t kMaxTopicSize = 65535;  // a UTF-8 string's two-byte length prefix

// Walks the '/'-separated levels of a string. "a/" has two levels, "a" and "", so the cursor
// tells an exhausted string from an empty level.
class Levels {
  public:
    explicit Levels(std::string_view text) : text_(text) {}

    bool done() const { return done_; }

    std::string_view next() {
        const auto slash = text_.find('/', pos_);
        if (slash == std::string_view::npos) {
            done_ = true;
            return text_.substr(pos_);
        }
        const auto level = text_.substr(pos_, slash - pos_);
        pos_ = slash + 1;
        return level;
    }

  private:
    std::string_view text_;
    std::size_t pos_ = 0;
    bool done_ = false;
};

bool is_placeholder(std::string_view text, std::size_t at) {
    return text[at] == '%' && at + 1 < text.size() && (text[at + 1] == 'c' || text[at + 1] == 'u');
}

// Whether template level `pattern` equals `level` once its placeholders are substituted.
bool level_equals(std::string_view pattern, std::string_view level, const Substitution* subst) {
    if (subst == nullptr) {
        return pattern == level;
    }
    std::size_t at = 0;  // in level
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (is_placeholder(pattern, i)) {
            const std::string_view value =
                pattern[i + 1] == 'c' ? subst->client_id : subst->username;
            if (level.substr(at, value.size()) != value) {
                return false;
            }
            at += value.size();
            ++i;
            continue;
        }
        if (at >= level.size() || level[at] != pattern[i]) {
            return false;
        }
        ++at;
    }
    return at == level.size();
}

bool dollar_mismatch(std::string_view filter, std::string_view name) {
    return (filter.front() == '$') != (name.front() == '$');
}

}  // namespace

Placeholders find_placeholders(std::string_view filter) {
    Placeholders found;
    for (std::size_t i = 0; i < filter.size(); ++i) {
        if (is_placeholder(filter, i)) {
            (filter[i + 1] == 'c' ? found.client_id : found.username) = true;
            ++i;
        }
    }
    return found;
}

bool is_valid_filter(std::string_view filter) {
    if (filter.empty() || filter.size() > kMaxTopicSize) {
        return false;
    }
    Levels levels(filter);
    while (!levels.done()) {
        const auto level = levels.next();
        if (level == "#") {
            return levels.done();
        }
        if (level != "+" && level.find_first_of("+#") != std::string_view::npos) {
            return false;
        }
    }
    return true;
}

bool is_valid_topic(std::string_view topic) {
    return !topic.empty() && topic.size() <= kMaxTopicSize &&
           topic.find_first_of("+#") == std::string_view::npos;
}

bool is_safe_substitution(std::string_view value) {
    return !value.empty() && value.find_first_of("+#/") == std::string_view::npos;
}

bool topic_matches(std::string_view filter, std::string_view topic, const Substitution* subst) {
    if (dollar_mismatch(filter, topic)) {
        return false;
    }
    Levels filter_levels(filter);
    Levels topic_levels(topic);
    while (!filter_levels.done()) {
        const auto wanted = filter_levels.next();
        if (wanted == "#") {
            return true;  // the rest, and the parent level itself: "a/#" matches "a"
        }
        if (topic_levels.done()) {
            return false;
        }
        const auto level = topic_levels.next();
        if (wanted != "+" && !level_equals(wanted, level, subst)) {
            return false;
        }
    }
    return topic_levels.done();
}

bool filter_covers(std::string_view filter, std::string_view subscription,
                   const Substitution* subst) {
    if (dollar_mismatch(filter, subscription)) {
        return false;
    }
    Levels filter_levels(filter);
    Levels sub_levels(subscription);
    while (!filter_levels.done()) {
        const auto wanted = filter_levels.next();
        if (wanted == "#") {
            return true;
        }
        if (sub_levels.done()) {
            return false;
        }
        const auto level = sub_levels.next();
        if (level == "#") {
            return false;  // only '#' covers '#'
        }
        if (wanted == "+") {
            continue;  // a name or '+'
        }
        if (level == "+" || !level_equals(wanted, level, subst)) {
            return false;
        }
    }
    return sub_levels.done();
}

std::string_view strip_shared_prefix(std::string_view filter) {
    constexpr std::string_view kShared = "$share/";
    if (!filter.starts_with(kShared)) {
        return filter;
    }
    const auto rest = filter.substr(kShared.size());
    const auto slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) {
        return {};
    }
    if (rest.substr(0, slash).find_first_of("+#") != std::string_view::npos) {
        return {};
    }
    return rest.substr(slash + 1);
}

}  // namespace petrel::auth::acl_match
