// Broker configuration: the values, their defaults, and the parser for the
// Mosquitto-style `keyword value` file.
//
// Parsing is a start-up step, so errors are exceptions (ConfigError) whose message names
// the file and line, e.g. "petrel.conf:12: unknown keyword 'listner'". Every keyword of
// mosquitto.conf(5) is known: implemented, accepted with a warning (Config::warnings, logged
// at start-up), or refused with an error that says what to use instead
// (docs/mosquitto-compatibility.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "petrel/net/tls_context.hpp"

namespace petrel::broker {

struct ListenerConfig {
    std::uint16_t port = 1883;
    std::string bind_address = "0.0.0.0";
    // Set by the listener-scoped TLS keywords (certfile, keyfile …) that follow the
    // `listener` line, as in Mosquitto; unset: plain TCP.
    std::optional<net::TlsSettings> tls;
    // `max_connections` after this `listener` line: open connections on this listener
    // (0: only the global limit applies).
    std::size_t max_connections = 0;
    // Prepended to every topic and filter of the listener's clients and taken off again on
    // the way out, so that clients of different listeners live in separate topic trees
    // ("" : none).
    std::string mount_point;
    // With per_listener_settings: this listener's own authentication and access control;
    // each unset one falls back to the global setting.
    std::optional<bool> allow_anonymous;
    std::optional<std::string> password_file;
    std::optional<std::string> acl_file;
    std::optional<bool> allow_zero_length_clientid;
    std::optional<std::string> auto_id_prefix;
    // The client's user name becomes its client id (Mosquitto's use_username_as_clientid);
    // a client without one is refused.
    bool use_username_as_clientid = false;
};

// The start of the client ids the broker assigns (Mosquitto's is "auto-").
inline constexpr const char* kDefaultAutoIdPrefix = "petrel-";

// Who may connect to a listener and what they may do there.
struct SecurityConfig {
    bool allow_anonymous = false;
    std::string password_file;  // "": no password file
    std::string acl_file;       // "": every client may use every topic
    // An empty client id gets one made up (auto_id_prefix + 16 hex digits); false: refused.
    bool allow_zero_length_clientid = true;
    std::string auto_id_prefix = kDefaultAutoIdPrefix;
};

enum class LogLevel { Error, Warning, Notice, Info, Debug };

// How commits reach the disk; see the durability contract in README.md.
enum class PersistenceMode {
    Sync,   // acknowledge a QoS 1/2 message only once it is committed and fsynced
    Batch,  // commit and fsync at most every persistence_batch_ms; acks may precede the disk
};

// How a shared subscription's group picks the member that gets a message.
enum class SharedStrategy {
    RoundRobin,  // members in turn
    Random,
    HashClient,  // by publisher client id: one publisher's messages stay in order
};

// `server_redirect`: every MQTT 5 CONNECT is answered with Use Another Server (0x9C) or
// Server Moved (0x9D) and this Server Reference; older clients get Server Unavailable.
struct ServerRedirect {
    std::string reference;
    bool moved = false;
};

struct Config {
    std::vector<ListenerConfig> listeners;  // empty: one listener on 127.0.0.1:1883
    // As in Mosquitto: true makes allow_anonymous, password_file and acl_file apply to the
    // `listener` line above them; false (the default): they apply to every listener
    // wherever they are written.
    bool per_listener_settings = false;
    // Unset: anonymous clients are allowed only when every listener is on loopback, so a
    // broker opened to the network does not start open by default.
    std::optional<bool> allow_anonymous;
    std::uint32_t max_packet_size = 0;  // 0: the protocol maximum (268,435,460 bytes)
    unsigned threads = 0;               // 0: one per core
    LogLevel log_level = LogLevel::Info;
    std::size_t max_queued_messages = 1000;
    std::size_t max_inflight_messages = 20;
    std::uint16_t max_keepalive = 0;  // 0: no limit
    unsigned connect_timeout_seconds = 10;
    std::size_t max_queued_bytes = 0;  // per session, topic + payload; 0: no limit

    bool persistence = true;  // false: sessions and retained messages live in memory only
    std::string persistence_location = "./data";
    PersistenceMode persistence_mode = PersistenceMode::Sync;
    unsigned persistence_batch_ms = 50;
    std::size_t store_map_size = std::size_t{64} << 20;  // grows by doubling when full
    std::size_t store_max_map_size = 0;                  // growth limit; 0: none
    // Queued messages per offline persistent session held in memory; the rest are read
    // back from the store as the queue drains.
    std::size_t queue_memory_window = 256;

    // MQTT 5 features a server may switch off; CONNACK announces them (3.2.2.3) and a
    // client that uses one anyway is refused.
    bool retain_available = true;
    std::uint8_t maximum_qos = 2;
    bool wildcard_subscription_available = true;
    bool subscription_identifier_available = true;
    bool shared_subscription_available = true;
    SharedStrategy shared_subscription_strategy = SharedStrategy::RoundRobin;
    // QoS 1/2 PUBLISHes a client may have unacknowledged at the broker (our Receive
    // Maximum); one more is a protocol violation (0x93).
    std::uint16_t receive_maximum = 65535;
    // Topic aliases a client may set up per connection (0: none), and how many the broker
    // sets up towards a client that allows them (0: the broker never assigns one).
    std::uint16_t topic_alias_maximum = 10;
    std::uint16_t outgoing_topic_alias_maximum = 10;
    // Response Information for clients that request it: this prefix plus the client id
    // ("" offers none).
    std::string response_topic_prefix = "response/";
    std::size_t max_subscriptions_per_client = 0;  // 0: no limit
    // Bytes written to a client but not yet taken by its socket; beyond it the client is
    // not reading and is disconnected (v5: 0x97 Quota exceeded). 0: no limit.
    std::size_t max_output_buffer_bytes = std::size_t{64} << 20;
    std::optional<ServerRedirect> server_redirect;

    // ---- limits that protect the broker (connection_admission.hpp) ----
    // Open connections on all listeners together (`max_connections` before any `listener`
    // line; after one it limits that listener). Beyond it a new socket is closed right
    // after accept. 0: no limit.
    std::size_t max_connections = 0;
    // New connections per second from one source address (token bucket, bursts of the
    // same size); beyond it a new socket is closed right after accept. 0: no limit.
    unsigned max_connection_rate = 0;
    // PUBLISH packets per second from one connection (token bucket, bursts of the same
    // size); beyond it the client is disconnected (v5: 0x96 Message rate too high). 0: off.
    unsigned max_inbound_message_rate = 0;
    // Levels of a PUBLISH topic, will topic or SUBSCRIBE filter. A subscription costs a trie
    // node per level, so a 64 KiB filter of one-character levels would cost ~32,000 of
    // them. 0: no limit.
    std::size_t max_topic_levels = 128;
    // Resident memory (anonymous pages) beyond which new connections are refused; unset:
    // 3/4 of the physical memory or of the cgroup's limit, whichever is smaller. 0: off.
    std::optional<std::size_t> memory_limit;
    // Users for SCRAM-SHA-256 enhanced authentication ("" : no password file).
    std::string password_file;
    // Mosquitto-style access control list ("": every client may use every topic).
    std::string acl_file;
    // psk_file before any listener line: the keys of PSK listeners without their own.
    std::string psk_file;
    // Global values of the per_listener_settings keywords (see SecurityConfig).
    bool allow_zero_length_clientid = true;
    std::string auto_id_prefix = kDefaultAutoIdPrefix;

    // ---- Mosquitto's options (docs/mosquitto-compatibility.md) ----
    // PUBLISH (and will) payloads larger than this are refused: v5 QoS 1/2 get 0x83
    // Implementation specific error (0x95 is no PUBACK/PUBREC reason code, 3.4.2.1), 3.1.1
    // QoS 1/2 are acknowledged and dropped, QoS 0 dropped; a will: CONNACK 0x95. 0: no limit.
    std::size_t message_size_limit = 0;
    // Outgoing QoS 1/2 bytes (topic + payload) in flight per client: no new flight starts
    // while this many are unacknowledged (one larger message may fly alone). 0: no limit.
    std::size_t max_inflight_bytes = 0;
    // Deliver at the subscription's QoS even when the message was published lower
    // (non-standard).
    bool upgrade_outgoing_qos = false;
    // Before a retained message is delivered on subscribe, check that its publisher may
    // still publish to its topic (by the ACL of the listener it came through); a
    // publisher that lost access since no longer speaks through it. Mosquitto's default.
    bool check_retain_source = true;
    // Only client ids that start with this may connect ("": any).
    std::string clientid_prefixes;
    // Mosquitto's `user`: started as root, Petrel switches to this user once its listeners,
    // store and key files are open (unset or "root": it stays who it was started as).
    std::optional<std::string> user;
    // Start-up warnings, each "FILE:LINE: ..." (keywords accepted without their Mosquitto
    // meaning); the broker logs them.
    std::vector<std::string> warnings;

    // The listeners to open: the configured ones, or the loopback default.
    std::vector<ListenerConfig> effective_listeners() const;
    bool effective_allow_anonymous() const;
    // The settings that apply to `listener`: its own with per_listener_settings, the
    // global ones otherwise. Unset, anonymous clients are allowed only on loopback: on
    // this listener with per_listener_settings, on every listener without.
    SecurityConfig security_for(const ListenerConfig& listener) const;
    unsigned effective_threads() const;
};

class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Reads a config file. Throws ConfigError naming FILE:LINE on the first problem.
Config load_config_file(const std::string& path);
// Parses config text; `origin` names the source in error messages.
Config parse_config(const std::string& text, const std::string& origin);

LogLevel parse_log_level(const std::string& value);  // throws std::invalid_argument

}  // namespace petrel::broker
