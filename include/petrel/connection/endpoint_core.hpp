// What every MQTT endpoint does whichever side of the connection it is on: buffer and
// frame what the peer sent (read_packet), write packets within the peer's limits
// (encode_for_peer), topic aliases in both directions, and keep alive. A role (the client
// role in ClientEndpoint, the server role in ServerEndpoint) adds the MQTT behaviour on
// top and decides what each packet means.
//
// Pure, like its parts: bytes and time come in as arguments, bytes go out into a string
// the caller hands in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "petrel/connection/keep_alive.hpp"
#include "petrel/connection/outgoing_packet.hpp"
#include "petrel/connection/packet_reader.hpp"
#include "petrel/connection/topic_aliases.hpp"
#include "petrel/protocol/codec.hpp"

namespace petrel::connection {

class EndpointCore {
  public:
    // A new network connection in `version`: nothing buffered, no aliases, the peer's
    // limits unknown until set_peer(). `maximum_packet_size` is the largest packet this side
    // reads (0: the protocol's; a client announces it in a v5 CONNECT, a server applies its
    // configured one to every version), `topic_alias_maximum` what this side announced
    // (v5 only; 0: none).
    void open(protocol::ProtocolVersion version, std::uint32_t maximum_packet_size,
              std::uint16_t topic_alias_maximum, TimePoint now);
    // The peer's terms, once known (CONNECT for a server, CONNACK for a client):
    // its limits, how many topic aliases we may use towards it, and the keep alive in force.
    void set_peer(PeerLimits peer, std::uint16_t peer_topic_alias_maximum,
                  std::uint16_t keep_alive_seconds, TimePoint now);

    // Bytes the peer sent.
    void append(protocol::ByteView bytes, TimePoint now);
    // The next packet from what is buffered (Incomplete when it has not all arrived);
    // `awaiting_connect`: the server role's first-packet rules.
    ReadResult next_packet(bool awaiting_connect);
    // The same rules on bytes the caller buffers itself (the server reads straight from its
    // socket buffer, with no second copy).
    ReadResult read(protocol::ByteView bytes, bool awaiting_connect) const;
    // The type of the next packet, known from its first byte alone (nullopt: none buffered).
    std::optional<protocol::PacketType> next_type() const;

    // Appends `packet`, encoded for the peer, to `out`; see encode_for_peer.
    EncodedPacket write(const protocol::Packet& packet, std::string& out, TimePoint now);
    // The same for a PUBLISH, which takes an outbound topic alias when aliases are on and
    // the alias cannot make it too large for the peer.
    EncodedPacket write_publish(protocol::Publish publish, std::string& out, TimePoint now);
    // Whether a PUBLISH (without an alias) fits the peer's Maximum Packet Size.
    bool fits(const protocol::Publish& publish) const;

    protocol::ProtocolVersion version() const { return version_; }
    const PeerLimits& peer() const { return peer_; }
    InboundTopicAliases& inbound_aliases() { return inbound_aliases_; }
    OutboundTopicAliases& outbound_aliases() { return outbound_aliases_; }
    KeepAlive& keep_alive() { return keep_alive_; }
    const KeepAlive& keep_alive() const { return keep_alive_; }

  private:
    protocol::ProtocolVersion version_ = protocol::ProtocolVersion::V311;
    std::uint32_t maximum_packet_size_ = 0;
    PeerLimits peer_;
    std::string input_;
    std::size_t consumed_ = 0;  // bytes of input_ already read as packets
    InboundTopicAliases inbound_aliases_;
    OutboundTopicAliases outbound_aliases_;
    KeepAlive keep_alive_;
};

}  // namespace petrel::connection
