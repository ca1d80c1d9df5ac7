// The config file's keywords: one table, the single source of truth for what the parser
// knows, and for docs/mosquitto-compatibility.md (a unit test checks the document against
// it both ways).
//
// Each keyword is implemented (a handler gives it its meaning), warned (accepted with a
// start-up warning, because it means nothing for Petrel) or refused (an error that says
// what to use instead). The table is split by job: Petrel's and Mosquitto's general
// options (config_keywords_general.cpp), listener and TLS options
// (config_keywords_listener.cpp), and the Mosquitto options Petrel warns about or refuses
// (mosquitto_compat.cpp).
#pragma once

#include <charconv>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "petrel/broker/config.hpp"

namespace petrel::broker {

enum class KeywordStatus { Implemented, Warned, Refused };

// Where a keyword may be written: anywhere, or only after a `listener` line.
enum class KeywordScope { General, Listener };

using KeywordArgs = std::vector<std::string>;
// Applies a keyword's values. Throws std::invalid_argument for a bad value; may append
// warnings (without location: the parser adds "FILE:LINE: ") to Config::warnings.
using KeywordHandler = std::function<void(Config&, const KeywordArgs&)>;

struct KeywordEntry {
    // The keyword; one ending in '*' is a prefix (auth_opt_*).
    std::string name;
    KeywordStatus status = KeywordStatus::Implemented;
    // Whether mosquitto.conf(5) of Mosquitto 2.0 has it (the compatibility document lists
    // exactly these); false for Petrel's own keywords.
    bool mosquitto = true;
    KeywordScope scope = KeywordScope::General;
    std::size_t min_args = 1;
    std::size_t max_args = 1;
    // Implemented: gives the keyword its meaning. Warned: may check the value and decide
    // the warning (null: the `why` text is the warning).
    KeywordHandler apply;
    // Warned: the warning; Refused: the error, naming what to use instead.
    std::string why;
};

// The whole table, in no particular order; names are unique.
const std::vector<KeywordEntry>& keyword_table();
// The entry for `keyword` (exact name, else a matching prefix entry); null if unknown.
const KeywordEntry* find_keyword(std::string_view keyword);

// The parts the table is assembled from.
void add_general_keywords(std::vector<KeywordEntry>& table);
void add_listener_keywords(std::vector<KeywordEntry>& table);
void add_mosquitto_compat_keywords(std::vector<KeywordEntry>& table);

// ---- value parsing shared by the handlers (throw std::invalid_argument) ----

template <class Integer>
Integer parse_integer(const std::string& text, Integer min, Integer max) {
    Integer value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
        throw std::invalid_argument("expected a whole number from " + std::to_string(min) + " to " +
                                    std::to_string(max) + ", got '" + text + "'");
    }
    return value;
}

bool parse_bool(const std::string& text);

// Sizes in bytes up to 1 TiB: a typo with three extra zeros is an error, not a map that
// reserves the whole address space.
inline constexpr std::size_t kMaxBytes = std::size_t{1} << 40;

// The listener the last `listener` line declared (the parser guarantees one for
// listener-scoped keywords).
inline ListenerConfig& current_listener(Config& config) {
    return config.listeners.back();
}

// With per_listener_settings, the security keywords after a `listener` line are that
// listener's own; otherwise (or before any listener) they are global. Null: global.
inline ListenerConfig* security_scope(Config& config) {
    return config.per_listener_settings && !config.listeners.empty() ? &config.listeners.back()
                                                                     : nullptr;
}

}  // namespace petrel::broker
