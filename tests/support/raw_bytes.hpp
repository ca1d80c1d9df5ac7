// Hand-built MQTT bytes, for packets the codec would never produce: wrong protocol levels,
// reserved flags, broken lengths. Used with RawClient::send_raw().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "petrel/protocol/codec.hpp"

namespace petrel::test {

inline std::string u16_bytes(std::uint16_t value) {
    return {static_cast<char>(value >> 8), static_cast<char>(value & 0xFF)};
}

// A length-prefixed string or binary field (1.5.4, 1.5.6).
inline std::string prefixed(std::string_view text) {
    return u16_bytes(static_cast<std::uint16_t>(text.size())) + std::string{text};
}

// A whole packet: first byte, remaining length as a variable byte integer, body.
inline std::string packet_bytes(std::uint8_t first_byte, std::string_view body) {
    std::string out(1, static_cast<char>(first_byte));
    protocol::encode_varint(static_cast<std::uint32_t>(body.size()), out);
    out += body;
    return out;
}

// A CONNECT with any protocol name and level; v5 layout (an empty property list after
// the keep-alive) when `with_properties`.
inline std::string connect_bytes(std::string_view protocol_name, std::uint8_t level,
                                 std::string_view client_id, std::uint8_t flags = 0x02,
                                 bool with_properties = false) {
    std::string body = prefixed(protocol_name);
    body += static_cast<char>(level);
    body += static_cast<char>(flags);
    body += u16_bytes(60);
    if (with_properties) {
        body += '\0';
    }
    body += prefixed(client_id);
    return packet_bytes(0x10, body);
}

inline std::string bytes_hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += kDigits[c >> 4];
        out += kDigits[c & 0xF];
        out += ' ';
    }
    return out;
}

}  // namespace petrel::test
