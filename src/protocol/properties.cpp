// The property table of MQTT 5 (2.2.2.2, Table 2-4) and the Properties container.
#include "petrel/protocol/properties.hpp"

#include <algorithm>

namespace petrel::protocol {

std::optional<PropertyType> property_type(std::uint8_t id) {
    switch (static_cast<PropertyId>(id)) {
        case PropertyId::PayloadFormatIndicator:
        case PropertyId::RequestProblemInformation:
        case PropertyId::RequestResponseInformation:
        case PropertyId::MaximumQos:
        case PropertyId::RetainAvailable:
        case PropertyId::WildcardSubscriptionAvailable:
        case PropertyId::SubscriptionIdentifierAvailable:
        case PropertyId::SharedSubscriptionAvailable:
            return PropertyType::Byte;
        case PropertyId::ServerKeepAlive:
        case PropertyId::ReceiveMaximum:
        case PropertyId::TopicAliasMaximum:
        case PropertyId::TopicAlias:
            return PropertyType::TwoByteInteger;
        case PropertyId::MessageExpiryInterval:
        case PropertyId::SessionExpiryInterval:
        case PropertyId::WillDelayInterval:
        case PropertyId::MaximumPacketSize:
            return PropertyType::FourByteInteger;
        case PropertyId::SubscriptionIdentifier:
            return PropertyType::VariableByteInteger;
        case PropertyId::ContentType:
        case PropertyId::ResponseTopic:
        case PropertyId::AssignedClientIdentifier:
        case PropertyId::AuthenticationMethod:
        case PropertyId::ResponseInformation:
        case PropertyId::ServerReference:
        case PropertyId::ReasonString:
            return PropertyType::Utf8String;
        case PropertyId::CorrelationData:
        case PropertyId::AuthenticationData:
            return PropertyType::BinaryData;
        case PropertyId::UserProperty:
            return PropertyType::Utf8StringPair;
    }
    return std::nullopt;
}

bool property_allowed(PropertyId id, PropertyContext context) {
    using C = PropertyContext;
    switch (id) {
        case PropertyId::PayloadFormatIndicator:
        case PropertyId::MessageExpiryInterval:
        case PropertyId::ContentType:
        case PropertyId::ResponseTopic:
        case PropertyId::CorrelationData:
            return context == C::Publish || context == C::Will;
        case PropertyId::SubscriptionIdentifier:
            return context == C::Publish || context == C::Subscribe;
        case PropertyId::SessionExpiryInterval:
            return context == C::Connect || context == C::Connack || context == C::Disconnect;
        case PropertyId::AssignedClientIdentifier:
        case PropertyId::ServerKeepAlive:
        case PropertyId::ResponseInformation:
        case PropertyId::MaximumQos:
        case PropertyId::RetainAvailable:
        case PropertyId::WildcardSubscriptionAvailable:
        case PropertyId::SubscriptionIdentifierAvailable:
        case PropertyId::SharedSubscriptionAvailable:
            return context == C::Connack;
        case PropertyId::AuthenticationMethod:
        case PropertyId::AuthenticationData:
            return context == C::Connect || context == C::Connack || context == C::Auth;
        case PropertyId::RequestProblemInformation:
        case PropertyId::RequestResponseInformation:
            return context == C::Connect;
        case PropertyId::WillDelayInterval:
            return context == C::Will;
        case PropertyId::ServerReference:
            return context == C::Connack || context == C::Disconnect;
        case PropertyId::ReasonString:
            return context != C::Connect && context != C::Will && context != C::Publish &&
                   context != C::Subscribe && context != C::Unsubscribe;
        case PropertyId::ReceiveMaximum:
        case PropertyId::TopicAliasMaximum:
        case PropertyId::MaximumPacketSize:
            return context == C::Connect || context == C::Connack;
        case PropertyId::TopicAlias:
            return context == C::Publish;
        case PropertyId::UserProperty:
            return true;
    }
    return false;
}

const Property* Properties::find(PropertyId id) const {
    const auto it =
        std::find_if(items_.begin(), items_.end(), [id](const Property& p) { return p.id == id; });
    return it == items_.end() ? nullptr : &*it;
}

std::optional<std::uint32_t> Properties::number(PropertyId id) const {
    if (const Property* p = find(id)) {
        return p->number;
    }
    return std::nullopt;
}

std::optional<std::string_view> Properties::text(PropertyId id) const {
    if (const Property* p = find(id)) {
        return std::string_view(p->text);
    }
    return std::nullopt;
}

void Properties::add_number(PropertyId id, std::uint32_t value) {
    Property property;
    property.id = id;
    property.number = value;
    items_.push_back(std::move(property));
}

void Properties::add_text(PropertyId id, std::string value) {
    Property property;
    property.id = id;
    property.text = std::move(value);
    items_.push_back(std::move(property));
}

void Properties::add_user_property(std::string name, std::string value) {
    Property property;
    property.id = PropertyId::UserProperty;
    property.text = std::move(name);
    property.value = std::move(value);
    items_.push_back(std::move(property));
}

void Properties::set_number(PropertyId id, std::uint32_t value) {
    remove(id);
    add_number(id, value);
}

void Properties::set_text(PropertyId id, std::string value) {
    remove(id);
    add_text(id, std::move(value));
}

void Properties::remove(PropertyId id) {
    std::erase_if(items_, [id](const Property& p) { return p.id == id; });
}

}  // namespace petrel::protocol
