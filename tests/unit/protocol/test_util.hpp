// Small helpers for writing protocol tests as byte vectors.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "packet_equal.hpp"
#include "petrel/protocol/codec.hpp"

namespace petrel::protocol::testing {

using Bytes = std::vector<std::uint8_t>;

inline Bytes bytes(std::initializer_list<int> values) {
    Bytes out;
    for (int v : values) {
        out.push_back(static_cast<std::uint8_t>(v));
    }
    return out;
}

inline Bytes bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

inline Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A two-byte length prefixed string (1.5.4).
inline Bytes str(std::string_view text) {
    Bytes out{static_cast<std::uint8_t>(text.size() >> 8), static_cast<std::uint8_t>(text.size())};
    return out + bytes(text);
}

// A fixed header with the right remaining length, followed by `body`.
inline Bytes packet(std::uint8_t first_byte, const Bytes& body) {
    std::string length;
    encode_varint(static_cast<std::uint32_t>(body.size()), length);
    return Bytes{first_byte} + bytes(length) + body;
}

inline Result<Packet> decode_bytes(const Bytes& data, ProtocolVersion version) {
    return decode(ByteView(data.data(), data.size()), version);
}

inline Bytes encode_bytes(const Packet& p, ProtocolVersion version) {
    std::string out;
    encode(p, version, out);
    return bytes(out);
}

// The reason code of a failed decode; Success when decoding unexpectedly succeeded.
inline ReasonCode error_of(const Result<Packet>& result) {
    return result ? ReasonCode::Success : result.error().code;
}

inline ReasonCode decode_error(const Bytes& data, ProtocolVersion version) {
    return error_of(decode_bytes(data, version));
}

template <class T>
T decode_as(const Bytes& data, ProtocolVersion version) {
    auto result = decode_bytes(data, version);
    if (!result) {
        ADD_FAILURE() << "decode failed: " << to_string(result.error().code) << ": "
                      << result.error().what;
        return T{};
    }
    if (!std::holds_alternative<T>(*result)) {
        ADD_FAILURE() << "decoded " << to_string(packet_type(*result));
        return T{};
    }
    return std::get<T>(std::move(result).value());
}

inline constexpr ProtocolVersion kV31 = ProtocolVersion::V31;
inline constexpr ProtocolVersion kV311 = ProtocolVersion::V311;
inline constexpr ProtocolVersion kV5 = ProtocolVersion::V5;

}  // namespace petrel::protocol::testing
