// A published message as the broker routes it, and one delivery of it to one session.
//
// A Message is immutable once built and shared (shared_ptr) by every subscriber queue,
// in-flight window and, later, the store: the payload is never copied per subscriber.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "petrel/protocol/packet.hpp"
#include "petrel/session/once_bytes.hpp"

namespace petrel::session {

// Who published a retained message, kept with it so that check_retain_source can ask
// whether that publisher may still write there when the message is delivered later.
struct MessageSource {
    std::shared_ptr<const std::string> username;  // null: anonymous
    std::uint16_t listener = 0;                   // the listener whose ACL applies
};

struct Message {
    std::string topic;
    protocol::Payload payload = protocol::make_payload({});
    protocol::Qos qos = 0;
    bool retain = false;
    // v5 properties forwarded to subscribers unchanged (topic alias and subscription
    // identifiers removed: they belong to one connection / one subscription).
    protocol::Properties properties;
    // Client id of the publisher, for the v5 No Local option.
    std::string publisher;
    // Retained messages only: the publisher's user name and listener (unset for a message
    // a store written before them holds: its source is unknown).
    std::optional<MessageSource> source;
    // The store's id for this message (store::MessageId), 0 while it has none. Assigned
    // before the message is shared, so every queue and in-flight record names one copy.
    std::uint64_t id = 0;
    // Unix time (ms) at which the v5 Message Expiry Interval ends, 0 for never: a wall
    // clock, because the store keeps it across restarts [MQTT-3.3.2-5].
    std::int64_t expires_at_ms = 0;

    bool expired(std::int64_t now_ms) const {
        return expires_at_ms != 0 && now_ms >= expires_at_ms;
    }
    // Seconds left, rounded up, for the Message Expiry Interval a subscriber receives
    // [MQTT-3.3.2-6]; at least 1 while not expired.
    std::uint32_t remaining_seconds(std::int64_t now_ms) const {
        const std::int64_t left = expires_at_ms - now_ms;
        return left <= 0 ? 0 : static_cast<std::uint32_t>((left + 999) / 1000);
    }

    // `properties` encoded as a v5 PUBLISH forwards them to every subscriber (entries only,
    // no Property Length), built on first use and shared by all deliveries. The Message
    // Expiry Interval is left out when the message expires: each delivery sends its own
    // remaining time [MQTT-3.3.2-6].
    const std::string& forwarded_property_bytes() const;

    // The cache behind forwarded_property_bytes(); a copied Message starts with none.
    OnceBytes encoded_properties;
};
using MessagePtr = std::shared_ptr<const Message>;

// What one session receives: the shared message plus the per-subscriber facts.
struct Delivery {
    MessagePtr message;
    protocol::Qos qos = 0;                        // min(publish QoS, granted QoS)
    bool retain = false;                          // the RETAIN flag as sent to this subscriber
    std::vector<std::uint32_t> subscription_ids;  // v5: every matching subscription's id
    // This delivery's place in the session's stored queue (store::QueuedEntry::seq), 0 for
    // a session that is not stored. Increasing per session, in delivery order.
    std::uint64_t seq = 0;
    // The shared subscription ("$share/{group}/{filter}") this delivery came through, null
    // for an ordinary one: a member that leaves hands such deliveries to another member.
    std::shared_ptr<const std::string> shared;
};

}  // namespace petrel::session
