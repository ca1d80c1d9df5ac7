// What a client's message must satisfy before the broker takes it: the protocol's rules
// (connection/message_rules.hpp, one set for a PUBLISH and for a will) and the broker's own
// on top. Pure: the callers decide what a refusal does to the client.
#pragma once

#include <optional>
#include <string_view>

#include "petrel/broker/config.hpp"
#include "petrel/connection/message_rules.hpp"

namespace petrel::broker {

using connection::facts_of;
using connection::MessageFacts;
using connection::MessageRefusal;

// Whether `topic` (or a filter) has more levels than max_topic_levels allows.
bool exceeds_topic_levels(std::string_view topic, const Config& config);

// Rules on the message as the client sent it: the protocol violations, under the
// capabilities this configuration announces.
std::optional<MessageRefusal> check_message_form(const MessageFacts& message, const Config& config);
// Rules on the message once it is under its listener's mount point, as the broker keeps
// it: what this server does not accept although the protocol allows it.
std::optional<MessageRefusal> check_message_acceptance(const MessageFacts& message,
                                                       const Config& config);

}  // namespace petrel::broker
