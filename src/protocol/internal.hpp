// Declarations shared between the protocol layer's source files; not part of the API.
#pragma once

#include "petrel/protocol/codec.hpp"
#include "wire.hpp"

namespace petrel::protocol::detail {

// Reads a v5 property length and the properties it covers into `out`, enforcing the
// identifier, context, duplicate and value rules of 2.2.2. Errors go to `reader`.
void read_properties(wire::Reader& reader, PropertyContext context, Properties& out);
// Writes the property length followed by every property in order.
void write_properties(wire::Writer& writer, const Properties& properties);

// The decoded packet, or the reader's first error, or Malformed when bytes are left over.
Result<Packet> finish(const wire::Reader& reader, Packet packet);

// Per-packet decoders. `flags` is the low nibble of the fixed header; `body` covers
// exactly the remaining length.
Result<Packet> decode_connect(ByteView body);
Result<Packet> decode_connack(ByteView body, ProtocolVersion version);
Result<Packet> decode_publish(std::uint8_t flags, ByteView body, ProtocolVersion version);
Result<Packet> decode_publish_response(PacketType type, ByteView body, ProtocolVersion version);
Result<Packet> decode_subscribe(ByteView body, ProtocolVersion version);
Result<Packet> decode_suback(ByteView body, ProtocolVersion version);
Result<Packet> decode_unsubscribe(ByteView body, ProtocolVersion version);
Result<Packet> decode_unsuback(ByteView body, ProtocolVersion version);

// Per-packet body encoders (everything after the fixed header); they return the fixed
// header's first byte. With a counting writer they only measure.
std::uint8_t write_connect(wire::Writer& w, const Connect& connect);
std::uint8_t write_connack(wire::Writer& w, const Connack& connack, ProtocolVersion version);
// `with_payload` false writes everything but the payload (encode_publish_header).
std::uint8_t write_publish(wire::Writer& w, const Publish& publish, ProtocolVersion version,
                           bool with_payload);

}  // namespace petrel::protocol::detail
