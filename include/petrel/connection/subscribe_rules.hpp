// What a server decides about a SUBSCRIBE by the protocol and its own announced
// capabilities, before the broker's own policy (the ACL) has its say. Pure: the same
// rules whatever carries the connection.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "petrel/connection/server_capabilities.hpp"
#include "petrel/protocol/packet.hpp"
#include "petrel/protocol/reason.hpp"
#include "petrel/protocol/result.hpp"

namespace petrel::connection {

struct SubscribeLimits {
    ServerCapabilities capabilities;
    std::size_t max_topic_levels = 0;  // 0: no limit
};

// Whether `topic` (a topic name, or a filter without its $share/group/) has more levels
// than `max_levels` allows (0: no limit).
bool exceeds_topic_levels(std::string_view topic, std::size_t max_levels);

// A SUBSCRIBE that must close the connection: No Local on a shared subscription
// [MQTT-3.8.3-4].
std::optional<protocol::Error> subscribe_violation(const protocol::Subscribe& subscribe);

// The SUBACK reason code of a filter this server cannot take (an invalid filter, too
// many levels, or a feature CONNACK said is not available), if it cannot.
std::optional<protocol::SubackReason> filter_refusal(const protocol::Subscription& subscription,
                                                     bool has_subscription_id,
                                                     const SubscribeLimits& limits);

// The QoS a subscription is granted: never more than the server's Maximum QoS
// [MQTT-3.2.2-10].
protocol::Qos granted_qos(protocol::Qos requested, const ServerCapabilities& capabilities);

// Whether subscribing sends the retained messages the filter matches [MQTT-3.3.1-9..11]:
// as Retain Handling says, and never for a shared subscription (3.3.1.3: only a new
// non-shared subscription gets them).
bool sends_retained(const protocol::SubscribeOptions& options, bool shared, bool is_new);

}  // namespace petrel::connection
