// General keywords with their meaning: Mosquitto's that Petrel implements, and Petrel's
// own. See config_keywords.hpp.
#include <map>

#include "config_keywords.hpp"

namespace petrel::broker {
namespace {

constexpr std::size_t kMinMemoryLimit = std::size_t{1} << 20;

KeywordEntry mosquitto(std::string name, KeywordHandler apply) {
    KeywordEntry entry;
    entry.name = std::move(name);
    entry.apply = std::move(apply);
    return entry;
}

KeywordEntry petrel(std::string name, KeywordHandler apply) {
    KeywordEntry entry = mosquitto(std::move(name), std::move(apply));
    entry.mosquitto = false;
    return entry;
}

template <class Integer, class Field>
KeywordHandler integer(Field Config::*field, Integer min, Integer max) {
    return [field, min, max](Config& c, const KeywordArgs& a) {
        c.*field = parse_integer<Integer>(a[0], min, max);
    };
}

KeywordHandler boolean(bool Config::*field) {
    return [field](Config& c, const KeywordArgs& a) { c.*field = parse_bool(a[0]); };
}

// Mosquitto's max_qos and max_topic_alias belong to the listener above them; Petrel has
// one value for every listener, so a value written after a listener line says so.
void warn_if_listener_scoped(Config& c, const std::string& keyword) {
    if (!c.listeners.empty()) {
        c.warnings.push_back("'" + keyword +
                             "' applies to every listener in Petrel, not only to the listener "
                             "above it");
    }
}

KeywordHandler max_qos(std::string keyword) {
    return [keyword](Config& c, const KeywordArgs& a) {
        c.maximum_qos = parse_integer<std::uint8_t>(a[0], 0, 2);
        warn_if_listener_scoped(c, keyword);
    };
}

void add_security_keywords(std::vector<KeywordEntry>& table) {
    table.push_back(mosquitto("allow_anonymous", [](Config& c, const KeywordArgs& a) {
        (security_scope(c) ? security_scope(c)->allow_anonymous : c.allow_anonymous) =
            parse_bool(a[0]);
    }));
    table.push_back(mosquitto("password_file", [](Config& c, const KeywordArgs& a) {
        if (ListenerConfig* l = security_scope(c)) {
            l->password_file = a[0];
        } else {
            c.password_file = a[0];
        }
    }));
    table.push_back(mosquitto("acl_file", [](Config& c, const KeywordArgs& a) {
        if (ListenerConfig* l = security_scope(c)) {
            l->acl_file = a[0];
        } else {
            c.acl_file = a[0];
        }
    }));
    table.push_back(mosquitto("allow_zero_length_clientid", [](Config& c, const KeywordArgs& a) {
        if (ListenerConfig* l = security_scope(c)) {
            l->allow_zero_length_clientid = parse_bool(a[0]);
        } else {
            c.allow_zero_length_clientid = parse_bool(a[0]);
        }
    }));
    table.push_back(mosquitto("auto_id_prefix", [](Config& c, const KeywordArgs& a) {
        // A client id is at most 65535 bytes; 16 hex digits follow the prefix.
        if (a[0].size() > 65535 - 16) {
            throw std::invalid_argument("prefix too long");
        }
        if (ListenerConfig* l = security_scope(c)) {
            l->auto_id_prefix = a[0];
        } else {
            c.auto_id_prefix = a[0];
        }
    }));
    table.push_back(mosquitto("per_listener_settings", [](Config& c, const KeywordArgs& a) {
        // Whether the security keywords after a listener line are its own must be known
        // before the first of them is read.
        if (!c.listeners.empty()) {
            throw std::invalid_argument("must come before the first 'listener' line");
        }
        c.per_listener_settings = parse_bool(a[0]);
    }));
    table.push_back(mosquitto("clientid_prefixes",
                              [](Config& c, const KeywordArgs& a) { c.clientid_prefixes = a[0]; }));
    table.push_back(mosquitto("psk_file", [](Config& c, const KeywordArgs& a) {
        // Before any listener line it is Mosquitto's general option: the keys of every
        // listener with a psk_hint that names no psk_file of its own.
        if (c.listeners.empty()) {
            c.psk_file = a[0];
            return;
        }
        ListenerConfig& listener = current_listener(c);
        if (!listener.tls) {
            listener.tls.emplace();
        }
        listener.tls->psk_file = a[0];
    }));
}

void add_limit_keywords(std::vector<KeywordEntry>& table) {
    // Below 20 bytes not even a CONNECT fits; the upper bound is the protocol's.
    table.push_back(mosquitto("max_packet_size",
                              integer<std::uint32_t>(&Config::max_packet_size, 20, 268'435'460)));
    table.push_back(mosquitto("max_queued_messages",
                              integer<std::size_t>(&Config::max_queued_messages, 0, 100'000'000)));
    table.push_back(mosquitto("max_inflight_messages", [](Config& c, const KeywordArgs& a) {
        // 0 is Mosquitto's "no maximum": the most packet ids allow.
        const auto value = parse_integer<std::size_t>(a[0], 0, 65535);
        c.max_inflight_messages = value == 0 ? 65535 : value;
    }));
    table.push_back(mosquitto("max_inflight_bytes",
                              integer<std::size_t>(&Config::max_inflight_bytes, 0, kMaxBytes)));
    table.push_back(
        mosquitto("max_keepalive", integer<std::uint16_t>(&Config::max_keepalive, 0, 65535)));
    table.push_back(mosquitto("max_queued_bytes",
                              integer<std::size_t>(&Config::max_queued_bytes, 0, kMaxBytes)));
    // The protocol's largest payload.
    table.push_back(mosquitto("message_size_limit",
                              integer<std::size_t>(&Config::message_size_limit, 0, 268'435'455)));
    table.push_back(mosquitto("max_connections", [](Config& c, const KeywordArgs& a) {
        // -1 as Mosquitto users write "no limit", 0 as in Petrel's other limits.
        const auto value = parse_integer<long long>(a[0], -1, 100'000'000);
        const std::size_t limit = value < 0 ? 0 : static_cast<std::size_t>(value);
        // Mosquitto's scoping: before any listener, the whole broker; after a listener
        // line, that listener.
        (c.listeners.empty() ? c.max_connections : current_listener(c).max_connections) = limit;
    }));
    table.push_back(mosquitto("memory_limit", [](Config& c, const KeywordArgs& a) {
        const auto value = parse_integer<std::size_t>(a[0], 0, kMaxBytes);
        // Bytes: a value below 1 MiB is a unit mistake (MiB meant), and would refuse every
        // connection.
        if (value != 0 && value < kMinMemoryLimit) {
            throw std::invalid_argument("expected 0 (off) or bytes from " +
                                        std::to_string(kMinMemoryLimit) + ", got '" + a[0] + "'");
        }
        c.memory_limit = value;
    }));
    table.push_back(petrel("threads", integer<unsigned>(&Config::threads, 1, 256)));
    table.push_back(
        petrel("max_subscriptions_per_client",
               integer<std::size_t>(&Config::max_subscriptions_per_client, 0, 100'000'000)));
    table.push_back(petrel("max_output_buffer_bytes",
                           integer<std::size_t>(&Config::max_output_buffer_bytes, 0, kMaxBytes)));
    table.push_back(petrel("max_connection_rate",
                           integer<unsigned>(&Config::max_connection_rate, 0, 1'000'000)));
    table.push_back(petrel("max_inbound_message_rate",
                           integer<unsigned>(&Config::max_inbound_message_rate, 0, 10'000'000)));
    // 32768 levels is what the longest topic (65535 bytes) can have.
    table.push_back(
        petrel("max_topic_levels", integer<std::size_t>(&Config::max_topic_levels, 0, 32768)));
    table.push_back(
        petrel("connect_timeout", integer<unsigned>(&Config::connect_timeout_seconds, 1, 3600)));
}

void add_persistence_keywords(std::vector<KeywordEntry>& table) {
    table.push_back(mosquitto("persistence", boolean(&Config::persistence)));
    // Mosquitto's older name for persistence.
    table.push_back(mosquitto("retained_persistence", boolean(&Config::persistence)));
    table.push_back(mosquitto("persistence_location", [](Config& c, const KeywordArgs& a) {
        c.persistence_location = a[0];
    }));
    table.push_back(petrel("persistence_mode", [](Config& c, const KeywordArgs& a) {
        if (a[0] == "sync") {
            c.persistence_mode = PersistenceMode::Sync;
        } else if (a[0] == "batch") {
            c.persistence_mode = PersistenceMode::Batch;
        } else {
            throw std::invalid_argument("expected sync or batch, got '" + a[0] + "'");
        }
    }));
    table.push_back(petrel("persistence_batch_ms",
                           integer<unsigned>(&Config::persistence_batch_ms, 1, 60'000)));
    table.push_back(
        petrel("store_map_size", integer<std::size_t>(&Config::store_map_size, 65'536, kMaxBytes)));
    table.push_back(petrel("store_max_map_size",
                           integer<std::size_t>(&Config::store_max_map_size, 0, kMaxBytes)));
    table.push_back(petrel("queue_memory_window",
                           integer<std::size_t>(&Config::queue_memory_window, 1, 1'000'000)));
}

void add_feature_keywords(std::vector<KeywordEntry>& table) {
    table.push_back(mosquitto("retain_available", boolean(&Config::retain_available)));
    table.push_back(mosquitto("max_qos", max_qos("max_qos")));
    table.push_back(mosquitto("maximum_qos", max_qos("maximum_qos")));  // Mosquitto's alias
    table.push_back(mosquitto("upgrade_outgoing_qos", boolean(&Config::upgrade_outgoing_qos)));
    table.push_back(mosquitto("check_retain_source", boolean(&Config::check_retain_source)));
    table.push_back(mosquitto("user", [](Config& c, const KeywordArgs& a) { c.user = a[0]; }));
    table.push_back(mosquitto("max_topic_alias", [](Config& c, const KeywordArgs& a) {
        c.topic_alias_maximum = parse_integer<std::uint16_t>(a[0], 0, 65535);
        warn_if_listener_scoped(c, "max_topic_alias");
    }));
    table.push_back(petrel(
        "log_level", [](Config& c, const KeywordArgs& a) { c.log_level = parse_log_level(a[0]); }));
    table.push_back(petrel("wildcard_subscription_available",
                           boolean(&Config::wildcard_subscription_available)));
    table.push_back(petrel("subscription_identifier_available",
                           boolean(&Config::subscription_identifier_available)));
    table.push_back(
        petrel("shared_subscription_available", boolean(&Config::shared_subscription_available)));
    table.push_back(petrel("shared_subscription_strategy", [](Config& c, const KeywordArgs& a) {
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
    }));
    table.push_back(
        petrel("receive_maximum", integer<std::uint16_t>(&Config::receive_maximum, 1, 65535)));
    table.push_back(petrel("topic_alias_maximum",
                           integer<std::uint16_t>(&Config::topic_alias_maximum, 0, 65535)));
    table.push_back(
        petrel("outgoing_topic_alias_maximum",
               integer<std::uint16_t>(&Config::outgoing_topic_alias_maximum, 0, 65535)));
    KeywordEntry response = petrel("response_topic_prefix", [](Config& c, const KeywordArgs& a) {
        // Nothing, or "" (as Mosquitto users write an empty value): offer none.
        c.response_topic_prefix = a.empty() || a[0] == "\"\"" ? "" : a[0];
    });
    response.min_args = 0;
    table.push_back(std::move(response));
    KeywordEntry redirect = petrel("server_redirect", [](Config& c, const KeywordArgs& a) {
        ServerRedirect redirect{a[0], false};
        if (a.size() > 1) {
            if (a[1] == "moved") {
                redirect.moved = true;
            } else if (a[1] != "use_another") {
                throw std::invalid_argument("expected use_another or moved, got '" + a[1] + "'");
            }
        }
        c.server_redirect = redirect;
    });
    redirect.max_args = 2;
    table.push_back(std::move(redirect));
    // Read by the parser itself (it opens files); the entry makes it known.
    table.push_back(mosquitto("include_dir", nullptr));
}

}  // namespace

void add_general_keywords(std::vector<KeywordEntry>& table) {
    add_security_keywords(table);
    add_limit_keywords(table);
    add_persistence_keywords(table);
    add_feature_keywords(table);
}

}  // namespace petrel::broker
