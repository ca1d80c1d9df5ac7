// Decoding SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (3.8 - 3.11).
#include "internal.hpp"

namespace petrel::protocol::detail {

namespace {

// Reads the packet identifier every subscription packet starts with.
PacketId read_packet_id(wire::Reader& reader) {
    const PacketId id = reader.u16();
    if (reader.ok() && id == 0) {
        reader.fail(protocol_error("packet identifier 0"));  // [MQTT-2.2.1-3]
    }
    return id;
}

// Subscription options (3.8.3.1). Wildcard and topic filter rules belong to the topic
// layer; here only the option bits are checked.
SubscribeOptions read_options(wire::Reader& reader, ProtocolVersion version) {
    const std::uint8_t bits = reader.u8();
    SubscribeOptions options;
    options.qos = static_cast<Qos>(bits & 0x03);
    if (version != ProtocolVersion::V5) {
        // [MQTT-3-8.3-4] reserved bits set or QoS 3: malformed.
        if ((bits & 0xFC) != 0 || options.qos == 3) {
            reader.fail(malformed("invalid subscription options"));
        }
        return options;
    }
    if ((bits & 0xC0) != 0) {
        reader.fail(malformed("reserved subscription option bits set"));  // [MQTT-3.8.3-5]
        return options;
    }
    if (options.qos == 3) {
        // v5 3.8.3.1 names this one a Protocol Error, unlike 3.1.1.
        reader.fail(protocol_error("subscription with maximum QoS 3"));
        return options;
    }
    options.no_local = (bits & 0x04) != 0;
    options.retain_as_published = (bits & 0x08) != 0;
    const std::uint8_t retain_handling = (bits >> 4) & 0x03;
    if (retain_handling == 3) {
        reader.fail(protocol_error("retain handling 3"));  // 3.8.3.1
        return options;
    }
    options.retain_handling = static_cast<RetainHandling>(retain_handling);
    return options;
}

// SUBACK and UNSUBACK reason codes, one per filter.
template <class PacketReason>
std::vector<PacketReason> read_reasons(wire::Reader& reader) {
    std::vector<PacketReason> reasons;
    while (reader.ok() && !reader.at_end()) {
        const auto reason = PacketReason::from_byte(reader.u8());
        if (!reason) {
            reader.fail(protocol_error("invalid reason code for this packet"));
            break;
        }
        reasons.push_back(*reason);
    }
    if (reader.ok() && reasons.empty()) {
        reader.fail(protocol_error("acknowledgement without reason codes"));
    }
    return reasons;
}

}  // namespace

Result<Packet> decode_subscribe(ByteView body, ProtocolVersion version) {
    wire::Reader reader(body);
    Subscribe subscribe;
    subscribe.packet_id = read_packet_id(reader);
    if (version == ProtocolVersion::V5) {
        read_properties(reader, PropertyContext::Subscribe, subscribe.properties);
    }
    while (reader.ok() && !reader.at_end()) {
        Subscription subscription;
        subscription.filter = reader.utf8();  // [MQTT-3.8.3-1]
        subscription.options = read_options(reader, version);
        subscribe.subscriptions.push_back(std::move(subscription));
    }
    if (reader.ok() && subscribe.subscriptions.empty()) {
        return protocol_error("SUBSCRIBE without topic filters");  // [MQTT-3.8.3-3]
    }
    return finish(reader, std::move(subscribe));
}

Result<Packet> decode_suback(ByteView body, ProtocolVersion version) {
    wire::Reader reader(body);
    Suback suback;
    suback.packet_id = read_packet_id(reader);
    if (version == ProtocolVersion::V5) {
        read_properties(reader, PropertyContext::Suback, suback.properties);
        suback.reasons = read_reasons<SubackReason>(reader);
        return finish(reader, std::move(suback));
    }
    // 3.1.1 return codes: 0x00, 0x01, 0x02 or 0x80 Failure [MQTT-3.9.3-2].
    while (reader.ok() && !reader.at_end()) {
        const std::uint8_t code = reader.u8();
        if (code <= 2) {
            suback.reasons.push_back(granted_qos(code));
        } else if (code == 0x80) {
            suback.reasons.push_back(ReasonCode::UnspecifiedError);
        } else {
            return protocol_error("reserved SUBACK return code");
        }
    }
    if (reader.ok() && suback.reasons.empty()) {
        return protocol_error("SUBACK without return codes");
    }
    return finish(reader, std::move(suback));
}

Result<Packet> decode_unsubscribe(ByteView body, ProtocolVersion version) {
    wire::Reader reader(body);
    Unsubscribe unsubscribe;
    unsubscribe.packet_id = read_packet_id(reader);
    if (version == ProtocolVersion::V5) {
        read_properties(reader, PropertyContext::Unsubscribe, unsubscribe.properties);
    }
    while (reader.ok() && !reader.at_end()) {
        unsubscribe.filters.push_back(reader.utf8());  // [MQTT-3.10.3-1]
    }
    if (reader.ok() && unsubscribe.filters.empty()) {
        return protocol_error("UNSUBSCRIBE without topic filters");  // [MQTT-3.10.3-2]
    }
    return finish(reader, std::move(unsubscribe));
}

Result<Packet> decode_unsuback(ByteView body, ProtocolVersion version) {
    wire::Reader reader(body);
    Unsuback unsuback;
    unsuback.packet_id = read_packet_id(reader);
    if (version == ProtocolVersion::V5) {
        read_properties(reader, PropertyContext::Unsuback, unsuback.properties);
        unsuback.reasons = read_reasons<UnsubackReason>(reader);
    }
    // A 3.1.1 UNSUBACK is the packet identifier alone (3.11.3); finish() rejects more.
    return finish(reader, std::move(unsuback));
}

}  // namespace petrel::protocol::detail
