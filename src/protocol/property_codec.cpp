// Reading and writing MQTT 5 properties (spec 2.2.2).
#include <cstdint>

#include "internal.hpp"

namespace petrel::protocol::detail {

namespace {

// Properties whose value is a flag: anything but 0 or 1 is a Protocol Error (3.1.2.11,
// 3.2.2.3, 3.3.2.3.2).
bool is_boolean_property(PropertyId id) {
    // Every one-byte property is a flag.
    return property_type(static_cast<std::uint8_t>(id)) == PropertyType::Byte;
}

// Properties for which the value 0 is a Protocol Error.
bool must_be_nonzero(PropertyId id) {
    switch (id) {
        case PropertyId::ReceiveMaximum:          // 3.1.2.11.3, 3.2.2.3.3
        case PropertyId::MaximumPacketSize:       // 3.1.2.11.4, 3.2.2.3.6
        case PropertyId::TopicAlias:              // [MQTT-3.3.2-8]
        case PropertyId::SubscriptionIdentifier:  // 3.8.2.1.2
            return true;
        default:
            return false;
    }
}

// Whether a property may appear more than once in `context`: User Property anywhere
// (2.2.2.2), Subscription Identifier only in PUBLISH, one per matching subscription
// (3.3.2.3.8); "it is a Protocol Error to include ... more than once" for the rest.
bool may_repeat(PropertyId id, PropertyContext context) {
    return id == PropertyId::UserProperty ||
           (id == PropertyId::SubscriptionIdentifier && context == PropertyContext::Publish);
}

}  // namespace

void read_properties(wire::Reader& reader, PropertyContext context, Properties& out) {
    const std::uint32_t length = reader.varint();
    wire::Reader in = reader.slice(length, "property length runs past the packet");
    std::uint64_t seen = 0;  // bit per identifier; every defined identifier is below 64
    while (reader.ok() && in.ok() && !in.at_end()) {
        const std::uint32_t raw_id = in.varint();
        if (!in.ok()) {
            break;
        }
        const auto type =
            raw_id <= 0xFF ? property_type(static_cast<std::uint8_t>(raw_id)) : std::nullopt;
        if (!type) {
            reader.fail(malformed("unknown property identifier"));
            return;
        }
        const auto id = static_cast<PropertyId>(raw_id);
        if (!property_allowed(id, context)) {
            // 2.2.2.2: "A Control Packet which contains an Identifier which is not valid
            // for its packet type ... is a Malformed Packet", whichever packet it is.
            reader.fail(malformed("property not allowed in this packet"));
            return;
        }
        const std::uint64_t bit = std::uint64_t{1} << raw_id;
        if ((seen & bit) != 0 && !may_repeat(id, context)) {
            reader.fail(protocol_error("property included more than once"));
            return;
        }
        seen |= bit;

        Property property;
        property.id = id;
        switch (*type) {
            case PropertyType::Byte:
                property.number = in.u8();
                break;
            case PropertyType::TwoByteInteger:
                property.number = in.u16();
                break;
            case PropertyType::FourByteInteger:
                property.number = in.u32();
                break;
            case PropertyType::VariableByteInteger:
                property.number = in.varint();
                break;
            case PropertyType::Utf8String:
                property.text = in.utf8();
                break;
            case PropertyType::BinaryData:
                property.text = in.binary();
                break;
            case PropertyType::Utf8StringPair:
                property.text = in.utf8();
                property.value = in.utf8();
                break;
        }
        if (!in.ok()) {
            break;
        }
        if (is_boolean_property(id) && property.number > 1) {
            reader.fail(protocol_error("property value must be 0 or 1"));
            return;
        }
        if (must_be_nonzero(id) && property.number == 0) {
            // 3.3.2.3.4: an alias of 0 has its own reason code, 0x94.
            reader.fail(id == PropertyId::TopicAlias
                            ? Error{ReasonCode::TopicAliasInvalid, "topic alias must not be 0"}
                            : protocol_error("property value must not be 0"));
            return;
        }
        out.add(std::move(property));
    }
    if (!in.ok()) {
        reader.fail(*in.error());
    }
}

namespace {

void write_property(wire::Writer& w, const Property& property) {
    const auto raw_id = static_cast<std::uint8_t>(property.id);
    const auto type = property_type(raw_id);
    if (!type) {
        return;  // not a property the spec defines: leave it out rather than corrupt the packet
    }
    w.varint(raw_id);
    switch (*type) {
        case PropertyType::Byte:
            w.u8(static_cast<std::uint8_t>(property.number));
            break;
        case PropertyType::TwoByteInteger:
            w.u16(static_cast<std::uint16_t>(property.number));
            break;
        case PropertyType::FourByteInteger:
            w.u32(property.number);
            break;
        case PropertyType::VariableByteInteger:
            w.varint(property.number);
            break;
        case PropertyType::Utf8String:
        case PropertyType::BinaryData:
            w.prefixed(property.text);
            break;
        case PropertyType::Utf8StringPair:
            w.prefixed(property.text);
            w.prefixed(property.value);
            break;
    }
}

}  // namespace

void write_properties(wire::Writer& w, const Properties& properties) {
    wire::Writer counter(nullptr);
    for (const Property& property : properties) {
        write_property(counter, property);
    }
    w.varint(static_cast<std::uint32_t>(counter.size()));
    for (const Property& property : properties) {
        write_property(w, property);
    }
}

}  // namespace petrel::protocol::detail

namespace petrel::protocol {

void encode_property_entries(const Properties& properties, std::string& out,
                             std::optional<PropertyId> except) {
    wire::Writer writer(&out);
    for (const Property& property : properties) {
        if (property.id != except) {
            detail::write_property(writer, property);
        }
    }
}

}  // namespace petrel::protocol
