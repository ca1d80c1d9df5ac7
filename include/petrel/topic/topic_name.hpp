// Topic names and topic filters (spec 4.7): validation and the $share/{group}/ prefix.
//
// The protocol edge calls these on every PUBLISH topic and SUBSCRIBE filter before anything
// reaches the trie, which trusts its input. matches() is the slow, obviously-correct
// reference against which the trie and the retained tree are tested.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace petrel::topic {

// A topic name as PUBLISH carries it: non-empty, at most 65535 bytes, no '+' or '#'
// [MQTT-3.3.2-2], no U+0000. (UTF-8 well-formedness is checked by the codec.)
bool is_valid_topic_name(std::string_view name);

// A topic filter: non-empty, at most 65535 bytes, '#' only as the whole last level
// [MQTT-4.7.1-2], '+' only as a whole level [MQTT-4.7.1-3]. A $share/{group}/{filter}
// filter is valid when the group is non-empty with no '+', '#' or '/', and the filter is valid.
bool is_valid_topic_filter(std::string_view filter);

// True when `filter` has a '+' or '#' level.
bool has_wildcard(std::string_view filter);

struct SharedFilter {
    std::string_view group;
    std::string_view filter;
};
// Splits "$share/group/filter"; nullopt when `filter` is not a shared subscription (does not
// start with "$share/" followed by a group and another '/'). It only splits: whether the
// group and the filter are valid is is_valid_topic_filter's job. The views point into `filter`.
std::optional<SharedFilter> parse_shared(std::string_view filter);

// Whether `topic` is in the broker's own namespace ($SYS and below), where only the
// broker publishes: a client's PUBLISH or will there would spoof broker status.
bool is_broker_topic(std::string_view topic);

// Counts the levels of a topic or filter ("a/b" has 2, "" has 1).
std::size_t level_count(std::string_view topic);

// Whether `filter` matches `topic` (no $share prefix), by the rules of 4.7 including
// [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a '$' topic.
// A slow, obviously-correct reference: the trie and the retained tree walk their own
// structures and are cross-checked against it in tests.
bool matches(std::string_view filter, std::string_view topic);

}  // namespace petrel::topic
