// What the client role of the MQTT endpoint (ClientEndpoint) is told to connect with, and
// what it tells its embedder: the events drained after every input.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "petrel/connection/send_bytes.hpp"
#include "petrel/connection/server_capabilities.hpp"
#include "petrel/protocol/packet.hpp"
#include "petrel/protocol/reason.hpp"

namespace petrel::connection {

// The CONNECT this side sends, and the limits it announces in it.
struct ClientOptions {
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V5;
    std::string client_id;
    bool clean_start = true;
    std::uint32_t session_expiry = 0;  // v5 Session Expiry Interval, seconds
    std::uint16_t keep_alive = 60;     // seconds; 0: none
    std::optional<std::string> username;
    std::optional<std::string> password;
    std::optional<protocol::Will> will;
    // v5: what we accept from the server. Receive Maximum bounds its unacknowledged QoS 1/2
    // PUBLISHes; Maximum Packet Size (0: none) and Topic Alias Maximum (0: no aliases).
    std::uint16_t receive_maximum = 0xFFFF;
    std::uint32_t maximum_packet_size = 0;
    std::uint16_t topic_alias_maximum = 0;
    // No CONNACK within this long after start(): the connection is given up.
    std::chrono::seconds connect_timeout{30};
};

// CONNACK Success, and the server's terms for this connection (3.2.2.3; the spec's
// defaults where the CONNACK is silent, and always for 3.1.1).
struct Connected {
    bool session_present = false;
    ServerCapabilities server;
    std::string assigned_client_id;   // empty: the server assigned none
    std::uint16_t keep_alive = 0;     // in force: the Server Keep Alive when it sent one
    protocol::Properties properties;  // the CONNACK's, as received
};

// CONNACK with a failure; the server closes the connection.
struct ConnectRefused {
    protocol::ReasonCode reason = protocol::ReasonCode::UnspecifiedError;
    std::string why;  // v5 Reason String, if any
};

// A PUBLISH from the server, its topic resolved from a topic alias (and the alias removed).
// QoS 1/2: `receipt` is what the embedder hands to acknowledge() once the message is
// stored or routed; 0 for QoS 0.
struct MessageReceived {
    protocol::Publish publish;
    std::uint64_t receipt = 0;
};

// SUBACK: one reason code (granted QoS, or failure) per subscription, in order.
struct Subscribed {
    std::vector<protocol::Subscription> subscriptions;
    std::vector<protocol::SubackReason> reasons;
    // Never sent: over the server's Maximum Packet Size (each reason is then 0x80).
    bool unsent = false;
};

// UNSUBACK: v5 gives one reason code per filter; 3.1.1 none (`reasons` empty).
struct Unsubscribed {
    std::vector<std::string> filters;
    std::vector<protocol::UnsubackReason> reasons;
    // Never sent: over the server's Maximum Packet Size (each reason is then 0x80).
    bool unsent = false;
};

// A publish the embedder handed in has ended: PUBACK, PUBCOMP, a PUBREC with a failure,
// QoS 0 written after a downgrade, or refused before it was sent (0x95 over the server's
// Maximum Packet Size). The embedder may release its own stored copy. `seq` is the
// session::Delivery::seq it was published with; `packet_id` 0 when it never had one.
struct PublishCompleted {
    protocol::PacketId packet_id = 0;
    std::uint64_t seq = 0;
    protocol::ReasonCode reason = protocol::ReasonCode::Success;
};

// The connection is over; the embedder closes the socket once SendBytes before it are out.
struct Closed {
    enum class Cause : std::uint8_t {
        ProtocolViolation,  // by the server: `reason` is what we told it (v5 DISCONNECT)
        ServerDisconnect,   // v5 DISCONNECT from the server: `reason` is its reason code
        KeepAliveTimeout,   // no PINGRESP within the keep alive
        ConnectTimeout,     // no CONNACK within connect_timeout
        Requested,          // disconnect() was called
        Refused,            // acknowledge() with a failure on 3.1.1, which cannot say no
    };
    Cause cause = Cause::ProtocolViolation;
    protocol::ReasonCode reason = protocol::ReasonCode::Success;
    std::string why;
};

using ClientEvent = std::variant<SendBytes, Connected, ConnectRefused, MessageReceived, Subscribed,
                                 Unsubscribed, PublishCompleted, Closed>;

}  // namespace petrel::connection
