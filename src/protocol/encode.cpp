// encode(), encode_publish_header() and encoded_size(): one body writer per packet, run
// once counting and once appending, so that the size and the bytes always agree.
#include <type_traits>

#include "internal.hpp"

namespace petrel::protocol {

namespace detail {

std::uint8_t write_publish(wire::Writer& w, const Publish& publish, ProtocolVersion version,
                           bool with_payload) {
    const auto qos = static_cast<std::uint8_t>(publish.qos & 0x03);
    w.prefixed(publish.topic);
    if (qos > 0) {
        w.u16(publish.packet_id);  // only QoS 1 and 2 carry one (3.3.2.2)
    }
    if (version == ProtocolVersion::V5) {
        write_properties(w, publish.properties);
    }
    if (with_payload && publish.payload) {
        w.raw(*publish.payload);
    }
    std::uint8_t first = 0x30 | static_cast<std::uint8_t>(qos << 1);
    // [MQTT-3.3.1-2] DUP is 0 at QoS 0, e.g. after a downgrade to the subscriber's QoS.
    if (publish.dup && qos > 0) {
        first |= 0x08;
    }
    if (publish.retain) {
        first |= 0x01;
    }
    return first;
}

}  // namespace detail

namespace {

// v5 PUBACK/PUBREC/PUBREL/PUBCOMP, DISCONNECT and AUTH may drop a Success reason code and
// an empty property list (3.4.2.1, 3.14.2.1, 3.15.2.1); the shortest form is sent.
void write_optional_reason(wire::Writer& w, ReasonCode reason, const Properties& properties,
                           bool reason_alone_allowed) {
    if (reason == ReasonCode::Success && properties.empty()) {
        return;
    }
    w.u8(static_cast<std::uint8_t>(reason));
    if (!properties.empty() || !reason_alone_allowed) {
        detail::write_properties(w, properties);
    }
}

// 3.1.1 SUBACK return codes: the granted QoS, or 0x80 for any failure (3.9.3).
std::uint8_t v311_suback_code(SubackReason reason) {
    return reason.byte() <= 2 ? reason.byte() : 0x80;
}

struct BodyWriter {
    wire::Writer& w;
    ProtocolVersion version;

    bool v5() const { return version == ProtocolVersion::V5; }

    std::uint8_t operator()(const Connect& p) const { return detail::write_connect(w, p); }
    std::uint8_t operator()(const Connack& p) const { return detail::write_connack(w, p, version); }
    std::uint8_t operator()(const Publish& p) const {
        return detail::write_publish(w, p, version, true);
    }

    template <PacketType kType>
    std::uint8_t operator()(const PublishResponse<kType>& p) const {
        w.u16(p.packet_id);
        if (v5()) {
            write_optional_reason(w, p.reason, p.properties, true);
        }
        const auto first = static_cast<std::uint8_t>(static_cast<std::uint8_t>(kType) << 4);
        return kType == PacketType::Pubrel ? first | 0x02 : first;  // [MQTT-3.6.1-1]
    }

    std::uint8_t operator()(const Subscribe& p) const {
        w.u16(p.packet_id);
        if (v5()) {
            detail::write_properties(w, p.properties);
        }
        for (const Subscription& s : p.subscriptions) {
            w.prefixed(s.filter);
            auto options = static_cast<std::uint8_t>(s.options.qos & 0x03);
            if (v5()) {
                options |= s.options.no_local ? 0x04 : 0x00;
                options |= s.options.retain_as_published ? 0x08 : 0x00;
                options |= static_cast<std::uint8_t>(
                    (static_cast<std::uint8_t>(s.options.retain_handling) & 0x03) << 4);
            }
            w.u8(options);
        }
        return 0x82;  // [MQTT-3.8.1-1]
    }

    std::uint8_t operator()(const Suback& p) const {
        w.u16(p.packet_id);
        if (v5()) {
            detail::write_properties(w, p.properties);
        }
        for (const SubackReason reason : p.reasons) {
            w.u8(v5() ? reason.byte() : v311_suback_code(reason));
        }
        return 0x90;
    }

    std::uint8_t operator()(const Unsubscribe& p) const {
        w.u16(p.packet_id);
        if (v5()) {
            detail::write_properties(w, p.properties);
        }
        for (const std::string& filter : p.filters) {
            w.prefixed(filter);
        }
        return 0xA2;  // [MQTT-3.10.1-1]
    }

    std::uint8_t operator()(const Unsuback& p) const {
        w.u16(p.packet_id);
        if (v5()) {  // 3.1.1 UNSUBACK has no payload (3.11.3)
            detail::write_properties(w, p.properties);
            for (const UnsubackReason reason : p.reasons) {
                w.u8(reason.byte());
            }
        }
        return 0xB0;
    }

    std::uint8_t operator()(const Pingreq&) const { return 0xC0; }
    std::uint8_t operator()(const Pingresp&) const { return 0xD0; }

    std::uint8_t operator()(const Disconnect& p) const {
        if (v5()) {  // 3.1.1 DISCONNECT has no variable header (3.14.2)
            write_optional_reason(w, p.reason, p.properties, true);
        }
        return 0xE0;
    }

    std::uint8_t operator()(const Auth& p) const {
        if (v5()) {  // AUTH does not exist before v5; an empty body is the least harm
            // 3.15.2.1 only allows omitting both the reason and the property length.
            write_optional_reason(w, p.reason, p.properties, false);
        }
        return 0xF0;
    }
};

std::uint8_t write_body(wire::Writer& w, const Packet& packet, ProtocolVersion version) {
    return std::visit(BodyWriter{w, version}, packet);
}

void append_fixed_header(std::uint8_t first, std::size_t remaining, std::string& out) {
    out.push_back(static_cast<char>(first));
    encode_varint(static_cast<std::uint32_t>(remaining), out);
}

}  // namespace

void encode(const Packet& packet, ProtocolVersion version, std::string& out) {
    wire::Writer counter(nullptr);
    const std::uint8_t first = write_body(counter, packet, version);
    out.reserve(out.size() + 5 + counter.size());
    append_fixed_header(first, counter.size(), out);
    wire::Writer writer(&out);
    write_body(writer, packet, version);
}

void encode_publish_header(const Publish& publish, ProtocolVersion version, std::string& out) {
    wire::Writer counter(nullptr);
    const std::uint8_t first = detail::write_publish(counter, publish, version, true);
    append_fixed_header(first, counter.size(), out);
    wire::Writer writer(&out);
    detail::write_publish(writer, publish, version, false);
}

std::size_t encoded_size(const Packet& packet, ProtocolVersion version) {
    wire::Writer counter(nullptr);
    write_body(counter, packet, version);
    return 1 + varint_size(static_cast<std::uint32_t>(counter.size())) + counter.size();
}

}  // namespace petrel::protocol
