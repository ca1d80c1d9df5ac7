// MQTT topic matching for the ACL. The auth layer depends on no other petrel layer, so it
// keeps this small level-wise matcher of its own instead of using the topic tree.
//
// An ACL filter may be a Mosquitto `pattern` template: %c and %u inside a level stand for the
// client id and the username. Matching substitutes them on the fly while comparing a level,
// so nothing is allocated. The caller passes only safe values (non-empty, no '+', '#' or
// '/'), so a substituted level is always a plain name and the template's wildcards are the
// only wildcards.
#pragma once

#include <string_view>

namespace petrel::auth::acl_match {

// Values for %c and %u; nullptr in the calls below means "no substitution" (a `topic` rule,
// where "%c" is literal text).
struct Substitution {
    std::string_view client_id;
    std::string_view username;
};

struct Placeholders {
    bool client_id = false;
    bool username = false;
};

// Which of %c / %u `filter` contains, scanning as the matcher does ("%%c" is '%' then %c).
Placeholders find_placeholders(std::string_view filter);

// A subscription filter: non-empty, at most 65535 bytes, '+' and '#' only as whole levels,
// '#' only last.
bool is_valid_filter(std::string_view filter);

// A topic name: non-empty, at most 65535 bytes, no '+' or '#'.
bool is_valid_topic(std::string_view topic);

// A value that may be substituted for %c / %u without widening a filter.
bool is_safe_substitution(std::string_view value);

// Whether ACL `filter` matches topic name `topic` (both valid). [MQTT-4.7.2-1]: a topic
// starting with '$' is matched only by a filter starting with '$', so neither a leading
// wildcard nor a substituted value can reach $SYS.
bool topic_matches(std::string_view filter, std::string_view topic, const Substitution* subst);

// Whether ACL `filter` covers every topic that subscription filter `subscription` can match
// (both valid), level by level as Mosquitto's mosquitto_sub_matches_acl: '#' in the ACL
// covers the rest (and the parent level), '+' covers a name or '+', a name covers only the
// same name. The '$' rule holds both ways.
bool filter_covers(std::string_view filter, std::string_view subscription,
                   const Substitution* subst);

// The {filter} of `$share/{group}/{filter}`; `filter` itself when it is not shared; empty
// when the shared form is malformed (no group, a wildcard in the group, no filter).
std::string_view strip_shared_prefix(std::string_view filter);

}  // namespace petrel::auth::acl_match
