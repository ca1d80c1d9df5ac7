// The config file parser's core: lines to keywords (config_keywords.hpp holds the table),
// include_dir, the checks that need the whole file, and Config's derived values.
#include "petrel/broker/config.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "config_keywords.hpp"

namespace petrel::broker {

bool parse_bool(const std::string& text) {
    if (text == "true") {
        return true;
    }
    if (text == "false") {
        return false;
    }
    throw std::invalid_argument("expected true or false, got '" + text + "'");
}

const std::vector<KeywordEntry>& keyword_table() {
    static const std::vector<KeywordEntry> table = [] {
        std::vector<KeywordEntry> all;
        add_general_keywords(all);
        add_listener_keywords(all);
        add_mosquitto_compat_keywords(all);
        return all;
    }();
    return table;
}

const KeywordEntry* find_keyword(std::string_view keyword) {
    static const std::map<std::string, const KeywordEntry*, std::less<>> exact = [] {
        std::map<std::string, const KeywordEntry*, std::less<>> names;
        for (const KeywordEntry& entry : keyword_table()) {
            names.emplace(entry.name, &entry);
        }
        return names;
    }();
    if (const auto found = exact.find(keyword); found != exact.end()) {
        return found->second;
    }
    for (const KeywordEntry& entry : keyword_table()) {
        const std::string_view name = entry.name;
        if (name.ends_with('*') && keyword.size() >= name.size() &&
            keyword.starts_with(name.substr(0, name.size() - 1))) {
            return &entry;
        }
    }
    return nullptr;
}

namespace {

// Splits a line into whitespace-separated words; a word that starts with '#' starts a
// comment. A '#' inside a word is kept, as Mosquitto keeps it (only its line-initial '#'
// is a comment), so that a value such as "a/#" reaches its keyword's checks.
std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream stream(line);
    for (std::string word; stream >> word && !word.starts_with('#');) {
        words.push_back(word);
    }
    return words;
}

// Mosquitto's include_dir order: case-sensitive alphabetical, the upper case of a letter
// just before its lower case (A.conf, a.conf, B.conf, b.conf).
bool include_order(const std::string& a, const std::string& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        const auto key = [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return std::pair{std::tolower(u), std::islower(u) ? 1 : 0};
        };
        return key(x) < key(y);
    });
}

std::vector<std::filesystem::path> included_files(const std::string& directory) {
    std::error_code error;
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 5 && name.ends_with(".conf") && !entry.is_directory()) {
            names.push_back(name);
        }
    }
    if (error) {
        throw std::invalid_argument("cannot read directory '" + directory +
                                    "': " + error.message());
    }
    std::sort(names.begin(), names.end(), include_order);
    std::vector<std::filesystem::path> files;
    for (const std::string& name : names) {
        files.push_back(std::filesystem::path(directory) / name);
    }
    return files;
}

std::string read_text(const std::string& path) {
    std::ifstream file(path);
    if (!file) {
        throw ConfigError(path + ": cannot open config file");
    }
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

class Parser {
  public:
    Config config;
    std::vector<std::string> listener_origins;  // "FILE:LINE: " of each listener line

    // `level` 0 is the main file; include_dir is read only there, as in Mosquitto.
    void parse(const std::string& text, const std::string& origin, int level) {
        std::istringstream stream(text);
        std::size_t line_number = 0;
        for (std::string line; std::getline(stream, line);) {
            ++line_number;
            const std::vector<std::string> words = split_words(line);
            if (!words.empty()) {
                line_of(words, origin + ":" + std::to_string(line_number) + ": ", level);
            }
        }
    }

  private:
    void line_of(const std::vector<std::string>& words, const std::string& where, int level) {
        const std::string& keyword = words[0];
        const KeywordEntry* entry = find_keyword(keyword);
        if (entry == nullptr) {
            throw ConfigError(where + "unknown keyword '" + keyword + "'");
        }
        if (entry->status == KeywordStatus::Refused) {
            throw ConfigError(where + "'" + keyword + "' is not supported: " + entry->why);
        }
        if (entry->scope == KeywordScope::Listener && config.listeners.empty()) {
            throw ConfigError(where + "'" + keyword +
                              "' applies to a listener: put it after a 'listener' line");
        }
        const std::vector<std::string> args(words.begin() + 1, words.end());
        if (args.size() < entry->min_args || args.size() > entry->max_args) {
            throw ConfigError(
                where + "'" + keyword + "' takes " +
                (entry->min_args == entry->max_args
                     ? std::to_string(entry->min_args)
                     : std::to_string(entry->min_args) + " or " + std::to_string(entry->max_args)) +
                " value(s), got " + std::to_string(args.size()));
        }
        if (keyword == "listener") {
            listener_origins.push_back(where);
        }
        if (keyword == "include_dir") {
            include(args[0], where, level);
            return;
        }
        const std::size_t warned_before = config.warnings.size();
        try {
            if (entry->apply) {
                entry->apply(config, args);
            }
        } catch (const std::invalid_argument& error) {
            throw ConfigError(where + "bad value for '" + keyword + "': " + error.what());
        }
        if (entry->status == KeywordStatus::Warned && !entry->apply) {
            config.warnings.push_back("'" + keyword + "' has no effect: " + entry->why);
        }
        for (std::size_t i = warned_before; i < config.warnings.size(); ++i) {
            config.warnings[i] = where + config.warnings[i];
        }
    }

    void include(const std::string& directory, const std::string& where, int level) {
        if (level > 0) {
            config.warnings.push_back(where + "include_dir " + directory +
                                      " not read: only the main config file may include (as "
                                      "in Mosquitto)");
            return;
        }
        std::vector<std::filesystem::path> files;
        try {
            files = included_files(directory);
        } catch (const std::invalid_argument& error) {
            throw ConfigError(where + "include_dir: " + error.what());
        }
        for (const std::filesystem::path& file : files) {
            parse(read_text(file.string()), file.string(), level + 1);
        }
    }
};

// A TLS listener needs its certificate and key, or its pre-shared keys, or both;
// verifying clients needs a CA.
void check_listener_tls(const ListenerConfig& listener, const std::string& where) {
    if (!listener.tls) {
        return;
    }
    const net::TlsSettings& tls = *listener.tls;
    const std::string port = std::to_string(listener.port);
    const bool psk = !tls.psk_hint.empty() || !tls.psk_file.empty();
    if (psk && (tls.psk_hint.empty() || tls.psk_file.empty())) {
        throw ConfigError(where + "TLS-PSK listener " + port + " needs both psk_hint and psk_file");
    }
    if (!psk && tls.certfile.empty() && tls.keyfile.empty()) {
        throw ConfigError(where + "TLS listener " + port +
                          " needs certfile and keyfile, or psk_hint and psk_file");
    }
    if (tls.certfile.empty() != tls.keyfile.empty()) {
        throw ConfigError(where + "TLS listener " + port + " needs both certfile and keyfile");
    }
    const bool no_ca = tls.cafile.empty() && tls.capath.empty();
    if (tls.require_certificate && no_ca) {
        throw ConfigError(where + "require_certificate on listener " + port +
                          " needs cafile or capath");
    }
    if (!tls.crlfile.empty() && no_ca) {
        // The list revokes certificates of a CA: without one there is nothing to check.
        throw ConfigError(where + "crlfile on listener " + port + " needs cafile or capath");
    }
    if (tls.use_identity_as_username && tls.use_subject_as_username) {
        // Mosquitto lets use_identity_as_username win; a line without effect is an error.
        throw ConfigError(where +
                          "use_identity_as_username and use_subject_as_username on "
                          "listener " +
                          port + ": choose one (the CN, or the whole subject)");
    }
    if (tls.require_certificate && psk) {
        // A PSK handshake never asks for a certificate, so the requirement would silently
        // not apply to PSK clients.
        throw ConfigError(where + "require_certificate and psk_hint on listener " + port +
                          ": PSK clients present no certificate (use two listeners)");
    }
}

}  // namespace

LogLevel parse_log_level(const std::string& value) {
    static const std::map<std::string, LogLevel, std::less<>> levels = {
        {"error", LogLevel::Error}, {"warning", LogLevel::Warning}, {"notice", LogLevel::Notice},
        {"info", LogLevel::Info},   {"debug", LogLevel::Debug},
    };
    const auto found = levels.find(value);
    if (found == levels.end()) {
        throw std::invalid_argument("expected error, warning, notice, info or debug, got '" +
                                    value + "'");
    }
    return found->second;
}

std::vector<ListenerConfig> Config::effective_listeners() const {
    if (!listeners.empty()) {
        return listeners;
    }
    ListenerConfig loopback;
    loopback.bind_address = "127.0.0.1";
    return {loopback};
}

namespace {

bool is_loopback_address(const std::string& address) {
    return address.starts_with("127.") || address == "::1" || address == "localhost";
}

}  // namespace

SecurityConfig Config::security_for(const ListenerConfig& listener) const {
    SecurityConfig security;
    security.password_file = password_file;
    security.acl_file = acl_file;
    security.allow_zero_length_clientid = allow_zero_length_clientid;
    security.auto_id_prefix = auto_id_prefix;
    if (!per_listener_settings) {
        security.allow_anonymous = effective_allow_anonymous();
        return security;
    }
    security.password_file = listener.password_file.value_or(password_file);
    security.acl_file = listener.acl_file.value_or(acl_file);
    security.allow_anonymous = listener.allow_anonymous.value_or(
        allow_anonymous.value_or(is_loopback_address(listener.bind_address)));
    security.allow_zero_length_clientid =
        listener.allow_zero_length_clientid.value_or(allow_zero_length_clientid);
    security.auto_id_prefix = listener.auto_id_prefix.value_or(auto_id_prefix);
    return security;
}

bool Config::effective_allow_anonymous() const {
    if (allow_anonymous) {
        return *allow_anonymous;
    }
    const std::vector<ListenerConfig> open = effective_listeners();
    return std::all_of(open.begin(), open.end(), [](const ListenerConfig& listener) {
        return is_loopback_address(listener.bind_address);
    });
}

unsigned Config::effective_threads() const {
    if (threads > 0) {
        return threads;
    }
    return std::max(1U, std::thread::hardware_concurrency());
}

Config parse_config(const std::string& text, const std::string& origin) {
    Parser parser;
    parser.parse(text, origin, 0);
    Config& config = parser.config;
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        std::optional<net::TlsSettings>& tls = config.listeners[i].tls;
        if (tls && !tls->psk_hint.empty() && tls->psk_file.empty()) {
            tls->psk_file = config.psk_file;
        }
        check_listener_tls(config.listeners[i], parser.listener_origins[i]);
    }
    if (config.store_max_map_size != 0 && config.store_max_map_size < config.store_map_size) {
        throw ConfigError(
            origin + ": store_max_map_size (" + std::to_string(config.store_max_map_size) +
            ") is smaller than store_map_size (" + std::to_string(config.store_map_size) + ")");
    }
    return std::move(config);
}

Config load_config_file(const std::string& path) {
    return parse_config(read_text(path), path);
}

}  // namespace petrel::broker
