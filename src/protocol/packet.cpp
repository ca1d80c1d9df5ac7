// Packet type names and the type of a Packet variant.
#include "petrel/protocol/packet.hpp"

#include <type_traits>

namespace petrel::protocol {

std::string_view to_string(PacketType type) {
    switch (type) {
        case PacketType::Connect:
            return "CONNECT";
        case PacketType::Connack:
            return "CONNACK";
        case PacketType::Publish:
            return "PUBLISH";
        case PacketType::Puback:
            return "PUBACK";
        case PacketType::Pubrec:
            return "PUBREC";
        case PacketType::Pubrel:
            return "PUBREL";
        case PacketType::Pubcomp:
            return "PUBCOMP";
        case PacketType::Subscribe:
            return "SUBSCRIBE";
        case PacketType::Suback:
            return "SUBACK";
        case PacketType::Unsubscribe:
            return "UNSUBSCRIBE";
        case PacketType::Unsuback:
            return "UNSUBACK";
        case PacketType::Pingreq:
            return "PINGREQ";
        case PacketType::Pingresp:
            return "PINGRESP";
        case PacketType::Disconnect:
            return "DISCONNECT";
        case PacketType::Auth:
            return "AUTH";
    }
    return "RESERVED";  // type 0, or a value cast from an unchecked byte
}

PacketType packet_type(const Packet& packet) {
    // The variant's alternatives are declared in packet type order, Connect = 1.
    static_assert(std::is_same_v<std::variant_alternative_t<0, Packet>, Connect>);
    static_assert(std::is_same_v<std::variant_alternative_t<3, Packet>, Puback>);
    static_assert(std::is_same_v<std::variant_alternative_t<7, Packet>, Subscribe>);
    static_assert(std::is_same_v<std::variant_alternative_t<14, Packet>, Auth>);
    return static_cast<PacketType>(packet.index() + 1);
}

}  // namespace petrel::protocol
