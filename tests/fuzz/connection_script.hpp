// Plays one fuzz_broker input (format: connection_input.hpp) against a running broker
// (or any ScriptTarget):
// one client, sometimes more (up to three at once), each connected as its setup says and driven by
// the ops; at the end each sends a PINGREQ, waits for the answer and ends its connection as its
// setup says, reading until the broker closes it. Everything the broker sends is checked
// on the way (stream_check.hpp); a violation or a stuck broker is a finding (abort).
#pragma once

#include <cstdint>
#include <span>

#include "script_link.hpp"

namespace petrel::fuzz {

// A broker the script can connect to.
struct BrokerTarget {
    std::uint16_t port = 0;
    std::uint32_t maximum_packet_size = 0;  // its max_packet_size; 0: none
};

// `restricted` serves inputs whose setup asks for it (password file, limits), `open` the rest.
void run_connection_script(std::span<const std::uint8_t> input, const BrokerTarget& open,
                           const BrokerTarget& restricted);
// The same against any target (fuzz_connection: servers in process).
void run_connection_script(std::span<const std::uint8_t> input, ScriptTarget& target);

}  // namespace petrel::fuzz
