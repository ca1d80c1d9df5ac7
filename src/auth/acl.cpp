#include "petrel/auth/acl.hpp"

#include <fstream>
#include <sstream>
#include <utility>

#include "acl_match.hpp"

namespace petrel::auth {
namespace {

constexpr std::uint8_t kDeny = 0;
constexpr std::uint8_t kRead = static_cast<std::uint8_t>(Access::Read);
constexpr std::uint8_t kWrite = static_cast<std::uint8_t>(Access::Write);
constexpr std::string_view kBlank = " \t\r\f\v";

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(kBlank);
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(kBlank) - first + 1);
}

// Splits a trimmed line at its first run of blanks: the first word and the trimmed rest.
std::pair<std::string_view, std::string_view> split_word(std::string_view text) {
    const auto end = text.find_first_of(kBlank);
    if (end == std::string_view::npos) {
        return {text, {}};
    }
    return {text.substr(0, end), trim(text.substr(end))};
}

std::optional<std::uint8_t> parse_access(std::string_view word) {
    if (word == "read") {
        return kRead;
    }
    if (word == "write") {
        return kWrite;
    }
    if (word == "readwrite") {
        return static_cast<std::uint8_t>(kRead | kWrite);
    }
    if (word == "deny") {
        return kDeny;
    }
    return std::nullopt;
}

// How one rule relates to one request.
enum class Applies { No, Match, Everything };

}  // namespace

Acl Acl::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw AclError(path + ": cannot open ACL file");
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw AclError(path + ": cannot read ACL file");
    }
    return parse(text.str(), path);
}

Acl Acl::parse(std::string_view text, const std::string& origin) {
    Acl acl;
    RuleList* user_rules = &acl.anonymous_;  // where `topic` lines go
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const auto end = text.find('\n');
        const std::string_view line = trim(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto fail = [&](const std::string& what) {
            return AclError(origin + ":" + std::to_string(line_number) + ": " + what);
        };

        const auto [keyword, rest] = split_word(line);
        if (keyword == "user") {
            if (rest.empty()) {
                throw fail("missing username after 'user'");
            }
            // Spaces inside a name are kept, as Mosquitto does.
            user_rules = &acl.users_.try_emplace(std::string(rest)).first->second;
            continue;
        }
        if (keyword != "topic" && keyword != "pattern") {
            throw fail("unknown keyword '" + std::string(keyword) +
                       "' (expected topic, pattern or user)");
        }
        if (rest.empty()) {
            throw fail("missing topic filter after '" + std::string(keyword) + "'");
        }
        // One word is the filter with the default access, unless it is an access word: then
        // the filter was forgotten, and reading the word as a topic would grant readwrite.
        auto [first, filter] = split_word(rest);
        std::optional<std::uint8_t> access = parse_access(first);
        if (filter.empty()) {
            if (access) {
                throw fail("missing topic filter after '" + std::string(first) + "'");
            }
            filter = first;
            access = static_cast<std::uint8_t>(kRead | kWrite);
        } else if (!access) {
            throw fail("unknown access '" + std::string(first) +
                       "' (expected read, write, readwrite or deny)");
        }
        if (!acl_match::is_valid_filter(filter)) {
            throw fail("invalid topic filter '" + std::string(filter) + "'");
        }

        Rule rule{std::string(filter), *access, false, false};
        if (keyword == "pattern") {
            const auto found = acl_match::find_placeholders(filter);
            rule.uses_client_id = found.client_id;
            rule.uses_username = found.username;
            acl.add_rule(acl.patterns_, std::move(rule));
        } else {
            acl.add_rule(*user_rules, std::move(rule));
        }
    }
    return acl;
}

void Acl::add_rule(RuleList& list, Rule rule) {
    (rule.access == kDeny ? list.denies : list.grants).push_back(std::move(rule));
    ++rule_count_;
}

bool Acl::can_subscribe(const Principal& who, std::string_view filter) const {
    return decide(who, acl_match::strip_shared_prefix(filter), kRead, Target::Subscription);
}

bool Acl::allows(const Principal& who, std::string_view topic, Access access) const {
    return decide(who, topic, static_cast<std::uint8_t>(access), Target::Topic);
}

bool Acl::decide(const Principal& who, std::string_view name, std::uint8_t access,
                 Target target) const {
    if (target == Target::Topic ? !acl_match::is_valid_topic(name)
                                : !acl_match::is_valid_filter(name)) {
        return false;
    }
    const RuleList* user_rules = &anonymous_;
    if (who.username) {
        const auto it = users_.find(*who.username);
        user_rules = it == users_.end() ? nullptr : &it->second;
    }

    const acl_match::Substitution subst{who.client_id, who.username.value_or(std::string_view{})};
    const bool client_id_safe = acl_match::is_safe_substitution(who.client_id);
    const bool username_safe = who.username && acl_match::is_safe_substitution(*who.username);

    const auto matches = [&](const Rule& rule, const acl_match::Substitution* with) {
        return target == Target::Topic ? acl_match::topic_matches(rule.filter, name, with)
                                       : acl_match::filter_covers(rule.filter, name, with);
    };
    // A pattern naming a value that cannot be substituted safely is skipped when it grants
    // and, when it denies, refuses everything: a deny that cannot be aimed must not miss.
    const auto pattern_applies = [&](const Rule& rule) {
        if (rule.uses_username && !who.username) {
            return Applies::No;  // Mosquitto: %u patterns are for clients with a username
        }
        if ((rule.uses_client_id && !client_id_safe) || (rule.uses_username && !username_safe)) {
            return rule.access == kDeny ? Applies::Everything : Applies::No;
        }
        const bool substitutes = rule.uses_client_id || rule.uses_username;
        return matches(rule, substitutes ? &subst : nullptr) ? Applies::Match : Applies::No;
    };

    // Deny wins: every deny rule is consulted before any grant.
    if (user_rules != nullptr) {
        for (const Rule& rule : user_rules->denies) {
            if (matches(rule, nullptr)) {
                return false;
            }
        }
    }
    for (const Rule& rule : patterns_.denies) {
        if (pattern_applies(rule) != Applies::No) {
            return false;
        }
    }
    if (user_rules != nullptr) {
        for (const Rule& rule : user_rules->grants) {
            if ((rule.access & access) != 0 && matches(rule, nullptr)) {
                return true;
            }
        }
    }
    for (const Rule& rule : patterns_.grants) {
        if ((rule.access & access) != 0 && pattern_applies(rule) == Applies::Match) {
            return true;
        }
    }
    return false;
}

}  // namespace petrel::auth
