// The access control list: which topics a client may publish to, receive from and subscribe
// to, read from a Mosquitto-compatible acl_file, so a Mosquitto ACL works unchanged.
//
//   # comment                                  (also blank lines)
//   topic [read|write|readwrite|deny] FILTER   before any `user` line: anonymous clients
//   user NAME                                  the `topic` lines below apply to NAME only
//   pattern [read|write|readwrite|deny] FILTER every client; %c = client id, %u = username
//
// The access defaults to readwrite; FILTER is the rest of the line (it may contain spaces,
// and then the access word is required). A client's applicable rules are its user's `topic`
// rules (the anonymous ones when it has no username; none for a username without a `user`
// section) plus every `pattern` rule. An access is allowed when an applicable rule grants it
// and no applicable `deny` rule matches: deny always wins, whatever the order of lines.
//
// Substitution never widens access: a client id or username that is empty or holds '+', '#'
// or '/' makes the granting patterns that name it (%c resp. %u) not apply, and the `deny`
// patterns that name it apply to every topic. Patterns with %u do not apply to a client
// without a username.
//
// Decisions are pure and cheap: no allocation, a hash lookup for the user, a linear scan of
// that user's rules and of the patterns. One Acl is immutable after load and may be shared by
// every thread; reloading means building a new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace petrel::auth {

// Start-up failure: the file cannot be read or a line is wrong. what() names the place,
// "acl.conf:4: unknown access 'red'", so main() prints it as one clear line.
class AclError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class Access : std::uint8_t { Read = 1, Write = 2 };

// Who asks. The views must stay valid for the duration of the call only.
struct Principal {
    std::string_view client_id;
    std::optional<std::string_view> username;  // nullopt: an anonymous client
};

class Acl {
  public:
    Acl() = default;  // no rules: everything is refused

    // Reads and parses `path`; throws AclError naming "path:line" on any error.
    static Acl load(const std::string& path);
    // `origin` names the text in error messages (normally the file's path).
    static Acl parse(std::string_view text, const std::string& origin);

    // Write access to a PUBLISH topic (no wildcards; anything else is refused).
    bool can_publish(const Principal& who, std::string_view topic) const {
        return allows(who, topic, Access::Write);
    }
    // Read access to a topic: checked for every delivery, retained messages included, since a
    // permitted subscription may still match topics a `deny` rule withholds.
    bool can_receive(const Principal& who, std::string_view topic) const {
        return allows(who, topic, Access::Read);
    }
    // A subscription filter (wildcards allowed; `$share/{group}/{filter}` is checked on its
    // {filter}). Allowed when some read rule's filter covers the whole subscription, as
    // Mosquitto's mosquitto_sub_matches_acl decides: a '+' or '#' in the subscription needs a
    // wildcard at that level of the rule ('+' covers '+' or a name, '#' covers anything
    // below), and refused when some deny rule's filter covers it. A deny rule that covers
    // only part of the subscription does not refuse it; can_receive filters the deliveries.
    bool can_subscribe(const Principal& who, std::string_view filter) const;

    // The topic check behind can_publish/can_receive.
    bool allows(const Principal& who, std::string_view topic, Access access) const;

    // `topic` and `pattern` rules read, over all users.
    std::size_t rule_count() const { return rule_count_; }

  private:
    struct Rule {
        std::string filter;
        std::uint8_t access = 0;  // bits of Access; 0 = deny
        // Pattern rules only: which placeholders the filter contains.
        bool uses_client_id = false;
        bool uses_username = false;
    };
    struct RuleList {
        std::vector<Rule> grants;
        std::vector<Rule> denies;
    };
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view name) const {
            return std::hash<std::string_view>{}(name);
        }
    };
    enum class Target { Topic, Subscription };

    bool decide(const Principal& who, std::string_view name, std::uint8_t access,
                Target target) const;
    void add_rule(RuleList& list, Rule rule);

    RuleList anonymous_;
    std::unordered_map<std::string, RuleList, NameHash, std::equal_to<>> users_;
    RuleList patterns_;
    std::size_t rule_count_ = 0;
};

}  // namespace petrel::auth
