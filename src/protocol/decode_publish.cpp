// Decoding PUBLISH (3.3) and the four publish responses PUBACK, PUBREC, PUBREL, PUBCOMP
// (3.4 - 3.7).
#include "internal.hpp"

namespace petrel::protocol::detail {

Result<Packet> decode_publish(std::uint8_t flags, ByteView body, ProtocolVersion version) {
    Publish publish;
    publish.dup = (flags & 0x08) != 0;
    publish.qos = static_cast<Qos>((flags >> 1) & 0x03);
    publish.retain = (flags & 0x01) != 0;
    if (publish.qos == 3) {
        return malformed("PUBLISH with QoS 3");  // [MQTT-3.3.1-4]
    }
    if (publish.dup && publish.qos == 0) {
        return malformed("PUBLISH with DUP set at QoS 0");  // [MQTT-3.3.1-2]
    }

    wire::Reader reader(body);
    publish.topic = reader.utf8();  // [MQTT-3.3.2-1]
    if (publish.qos > 0) {
        publish.packet_id = reader.u16();
        if (reader.ok() && publish.packet_id == 0) {
            return protocol_error("PUBLISH with packet identifier 0");  // [MQTT-2.2.1-3]
        }
    }
    if (version == ProtocolVersion::V5) {
        read_properties(reader, PropertyContext::Publish, publish.properties);
    }
    if (!reader.ok()) {
        return *reader.error();
    }
    // An empty topic is only meaningful in v5 with a Topic Alias, which the broker resolves
    // (3.3.2.3.4); otherwise a topic name has at least one character [MQTT-4.7.3-1].
    if (publish.topic.empty() && !publish.properties.contains(PropertyId::TopicAlias)) {
        return protocol_error("PUBLISH with an empty topic and no topic alias");
    }
    publish.payload = make_payload(reader.rest());
    return finish(reader, std::move(publish));
}

namespace {

template <class Response>
Result<Packet> decode_response(ByteView body, ProtocolVersion version) {
    wire::Reader reader(body);
    Response response;
    response.packet_id = reader.u16();
    if (reader.ok() && response.packet_id == 0) {
        return protocol_error("packet identifier 0");  // [MQTT-2.2.1-3]
    }
    // v5 short forms (3.4.2.1): remaining length 2 means Success and no properties,
    // 3 means a reason code and no properties.
    if (version == ProtocolVersion::V5 && !reader.at_end()) {
        const auto reason = decltype(response.reason)::from_byte(reader.u8());
        if (!reason) {
            return protocol_error("invalid reason code for this packet");
        }
        response.reason = *reason;
        if (!reader.at_end()) {
            read_properties(reader, PropertyContext::Puback, response.properties);
        }
    }
    return finish(reader, std::move(response));
}

}  // namespace

Result<Packet> decode_publish_response(PacketType type, ByteView body, ProtocolVersion version) {
    switch (type) {
        case PacketType::Puback:
            return decode_response<Puback>(body, version);
        case PacketType::Pubrec:
            return decode_response<Pubrec>(body, version);
        case PacketType::Pubrel:
            return decode_response<Pubrel>(body, version);
        default:
            return decode_response<Pubcomp>(body, version);
    }
}

}  // namespace petrel::protocol::detail
