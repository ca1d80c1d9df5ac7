// The Mosquitto 2.0 keywords Petrel does not implement: accepted with a start-up warning
// when they mean nothing for Petrel (tuning and logging knobs of Mosquitto's own design),
// refused with an error that names what to use instead when ignoring them would change
// what the broker does for its users (plugins, bridges, WebSocket, the deprecated default
// listener). None is ignored silently; docs/mosquitto-compatibility.md lists them all.
#include <limits>

#include "config_keywords.hpp"

namespace petrel::broker {
namespace {

constexpr std::size_t kAnyCount = std::numeric_limits<std::size_t>::max();

KeywordEntry warned(std::string name, std::string why, KeywordHandler apply = nullptr) {
    KeywordEntry entry;
    entry.name = std::move(name);
    entry.status = KeywordStatus::Warned;
    entry.why = std::move(why);
    entry.apply = std::move(apply);
    if (!entry.apply) {
        entry.min_args = 0;  // the value is not read: whatever Mosquitto accepts
        entry.max_args = kAnyCount;
    }
    return entry;
}

KeywordEntry refused(std::string name, std::string why) {
    KeywordEntry entry;
    entry.name = std::move(name);
    entry.status = KeywordStatus::Refused;
    entry.why = std::move(why);
    entry.min_args = 0;
    entry.max_args = kAnyCount;
    return entry;
}

// A boolean whose one value is what Petrel does anyway: only the other one is warned
// about (with the entry's `why`).
KeywordEntry warned_unless(std::string name, bool petrel_behaviour, std::string why) {
    KeywordEntry entry = warned(std::move(name), why, nullptr);
    entry.min_args = 1;
    entry.max_args = 1;
    entry.apply = [petrel_behaviour,
                   why = entry.name + " " + (petrel_behaviour ? "false" : "true") + ": " + why](
                      Config& c, const KeywordArgs& a) {
        if (parse_bool(a[0]) != petrel_behaviour) {
            c.warnings.push_back(why);
        }
    };
    return entry;
}

const char* const kBridgeKeywords[] = {
    "address",
    "addresses",
    "bridge_alpn",
    "bridge_attempt_unsubscribe",
    "bridge_bind_address",
    "bridge_cafile",
    "bridge_capath",
    "bridge_certfile",
    "bridge_identity",
    "bridge_insecure",
    "bridge_keyfile",
    "bridge_max_packet_size",
    "bridge_outgoing_retain",
    "bridge_protocol_version",
    "bridge_psk",
    "bridge_require_ocsp",
    "bridge_tls_version",
    "cleansession",
    "clientid",
    "connection",
    "idle_timeout",
    "keepalive_interval",
    "local_cleansession",
    "local_clientid",
    "local_password",
    "local_username",
    "notification_topic",
    "notifications",
    "notifications_local_only",
    "password",
    "remote_clientid",
    "remote_password",
    "remote_username",
    "restart_timeout",
    "round_robin",
    "start_type",
    "threshold",
    "topic",
    "try_private",
    "username",
};

void add_warned(std::vector<KeywordEntry>& table) {
    const std::string no_periodic_save =
        "Petrel writes every change to its store as it happens (persistence_mode sync, or "
        "batch every persistence_batch_ms); there is no periodic save to tune";
    table.push_back(warned("autosave_interval", no_periodic_save));
    table.push_back(warned("autosave_on_changes", no_periodic_save));
    table.push_back(
        warned("persistence_file",
               "Petrel keeps its store as an LMDB environment in persistence_location, not as one "
               "file; Mosquitto's mosquitto.db is not read (sessions and retained messages start "
               "empty)"));
    table.push_back(warned("persistent_client_expiration",
                           "Petrel keeps an MQTT 3.1/3.1.1 persistent session until its client "
                           "cleans it; MQTT 5 sessions end with their Session Expiry Interval"));
    table.push_back(warned_unless("queue_qos0_messages", false,
                                  "Petrel does not queue QoS 0 messages for offline sessions (as "
                                  "MQTT says): they are dropped and counted"));
    table.push_back(warned_unless(
        "allow_duplicate_messages", false,
        "Petrel sends a message once per session even when several subscriptions match it"));
    table.push_back(
        warned_unless("set_tcp_nodelay", true, "Petrel always sets TCP_NODELAY on client sockets"));
    table.push_back(warned("retry_interval",
                           "Mosquitto 2.0 no longer has it either: messages in flight are resent "
                           "when their client reconnects"));
    table.push_back(warned("sys_interval", "Petrel does not publish $SYS topics yet"));
    table.push_back(warned("connection_messages",
                           "Petrel always logs connects and disconnects at info level; choose "
                           "what is logged with log_level"));
    const std::string stderr_only =
        "Petrel logs to stderr only (the journal under systemd); redirect it to keep a file";
    table.push_back(warned("log_dest", stderr_only));
    table.push_back(warned("log_facility", stderr_only));
    table.push_back(warned("log_timestamp", "Petrel's log lines always start with the time"));
    table.push_back(
        warned("log_timestamp_format", "Petrel's log lines always start with an ISO 8601 time"));
    table.push_back(warned("log_type",
                           "choose what Petrel logs with log_level (error, warning, notice, "
                           "info or debug)"));
    table.push_back(warned("pid_file", "Petrel writes no pid file; under systemd use Type=simple"));
    table.push_back(warned(
        "dhparamfile",
        "Petrel loads no DH parameters: TLS key exchange is ECDHE, DHE cipher suites are off"));
    KeywordEntry socket_domain =
        warned("socket_domain",
               "Petrel listens on the listener line's address as written: 0.0.0.0 for IPv4 "
               "only, :: or an IPv6 address for IPv6");
    socket_domain.scope = KeywordScope::Listener;
    table.push_back(std::move(socket_domain));
}

void add_refused(std::vector<KeywordEntry>& table) {
    const std::string plugins = "plugins are not supported; use password_file and acl_file";
    for (const char* name : {"auth_plugin", "plugin", "auth_opt_*", "plugin_opt_*",
                             "auth_plugin_deny_special_chars"}) {
        table.push_back(refused(name, plugins));
    }
    for (const char* name : kBridgeKeywords) {
        table.push_back(refused(name,
                                "it is a bridge option, and bridges are not supported yet; "
                                "remove the bridge section (from its 'connection' line on)"));
    }
    const std::string websocket =
        "WebSocket is not supported yet; clients must use MQTT over TCP or TLS";
    for (const char* name : {"http_dir", "websockets_log_level", "websockets_headers_size"}) {
        table.push_back(refused(name, websocket));
    }
    table.push_back(refused("port",
                            "deprecated in Mosquitto and not supported: write 'listener PORT' "
                            "(and put the listener's options after it)"));
    table.push_back(refused("bind_address",
                            "deprecated in Mosquitto and not supported: write 'listener PORT "
                            "ADDRESS'"));
    table.push_back(refused("bind_interface",
                            "not supported: give the interface's address on the listener line "
                            "('listener PORT ADDRESS')"));
    const std::string engines = "OpenSSL engines are not supported: give keyfile a PEM key";
    table.push_back(refused("tls_engine", engines));
    table.push_back(refused("tls_engine_kpass_sha1", engines));
}

}  // namespace

void add_mosquitto_compat_keywords(std::vector<KeywordEntry>& table) {
    add_warned(table);
    add_refused(table);
}

}  // namespace petrel::broker
