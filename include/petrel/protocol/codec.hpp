// Pure MQTT codec: bytes in, packets out, and back. No sockets, threads or clocks, so it
// can be unit-tested and fuzzed in-process.
//
// A connection feeds its receive buffer to `frame()` to learn whether a whole packet has
// arrived, then hands exactly that packet's bytes to `decode()`. Neither ever reads past
// the span it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "petrel/protocol/packet.hpp"
#include "petrel/protocol/result.hpp"

namespace petrel::protocol {

using ByteView = std::span<const std::uint8_t>;

// The largest remaining length a 4-byte variable byte integer can carry (268,435,455).
inline constexpr std::uint32_t kMaxRemainingLength = 268'435'455;

struct Frame {
    std::uint8_t first_byte = 0;         // packet type in the high nibble, flags in the low
    std::uint32_t remaining_length = 0;  // bytes after the fixed header
    std::size_t header_length = 0;       // 2 to 5
    std::size_t total_length() const { return header_length + remaining_length; }
    PacketType type() const { return static_cast<PacketType>(first_byte >> 4); }
};

enum class FrameStatus { Incomplete, Complete, Malformed };

struct FrameResult {
    FrameStatus status = FrameStatus::Incomplete;
    Frame frame;  // header fields are valid whenever the fixed header is complete
};

// Examines the start of `buffer`. Complete means `frame.total_length()` bytes are present.
// Incomplete may still carry a parsed header (remaining_length > 0, header_length > 0) so
// that the caller can reject an oversized packet before it arrives. Malformed: the
// remaining length is not a valid variable byte integer (more than 4 bytes) or the
// packet type is 0.
FrameResult frame(ByteView buffer);

// Decodes one whole packet (fixed header included). A CONNECT is decoded whatever
// `version` says, because it is the packet that sets it; every other packet is decoded
// by the rules of `version`. Errors carry 0x81 Malformed Packet, 0x82 Protocol Error or,
// for CONNECT, 0x84 Unsupported Protocol Version.
Result<Packet> decode(ByteView packet, ProtocolVersion version);

// The protocol level a CONNECT packet claims, if its bytes get that far; lets the broker
// answer an unsupported version in a form the client understands.
std::optional<std::uint8_t> peek_connect_level(ByteView packet);

// Appends the encoded packet to `out`. A CONNECT is written by the rules of its own
// `Connect::version` (protocol name, level, properties), mirroring decode(); every other
// packet by the rules of `version`. Strings and binary data longer than 65,535 bytes and
// bodies longer than kMaxRemainingLength cannot be represented: the caller keeps within them.
void encode(const Packet& packet, ProtocolVersion version, std::string& out);

// Appends a PUBLISH without its payload: the fixed header (whose remaining length counts
// the payload), topic, packet id and properties. The payload bytes follow separately, so
// one shared buffer can serve every subscriber.
void encode_publish_header(const Publish& publish, ProtocolVersion version, std::string& out);

// Size in bytes of the encoded packet; lets the broker honour a peer's maximum packet size.
std::size_t encoded_size(const Packet& packet, ProtocolVersion version);

// Appends v5 properties as they follow a Property Length (the length itself not included),
// in order, leaving out any property `except` names. Lets the parts of a PUBLISH that every
// subscriber shares be encoded once (see connection/publish_encoder.hpp).
void encode_property_entries(const Properties& properties, std::string& out,
                             std::optional<PropertyId> except = std::nullopt);

// Variable byte integers (1.5.5).
void encode_varint(std::uint32_t value, std::string& out);
std::size_t varint_size(std::uint32_t value);

// UTF-8 encoded string rules (1.5.4): well-formed, no U+0000, no surrogates. Control
// characters and non-characters are allowed, as the spec permits.
bool is_valid_utf8(std::string_view text);

}  // namespace petrel::protocol
