// One client's MQTT session: the state that outlives a network connection.
//
// FlashMQ keeps the Session apart from the Client (the connection); so do we. A Session
// holds what the spec says a session is (3.1.2.4 / 4.1): subscriptions, QoS 1/2 messages
// in flight both ways, queued messages, the will and the expiry. It does no I/O and has
// no clock of its own: times are passed in. Every field is plain data so the store can
// save and restore a session without reshaping it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "petrel/protocol/packet.hpp"
#include "petrel/session/inbound_qos2.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::session {

using Clock = std::chrono::steady_clock;

// Session Expiry Interval value meaning "never expires" (3.1.2.11.2).
inline constexpr std::uint32_t kSessionNeverExpires = 0xFFFFFFFF;

struct SubscriptionRecord {
    protocol::SubscribeOptions options;
    std::optional<std::uint32_t> subscription_id;  // v5 Subscription Identifier
};

class Session {
  public:
    Session(std::string client_id, OutboundFlow::Limits limits)
        : client_id_(std::move(client_id)), outbound_(limits) {}

    const std::string& client_id() const { return client_id_; }

    // Protocol version of the latest connection; decides how messages are encoded.
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;
    // Seconds the session lives after its connection closes: 0 ends it with the
    // connection; kSessionNeverExpires keeps it forever. A 3.1.1 clean session is 0 and a
    // persistent one never expires.
    std::uint32_t expiry_interval = 0;
    // Set while no connection is attached and the session has a finite expiry.
    std::optional<Clock::time_point> expires_at;

    // Filter (as subscribed, $share prefix included) → options.
    std::map<std::string, SubscriptionRecord, std::less<>> subscriptions;

    std::optional<protocol::Will> will;

    OutboundFlow& outbound() { return outbound_; }
    const OutboundFlow& outbound() const { return outbound_; }
    InboundQos2& inbound_qos2() { return inbound_qos2_; }
    const InboundQos2& inbound_qos2() const { return inbound_qos2_; }

    // Marks the session as having lost its connection at `now`; computes its expiry.
    void on_connection_lost(Clock::time_point now);
    // Marks the session as attached to a new connection.
    void on_connection_attached() { expires_at.reset(); }
    bool expired(Clock::time_point now) const { return expires_at && *expires_at <= now; }

  private:
    std::string client_id_;
    OutboundFlow outbound_;
    InboundQos2 inbound_qos2_;
};

}  // namespace petrel::session
