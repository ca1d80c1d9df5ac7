// Topic name and filter validation and the reference matcher (spec 4.7, 4.8.2).
#include "petrel/topic/topic_name.hpp"

#include <algorithm>

#include "petrel/topic/topic_levels.hpp"

namespace petrel::topic {
namespace {

// Topic names and filters are UTF-8 strings with a two-byte length prefix (1.5.4).
constexpr std::size_t kMaxTopicBytes = 65535;
constexpr std::string_view kSharePrefix = "$share/";

// Length and U+0000 rules common to names and filters [MQTT-4.7.3-1] [MQTT-4.7.3-2].
bool has_valid_length_and_no_nul(std::string_view text) {
    return !text.empty() && text.size() <= kMaxTopicBytes &&
           text.find('\0') == std::string_view::npos;
}

// A filter without the $share prefix.
bool is_valid_plain_filter(std::string_view filter) {
    if (!has_valid_length_and_no_nul(filter)) {
        return false;
    }
    LevelCursor levels(filter);
    while (!levels.done()) {
        const auto level = levels.next();
        if (level == "#") {
            // [MQTT-4.7.1-2] '#' must be the last level.
            if (!levels.done()) {
                return false;
            }
        } else if (level != "+" && level.find_first_of("+#") != std::string_view::npos) {
            // [MQTT-4.7.1-2] [MQTT-4.7.1-3] wildcards occupy a whole level.
            return false;
        }
    }
    return true;
}

}  // namespace

bool is_valid_topic_name(std::string_view name) {
    // [MQTT-3.3.2-2] no wildcards in a PUBLISH topic name.
    return has_valid_length_and_no_nul(name) && name.find_first_of("+#") == std::string_view::npos;
}

bool is_valid_topic_filter(std::string_view filter) {
    if (!filter.starts_with(kSharePrefix)) {
        return is_valid_plain_filter(filter);
    }
    // The limit applies to the whole filter as it appears on the wire.
    if (filter.size() > kMaxTopicBytes) {
        return false;
    }
    const auto shared = parse_shared(filter);
    // [MQTT-4.8.2-1] a ShareName of at least one character, without '/', '+' or '#';
    // [MQTT-4.8.2-2] followed by '/' and a Topic Filter.
    return shared && !shared->group.empty() &&
           shared->group.find_first_of("+#") == std::string_view::npos &&
           is_valid_plain_filter(shared->filter);
}

bool has_wildcard(std::string_view filter) {
    // In a valid filter '+' and '#' can only appear as whole levels, and a $share group
    // cannot contain them, so a character search is enough.
    return filter.find_first_of("+#") != std::string_view::npos;
}

std::optional<SharedFilter> parse_shared(std::string_view filter) {
    if (!filter.starts_with(kSharePrefix)) {
        return std::nullopt;
    }
    const auto rest = filter.substr(kSharePrefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        return std::nullopt;
    }
    return SharedFilter{rest.substr(0, slash), rest.substr(slash + 1)};
}

bool is_broker_topic(std::string_view topic) {
    constexpr std::string_view kSys = "$SYS";
    return topic.starts_with(kSys) && (topic.size() == kSys.size() || topic[kSys.size()] == '/');
}

std::size_t level_count(std::string_view topic) {
    return static_cast<std::size_t>(std::count(topic.begin(), topic.end(), '/')) + 1;
}

bool matches(std::string_view filter, std::string_view topic) {
    // [MQTT-4.7.2-1] a leading wildcard never matches a topic beginning with '$'.
    if (starts_with_dollar(topic) && !filter.empty() &&
        (filter.front() == '+' || filter.front() == '#')) {
        return false;
    }
    LevelCursor filter_levels(filter);
    LevelCursor topic_levels(topic);
    while (!filter_levels.done()) {
        const auto wanted = filter_levels.next();
        // [MQTT-4.7.1-2] '#' matches the parent level and any number of child levels,
        // so "sport/#" matches "sport" too.
        if (wanted == "#") {
            return true;
        }
        if (topic_levels.done()) {
            return false;
        }
        const auto level = topic_levels.next();
        // '+' matches exactly one level, which may be empty (4.7.1.3).
        if (wanted != "+" && wanted != level) {
            return false;
        }
    }
    return topic_levels.done();
}

}  // namespace petrel::topic
