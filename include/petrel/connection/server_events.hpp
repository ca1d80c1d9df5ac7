// What the server role of the MQTT endpoint (ServerEndpoint) is configured with, what its
// embedder tells it when a CONNECT is accepted, and the events it hands back after every
// input.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "petrel/connection/send_bytes.hpp"
#include "petrel/connection/server_capabilities.hpp"
#include "petrel/protocol/packet.hpp"
#include "petrel/protocol/reason.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::connection {

// The server's terms, the same for every connection of a listener.
struct ServerSettings {
    // Announced in CONNACK and held against the client: its maximum_packet_size is the
    // largest packet read (0: the protocol's), topic_alias_maximum the inbound aliases,
    // receive_maximum the inbound window (v5), maximum_qos and retain_available the form
    // of what it may publish.
    ServerCapabilities capabilities;
    // Aliases the server uses towards a client at most (the client's own maximum bounds it
    // further); 0: none.
    std::uint16_t outgoing_topic_alias_maximum = 0;
    // The longest keep alive granted (0: whatever the client asks).
    std::uint16_t max_keepalive = 0;
    // No CONNECT (or no end to its authentication) within this long: closed.
    std::chrono::seconds connect_timeout{10};
    // PUBLISH packets per second a client may send (0: no limit), in bursts of as many.
    unsigned max_inbound_message_rate = 0;
};

// What the embedder adds to an accepted CONNECT's CONNACK.
struct ConnectAccepted {
    bool session_present = false;
    // v5 Assigned Client Identifier: the id the server chose for an empty one [MQTT-3.2.2-16].
    std::string assigned_client_id;
    // v5 Response Information, sent only when the CONNECT asked for it [MQTT-3.1.2-28];
    // empty: none.
    std::string response_information;
    // Enhanced authentication that succeeded: its method and final data (empty: none).
    std::string authentication_method;
    std::string authentication_data;
};

// A CONNECT that decoded and passed the protocol's first-packet rules. The embedder
// decides (login, client id, will) and answers with accept(), refuse() or an AUTH
// exchange; nothing more is read until then.
struct ConnectReceived {
    protocol::Connect connect;
};

// An AUTH that continues the connection's exchange (at CONNECT, or re-authentication),
// with the connection's method. `reauthenticate`: 0x19, a new exchange on a live
// connection; otherwise 0x18 continuing the one in progress.
struct AuthReceived {
    std::string data;  // Authentication Data, empty when none
    bool reauthenticate = false;
    bool connecting = false;  // during CONNECT (no CONNACK yet)
};

// A PUBLISH from a connected client, its topic resolved from any Topic Alias, that broke
// none of the protocol's rules (alias, Subscription Identifier, form under the server's
// capabilities, Receive Maximum, the PUBLISH rate). QoS 1/2 are answered through
// acknowledge_publish() (or refuse_publish()) once the embedder has stored or dropped it.
struct PublishReceived {
    protocol::Publish publish;
};

// The client acknowledged a delivery. `completed`: the delivery is over (PUBACK, PUBCOMP,
// or a v5 PUBREC with a failure reason); otherwise a PUBREC moved it to awaiting PUBCOMP
// and `next` begins with its PUBREL. `next`: what the session's outbound flow now sends.
struct DeliveryAcknowledged {
    protocol::PacketId packet_id = 0;
    bool completed = true;
    std::vector<session::OutboundPacket> next;
};

// A PUBREL from the client for an incoming QoS 2 message: `known` when its id was awaiting
// release (it is released now). The embedder answers with complete_release().
struct ReleaseReceived {
    protocol::PacketId packet_id = 0;
    bool known = false;
};

// An acknowledgement for a packet id with nothing in flight: ignored (PUBREC with success
// was answered with PUBREL 0x92). Only the log hears of it.
struct AcknowledgementIgnored {
    protocol::PacketType type = protocol::PacketType::Puback;
    protocol::PacketId packet_id = 0;
};

// A SUBSCRIBE that broke none of the protocol's rules; answered with answer_subscribe().
struct SubscribeReceived {
    protocol::Subscribe subscribe;
};

// An UNSUBSCRIBE; answered with send(Unsuback).
struct UnsubscribeReceived {
    protocol::Unsubscribe unsubscribe;
};

// The connection is over; the embedder closes the socket once the SendBytes before it are
// out, and (when `publish_will` and the client had connected) publishes the will.
struct ConnectionEnded {
    enum class Cause : std::uint8_t {
        NotConnectFirst,    // the first packet was not a CONNECT: nothing was sent
        ConnectRefused,     // a CONNACK with `reason` was sent
        ProtocolViolation,  // v5 got DISCONNECT `reason`
        ConnectTimeout,     // no CONNECT (or no end to its AUTH exchange) in time
        KeepAliveTimeout,   // nothing for 1.5 times the keep alive; v5 got DISCONNECT 0x8D
        RateExceeded,       // PUBLISH beyond max_inbound_message_rate; v5 got DISCONNECT 0x96
        OverClientLimit,    // a packet over the client's Maximum Packet Size was due
        ClientDisconnect,   // the client's DISCONNECT, `reason` its reason code
        ServerDisconnect,   // disconnect() was called: `reason` as sent to a v5 client
    };
    Cause cause = Cause::ProtocolViolation;
    bool publish_will = false;
    protocol::ReasonCode reason = protocol::ReasonCode::Success;
    // For the log: what happened, e.g. "invalid topic name" or "sent PUBLISH before CONNECT".
    std::string why;
};

using ServerEvent = std::variant<SendBytes, ConnectReceived, AuthReceived, PublishReceived,
                                 DeliveryAcknowledged, ReleaseReceived, AcknowledgementIgnored,
                                 SubscribeReceived, UnsubscribeReceived, ConnectionEnded>;

}  // namespace petrel::connection
