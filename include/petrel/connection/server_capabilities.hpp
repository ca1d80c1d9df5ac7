// What a server tells a client about itself in CONNACK (3.2.2.3): its limits and the
// features it leaves out. One description for both roles: the broker announces its own,
// a bridge reads the remote broker's, and both then hold the other side to them.
#pragma once

#include <cstdint>

#include "petrel/protocol/packet.hpp"

namespace petrel::connection {

struct ServerCapabilities {
    // The defaults are what a client may assume when CONNACK says nothing (3.2.2.3).
    std::uint16_t receive_maximum = 65535;
    std::uint32_t maximum_packet_size = 0;  // 0: the protocol maximum
    std::uint16_t topic_alias_maximum = 0;
    protocol::Qos maximum_qos = 2;
    bool retain_available = true;
    bool wildcard_subscription_available = true;
    bool subscription_identifier_available = true;
    bool shared_subscription_available = true;

    // Adds to `properties` what differs from the defaults: absence means the most a
    // client may assume, so only limits are announced.
    void announce(protocol::Properties& properties) const;
    // What a CONNACK's properties say; the defaults for whatever they leave out.
    static ServerCapabilities read(const protocol::Properties& properties);

    bool operator==(const ServerCapabilities&) const = default;
};

}  // namespace petrel::connection
