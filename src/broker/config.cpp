#include "petrel/broker/config.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

namespace petrel::broker {
namespace {

// Splits a line into whitespace-separated words; '#' starts a comment.
std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream stream(line.substr(0, line.find('#')));
    for (std::string word; stream >> word;) {
        words.push_back(word);
    }
    return words;
}

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

bool parse_bool(const std::string& text) {
    if (text == "true") {
        return true;
    }
    if (text == "false") {
        return false;
    }
    throw std::invalid_argument("expected true or false, got '" + text + "'");
}

// Sizes in bytes up to 1 TiB: a typo with three extra zeros is an error, not a map that
// reserves the whole address space.
constexpr std::size_t kMaxBytes = std::size_t{1} << 40;
constexpr std::size_t kMinMemoryLimit = std::size_t{1} << 20;

using Setter = std::function<void(Config&, const std::vector<std::string>& args)>;

// Keyword → (number of arguments allowed, setter). Listener takes one or two.
struct Keyword {
    std::size_t min_args;
    std::size_t max_args;
    Setter apply;
};

// Listener-scoped TLS keywords set the TLS settings of the last `listener` line; the
// parser makes sure there is one.
using TlsSetter = std::function<void(net::TlsSettings&, const std::string& value)>;

Keyword tls_keyword(TlsSetter set) {
    return {1, 1, [set = std::move(set)](Config& c, const auto& a) {
                ListenerConfig& listener = c.listeners.back();
                if (!listener.tls) {
                    listener.tls.emplace();
                }
                set(*listener.tls, a[0]);
            }};
}

const std::map<std::string, Keyword, std::less<>>& listener_keywords() {
    static const std::map<std::string, Keyword, std::less<>> table = {
        {"certfile", tls_keyword([](auto& t, const auto& v) { t.certfile = v; })},
        {"keyfile", tls_keyword([](auto& t, const auto& v) { t.keyfile = v; })},
        {"cafile", tls_keyword([](auto& t, const auto& v) { t.cafile = v; })},
        {"capath", tls_keyword([](auto& t, const auto& v) { t.capath = v; })},
        {"ciphers", tls_keyword([](auto& t, const auto& v) { t.ciphers = v; })},
        // Mosquitto's name, and OpenSSL's.
        {"ciphers_tls1.3", tls_keyword([](auto& t, const auto& v) { t.ciphersuites = v; })},
        {"ciphersuites", tls_keyword([](auto& t, const auto& v) { t.ciphersuites = v; })},
        {"tls_version", tls_keyword([](auto& t, const auto& v) {
             if (v == "tlsv1.2") {
                 t.min_version = net::TlsVersion::Tls12;
             } else if (v == "tlsv1.3") {
                 t.min_version = net::TlsVersion::Tls13;
             } else {
                 throw std::invalid_argument("expected tlsv1.2 or tlsv1.3, got '" + v + "'");
             }
         })},
        {"require_certificate",
         tls_keyword([](auto& t, const auto& v) { t.require_certificate = parse_bool(v); })},
        {"use_identity_as_username",
         tls_keyword([](auto& t, const auto& v) { t.use_identity_as_username = parse_bool(v); })},
        {"use_subject_as_username",
         tls_keyword([](auto& t, const auto& v) { t.use_subject_as_username = parse_bool(v); })},
        {"crlfile", tls_keyword([](auto& t, const auto& v) { t.crlfile = v; })},
        {"mount_point",
         {1, 1,
          [](Config& c, const auto& a) {
              if (a[0].find_first_of("+#") != std::string::npos) {
                  throw std::invalid_argument("a mount point may not hold '+' or '#', got '" +
                                              a[0] + "'");
              }
              c.listeners.back().mount_point = a[0];
          }}},
        {"protocol",
         {1, 1,
          [](Config&, const auto& a) {
              // Mosquitto's other value, websockets, is outside Petrel's scope: failing start-up
              // beats a listener that silently speaks the wrong protocol.
              if (a[0] != "mqtt") {
                  throw std::invalid_argument("only 'mqtt' is supported, got '" + a[0] + "'");
              }
          }}},
        // TLS-PSK, as in Mosquitto: the hint switches it on for the listener.
        {"psk_hint", tls_keyword([](auto& t, const auto& v) { t.psk_hint = v; })},
    };
    return table;
}

// allow_anonymous, password_file and acl_file: the last listener's own with
// per_listener_settings once a listener is declared (`listener` is passed), global
// otherwise.
using SecuritySetter =
    std::function<void(Config&, ListenerConfig* listener, const std::string& value)>;

Keyword security_keyword(SecuritySetter set) {
    return {1, 1, [set = std::move(set)](Config& c, const auto& a) {
                const bool own = c.per_listener_settings && !c.listeners.empty();
                set(c, own ? &c.listeners.back() : nullptr, a[0]);
            }};
}

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
    if (tls.require_certificate && tls.cafile.empty() && tls.capath.empty()) {
        throw ConfigError(where + "require_certificate on listener " + port +
                          " needs cafile or capath");
    }
    if (tls.require_certificate && psk) {
        // A PSK handshake never asks for a certificate, so the requirement would silently
        // not apply to PSK clients.
        throw ConfigError(where + "require_certificate and psk_hint on listener " + port +
                          ": PSK clients present no certificate (use two listeners)");
    }
}

const std::map<std::string, Keyword, std::less<>>& keywords() {
    static const std::map<std::string, Keyword, std::less<>> table = {
        {"listener",
         {1, 2,
          [](Config& c, const auto& a) {
              ListenerConfig listener;
              listener.port = parse_integer<std::uint16_t>(a[0], 0, 65535);
              if (a.size() > 1) {
                  listener.bind_address = a[1];
              }
              c.listeners.push_back(listener);
          }}},
        {"allow_anonymous", security_keyword([](Config& c, ListenerConfig* l, const auto& v) {
             if (l != nullptr) {
                 l->allow_anonymous = parse_bool(v);
             } else {
                 c.allow_anonymous = parse_bool(v);
             }
         })},
        {"per_listener_settings",
         {1, 1,
          [](Config& c, const auto& a) {
              // Whether the security keywords after a listener line are its own must be
              // known before the first of them is read.
              if (!c.listeners.empty()) {
                  throw std::invalid_argument("must come before the first 'listener' line");
              }
              c.per_listener_settings = parse_bool(a[0]);
          }}},
        {"max_packet_size",
         {1, 1,
          [](Config& c, const auto& a) {
              // Below 20 bytes not even a CONNECT fits; the upper bound is the protocol's.
              c.max_packet_size = parse_integer<std::uint32_t>(a[0], 20, 268'435'460);
          }}},
        {"threads",
         {1, 1,
          [](Config& c, const auto& a) { c.threads = parse_integer<unsigned>(a[0], 1, 256); }}},
        {"log_level",
         {1, 1, [](Config& c, const auto& a) { c.log_level = parse_log_level(a[0]); }}},
        {"max_queued_messages",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_queued_messages = parse_integer<std::size_t>(a[0], 0, 100'000'000);
          }}},
        {"max_inflight_messages",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_inflight_messages = parse_integer<std::size_t>(a[0], 1, 65535);
          }}},
        {"max_keepalive",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_keepalive = parse_integer<std::uint16_t>(a[0], 0, 65535);
          }}},
        {"max_queued_bytes",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_queued_bytes = parse_integer<std::size_t>(a[0], 0, kMaxBytes);
          }}},
        {"persistence", {1, 1, [](Config& c, const auto& a) { c.persistence = parse_bool(a[0]); }}},
        {"persistence_location",
         {1, 1, [](Config& c, const auto& a) { c.persistence_location = a[0]; }}},
        {"persistence_mode",
         {1, 1,
          [](Config& c, const auto& a) {
              if (a[0] == "sync") {
                  c.persistence_mode = PersistenceMode::Sync;
              } else if (a[0] == "batch") {
                  c.persistence_mode = PersistenceMode::Batch;
              } else {
                  throw std::invalid_argument("expected sync or batch, got '" + a[0] + "'");
              }
          }}},
        {"persistence_batch_ms",
         {1, 1,
          [](Config& c, const auto& a) {
              c.persistence_batch_ms = parse_integer<unsigned>(a[0], 1, 60'000);
          }}},
        {"store_map_size",
         {1, 1,
          [](Config& c, const auto& a) {
              c.store_map_size = parse_integer<std::size_t>(a[0], 65'536, kMaxBytes);
          }}},
        {"store_max_map_size",
         {1, 1,
          [](Config& c, const auto& a) {
              c.store_max_map_size = parse_integer<std::size_t>(a[0], 0, kMaxBytes);
          }}},
        {"queue_memory_window",
         {1, 1,
          [](Config& c, const auto& a) {
              c.queue_memory_window = parse_integer<std::size_t>(a[0], 1, 1'000'000);
          }}},
        {"retain_available",
         {1, 1, [](Config& c, const auto& a) { c.retain_available = parse_bool(a[0]); }}},
        {"max_qos",
         {1, 1,
          [](Config& c, const auto& a) {
              c.maximum_qos = parse_integer<std::uint8_t>(a[0], 0, 2);
          }}},
        {"wildcard_subscription_available",
         {1, 1,
          [](Config& c, const auto& a) { c.wildcard_subscription_available = parse_bool(a[0]); }}},
        {"subscription_identifier_available",
         {1, 1,
          [](Config& c, const auto& a) {
              c.subscription_identifier_available = parse_bool(a[0]);
          }}},
        {"shared_subscription_available",
         {1, 1,
          [](Config& c, const auto& a) { c.shared_subscription_available = parse_bool(a[0]); }}},
        {"shared_subscription_strategy",
         {1, 1,
          [](Config& c, const auto& a) {
              static const std::map<std::string, SharedStrategy, std::less<>> strategies = {
                  {"round_robin", SharedStrategy::RoundRobin},
                  {"random", SharedStrategy::Random},
                  {"hash_client", SharedStrategy::HashClient},
              };
              const auto found = strategies.find(a[0]);
              if (found == strategies.end()) {
                  throw std::invalid_argument("expected round_robin, random or hash_client, got '" +
                                              a[0] + "'");
              }
              c.shared_subscription_strategy = found->second;
          }}},
        {"receive_maximum",
         {1, 1,
          [](Config& c, const auto& a) {
              c.receive_maximum = parse_integer<std::uint16_t>(a[0], 1, 65535);
          }}},
        {"topic_alias_maximum",
         {1, 1,
          [](Config& c, const auto& a) {
              c.topic_alias_maximum = parse_integer<std::uint16_t>(a[0], 0, 65535);
          }}},
        {"outgoing_topic_alias_maximum",
         {1, 1,
          [](Config& c, const auto& a) {
              c.outgoing_topic_alias_maximum = parse_integer<std::uint16_t>(a[0], 0, 65535);
          }}},
        {"response_topic_prefix",
         {0, 1,
          [](Config& c, const auto& a) {
              // Nothing, or "" (as Mosquitto users write an empty value): offer none.
              c.response_topic_prefix = a.empty() || a[0] == "\"\"" ? "" : a[0];
          }}},
        {"max_subscriptions_per_client",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_subscriptions_per_client = parse_integer<std::size_t>(a[0], 0, 100'000'000);
          }}},
        {"max_output_buffer_bytes",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_output_buffer_bytes = parse_integer<std::size_t>(a[0], 0, kMaxBytes);
          }}},
        {"server_redirect",
         {1, 2,
          [](Config& c, const auto& a) {
              ServerRedirect redirect{a[0], false};
              if (a.size() > 1) {
                  if (a[1] == "moved") {
                      redirect.moved = true;
                  } else if (a[1] != "use_another") {
                      throw std::invalid_argument("expected use_another or moved, got '" + a[1] +
                                                  "'");
                  }
              }
              c.server_redirect = redirect;
          }}},
        {"psk_file",
         {1, 1,
          [](Config& c, const auto& a) {
              // Before any listener line it is Mosquitto's general option: the keys of
              // every listener with a psk_hint that names no psk_file of its own.
              if (c.listeners.empty()) {
                  c.psk_file = a[0];
                  return;
              }
              ListenerConfig& listener = c.listeners.back();
              if (!listener.tls) {
                  listener.tls.emplace();
              }
              listener.tls->psk_file = a[0];
          }}},
        {"password_file", security_keyword([](Config& c, ListenerConfig* l, const auto& v) {
             if (l != nullptr) {
                 l->password_file = v;
             } else {
                 c.password_file = v;
             }
         })},
        {"acl_file", security_keyword([](Config& c, ListenerConfig* l, const auto& v) {
             if (l != nullptr) {
                 l->acl_file = v;
             } else {
                 c.acl_file = v;
             }
         })},
        {"max_connections",
         {1, 1,
          [](Config& c, const auto& a) {
              // -1 as Mosquitto users write "no limit", 0 as in Petrel's other limits.
              const auto value = parse_integer<long long>(a[0], -1, 100'000'000);
              const std::size_t limit = value < 0 ? 0 : static_cast<std::size_t>(value);
              // Mosquitto's scoping: before any listener, the whole broker; after a
              // listener line, that listener.
              if (c.listeners.empty()) {
                  c.max_connections = limit;
              } else {
                  c.listeners.back().max_connections = limit;
              }
          }}},
        {"max_connection_rate",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_connection_rate = parse_integer<unsigned>(a[0], 0, 1'000'000);
          }}},
        {"max_inbound_message_rate",
         {1, 1,
          [](Config& c, const auto& a) {
              c.max_inbound_message_rate = parse_integer<unsigned>(a[0], 0, 10'000'000);
          }}},
        {"max_topic_levels",
         {1, 1,
          [](Config& c, const auto& a) {
              // 32768 levels is what the longest topic (65535 bytes) can have.
              c.max_topic_levels = parse_integer<std::size_t>(a[0], 0, 32768);
          }}},
        {"memory_limit",
         {1, 1,
          [](Config& c, const auto& a) {
              const auto value = parse_integer<std::size_t>(a[0], 0, kMaxBytes);
              // Bytes: a value below 1 MiB is a unit mistake (MiB meant), and would refuse
              // every connection.
              if (value != 0 && value < kMinMemoryLimit) {
                  throw std::invalid_argument("expected 0 (off) or bytes from " +
                                              std::to_string(kMinMemoryLimit) + ", got '" + a[0] +
                                              "'");
              }
              c.memory_limit = value;
          }}},
        {"connect_timeout",
         {1, 1,
          [](Config& c, const auto& a) {
              c.connect_timeout_seconds = parse_integer<unsigned>(a[0], 1, 3600);
          }}},
    };
    return table;
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
    if (!per_listener_settings) {
        security.allow_anonymous = effective_allow_anonymous();
        return security;
    }
    security.password_file = listener.password_file.value_or(password_file);
    security.acl_file = listener.acl_file.value_or(acl_file);
    security.allow_anonymous = listener.allow_anonymous.value_or(
        allow_anonymous.value_or(is_loopback_address(listener.bind_address)));
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
    Config config;
    std::istringstream stream(text);
    std::size_t line_number = 0;
    std::vector<std::string> listener_origins;  // "FILE:LINE: " of each listener line
    for (std::string line; std::getline(stream, line);) {
        ++line_number;
        const std::vector<std::string> words = split_words(line);
        if (words.empty()) {
            continue;
        }
        const std::string where = origin + ":" + std::to_string(line_number) + ": ";
        auto found = keywords().find(words[0]);
        if (found == keywords().end()) {
            found = listener_keywords().find(words[0]);
            if (found == listener_keywords().end()) {
                throw ConfigError(where + "unknown keyword '" + words[0] + "'");
            }
            if (config.listeners.empty()) {
                throw ConfigError(where + "'" + words[0] +
                                  "' applies to a listener: put it after a 'listener' line");
            }
        }
        if (words[0] == "listener") {
            listener_origins.push_back(where);
        }
        const Keyword& keyword = found->second;
        const std::vector<std::string> args(words.begin() + 1, words.end());
        if (args.size() < keyword.min_args || args.size() > keyword.max_args) {
            throw ConfigError(where + "'" + words[0] + "' takes " +
                              (keyword.min_args == keyword.max_args
                                   ? std::to_string(keyword.min_args)
                                   : std::to_string(keyword.min_args) + " or " +
                                         std::to_string(keyword.max_args)) +
                              " value(s), got " + std::to_string(args.size()));
        }
        try {
            keyword.apply(config, args);
        } catch (const std::invalid_argument& error) {
            throw ConfigError(where + "bad value for '" + words[0] + "': " + error.what());
        }
    }
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        std::optional<net::TlsSettings>& tls = config.listeners[i].tls;
        if (tls && !tls->psk_hint.empty() && tls->psk_file.empty()) {
            tls->psk_file = config.psk_file;
        }
        check_listener_tls(config.listeners[i], listener_origins[i]);
    }
    if (config.store_max_map_size != 0 && config.store_max_map_size < config.store_map_size) {
        throw ConfigError(
            origin + ": store_max_map_size (" + std::to_string(config.store_max_map_size) +
            ") is smaller than store_map_size (" + std::to_string(config.store_map_size) + ")");
    }
    return config;
}

Config load_config_file(const std::string& path) {
    std::ifstream file(path);
    if (!file) {
        throw ConfigError(path + ": cannot open config file");
    }
    std::ostringstream text;
    text << file.rdbuf();
    return parse_config(text.str(), path);
}

}  // namespace petrel::broker
