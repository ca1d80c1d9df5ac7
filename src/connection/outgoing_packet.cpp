#include "petrel/connection/outgoing_packet.hpp"

#include <type_traits>
#include <variant>

#include "petrel/protocol/codec.hpp"

namespace petrel::connection {

namespace {

// Removes every Reason String and User Property; true when there was one.
bool strip_problem_properties(protocol::Properties& properties) {
    const bool any = properties.contains(protocol::PropertyId::ReasonString) ||
                     properties.contains(protocol::PropertyId::UserProperty);
    while (properties.contains(protocol::PropertyId::UserProperty)) {
        properties.remove(protocol::PropertyId::UserProperty);
    }
    properties.remove(protocol::PropertyId::ReasonString);
    return any;
}

// Strips problem information from a packet: never from a PUBLISH (the publisher's
// properties go on unchanged), from CONNACK and DISCONNECT only when `everywhere` (they
// may carry it unless it makes them too large for the peer).
bool strip_problem_information(protocol::Packet& packet, bool everywhere) {
    return std::visit(
        [everywhere](auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, protocol::Publish>) {
                return false;
            } else if constexpr (std::is_same_v<T, protocol::Connack> ||
                                 std::is_same_v<T, protocol::Disconnect>) {
                return everywhere && strip_problem_properties(p.properties);
            } else if constexpr (requires { p.properties; }) {
                return strip_problem_properties(p.properties);
            } else {
                return false;
            }
        },
        packet);
}

}  // namespace

EncodedPacket encode_for_peer(const protocol::Packet& packet, const PeerLimits& peer,
                              std::string& out) {
    const std::size_t start = out.size();
    protocol::encode(packet, peer.version, out);
    // [MQTT-3.1.2-29] no problem information unless allowed; and never a Reason String or
    // User Property that would make a packet exceed the peer's Maximum Packet Size
    // ([MQTT-3.2.2-19], [MQTT-3.4.2-2], [MQTT-3.9.2-1], [MQTT-3.14.2-3] …).
    const auto over_limit = [&] {
        return peer.maximum_packet_size > 0 && out.size() - start > peer.maximum_packet_size;
    };
    const bool too_large = over_limit();
    if (!peer.problem_information || too_large) {
        protocol::Packet stripped = packet;
        if (strip_problem_information(stripped, too_large)) {
            out.resize(start);
            protocol::encode(stripped, peer.version, out);
        }
    }
    const EncodedPacket encoded{!over_limit(), out.size() - start};
    if (!encoded.fits) {
        out.resize(start);
    }
    return encoded;
}

}  // namespace petrel::connection
