// Mosquitto options that act on a client's CONNECT: use_username_as_clientid,
// allow_zero_length_clientid, clientid_prefixes and message_size_limit on the will. Kept
// apart from connect_flow.cpp, which calls it once.
#pragma once

#include <optional>

#include "listener_policy.hpp"
#include "petrel/broker/config.hpp"
#include "petrel/protocol/packet.hpp"
#include "petrel/protocol/result.hpp"

namespace petrel::broker {

// Applies the options to `connect` (use_username_as_clientid replaces its client id) and
// returns the refusal, if any: CONNACK 0x85 / 3.1.1 return code 2 for an empty client id
// the listener does not allow; 0x87 / 5 for a client id outside clientid_prefixes or
// without the user name use_username_as_clientid needs; for a will over
// message_size_limit, v5 0x95 Packet too large and 3.1.1 5 Not authorized, as Mosquitto.
std::optional<protocol::Error> check_mosquitto_connect_options(protocol::Connect& connect,
                                                               const ListenerPolicy& listener,
                                                               const Config& config);

}  // namespace petrel::broker
