// The one rule both roles follow when they write a packet to their peer: encode it in the
// connection's version, leave out problem information (Reason String, User Properties)
// where the peer asked for none or where it would make the packet exceed the peer's
// Maximum Packet Size, and never send a packet still over that size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "petrel/protocol/packet.hpp"

namespace petrel::connection {

// What the peer told us about the packets it accepts.
struct PeerLimits {
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;
    std::uint32_t maximum_packet_size = 0;  // 0: the peer set none
    // v5 Request Problem Information (3.1.2.11.7): a server may only put a Reason String or
    // User Property into CONNACK, DISCONNECT and PUBLISH unless the client allows them.
    bool problem_information = true;
};

struct EncodedPacket {
    // False when even without the problem information the packet is over the peer's
    // Maximum Packet Size: nothing was appended and it must not be sent [MQTT-3.1.2-24]
    // [MQTT-3.2.2-15].
    bool fits = true;
    std::size_t size = 0;  // its encoded size (the smallest one tried, when it does not fit)
};
// Appends `packet`, encoded for `peer`, to `out`.
EncodedPacket encode_for_peer(const protocol::Packet& packet, const PeerLimits& peer,
                              std::string& out);

}  // namespace petrel::connection
