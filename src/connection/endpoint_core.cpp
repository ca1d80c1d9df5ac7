#include "petrel/connection/endpoint_core.hpp"

namespace petrel::connection {

void EndpointCore::open(protocol::ProtocolVersion version, std::uint32_t maximum_packet_size,
                        std::uint16_t topic_alias_maximum, TimePoint now) {
    version_ = version;
    maximum_packet_size_ = maximum_packet_size;
    peer_ = PeerLimits{version, 0, true};
    input_.clear();
    consumed_ = 0;
    // Aliases live for one network connection only (3.3.2.3.4).
    inbound_aliases_ = InboundTopicAliases(
        version == protocol::ProtocolVersion::V5 ? topic_alias_maximum : std::uint16_t{0});
    outbound_aliases_ = OutboundTopicAliases();
    keep_alive_ = KeepAlive(0, now);
}

void EndpointCore::set_peer(PeerLimits peer, std::uint16_t peer_topic_alias_maximum,
                            std::uint16_t keep_alive_seconds, TimePoint now) {
    peer_ = peer;
    outbound_aliases_ = OutboundTopicAliases(
        version_ == protocol::ProtocolVersion::V5 ? peer_topic_alias_maximum : std::uint16_t{0});
    KeepAlive keep_alive(keep_alive_seconds, now);
    keep_alive.on_sent(keep_alive_.last_sent());  // what was sent before still counts
    keep_alive_ = keep_alive;
}

void EndpointCore::append(protocol::ByteView bytes, TimePoint now) {
    keep_alive_.on_received(now);
    if (consumed_ > 0) {
        input_.erase(0, consumed_);
        consumed_ = 0;
    }
    input_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

ReadResult EndpointCore::read(protocol::ByteView bytes, bool awaiting_connect) const {
    return read_packet(bytes, {version_, awaiting_connect, maximum_packet_size_});
}

ReadResult EndpointCore::next_packet(bool awaiting_connect) {
    if (consumed_ == input_.size()) {
        return ReadResult{};
    }
    const protocol::ByteView rest(reinterpret_cast<const std::uint8_t*>(input_.data()) + consumed_,
                                  input_.size() - consumed_);
    ReadResult read_result = read(rest, awaiting_connect);
    if (read_result.kind == ReadResult::Kind::Packet) {
        consumed_ += read_result.consumed;
    } else if (read_result.kind != ReadResult::Kind::Incomplete) {
        input_.clear();  // the connection ends: nothing more is read
        consumed_ = 0;
    }
    return read_result;
}

std::optional<protocol::PacketType> EndpointCore::next_type() const {
    if (consumed_ == input_.size()) {
        return std::nullopt;
    }
    return static_cast<protocol::PacketType>(static_cast<std::uint8_t>(input_[consumed_]) >> 4);
}

EncodedPacket EndpointCore::write(const protocol::Packet& packet, std::string& out, TimePoint now) {
    const EncodedPacket encoded = encode_for_peer(packet, peer_, out);
    if (encoded.fits) {
        keep_alive_.on_sent(now);
    }
    return encoded;
}

namespace {

// A Topic Alias property: identifier and two bytes.
constexpr std::size_t kTopicAliasSize = 3;

}  // namespace

EncodedPacket EndpointCore::write_publish(protocol::Publish publish, std::string& out,
                                          TimePoint now) {
    const std::size_t full = protocol::encoded_size(publish, version_);
    const bool alias_fits =
        peer_.maximum_packet_size == 0 || full + kTopicAliasSize <= peer_.maximum_packet_size;
    if (outbound_aliases_.enabled() && alias_fits) {
        if (const auto alias = outbound_aliases_.use(publish.topic)) {
            publish.properties.add_number(protocol::PropertyId::TopicAlias, alias->alias);
            if (!alias->send_topic) {
                publish.topic.clear();
            }
        }
    }
    return write(publish, out, now);
}

bool EndpointCore::fits(const protocol::Publish& publish) const {
    return peer_.maximum_packet_size == 0 ||
           protocol::encoded_size(publish, version_) <= peer_.maximum_packet_size;
}

}  // namespace petrel::connection
