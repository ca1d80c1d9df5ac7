#include "petrel/connection/server_capabilities.hpp"

namespace petrel::connection {

using protocol::PropertyId;

void ServerCapabilities::announce(protocol::Properties& properties) const {
    if (maximum_packet_size > 0) {
        properties.add_number(PropertyId::MaximumPacketSize, maximum_packet_size);
    }
    if (receive_maximum < 65535) {
        properties.add_number(PropertyId::ReceiveMaximum, receive_maximum);
    }
    if (maximum_qos < 2) {
        properties.add_number(PropertyId::MaximumQos, maximum_qos);
    }
    if (!retain_available) {
        properties.add_number(PropertyId::RetainAvailable, 0);
    }
    if (!wildcard_subscription_available) {
        properties.add_number(PropertyId::WildcardSubscriptionAvailable, 0);
    }
    if (!subscription_identifier_available) {
        properties.add_number(PropertyId::SubscriptionIdentifierAvailable, 0);
    }
    if (!shared_subscription_available) {
        properties.add_number(PropertyId::SharedSubscriptionAvailable, 0);
    }
    if (topic_alias_maximum > 0) {
        properties.add_number(PropertyId::TopicAliasMaximum, topic_alias_maximum);
    }
}

ServerCapabilities ServerCapabilities::read(const protocol::Properties& properties) {
    ServerCapabilities capabilities;
    const auto flag = [&properties](PropertyId id) {
        return properties.number(id).value_or(1) != 0;
    };
    // The decoder has already refused a Receive Maximum of 0 and a Maximum QoS above 1
    // as Protocol Errors (3.2.2.3.3, 3.2.2.3.4).
    capabilities.receive_maximum =
        static_cast<std::uint16_t>(properties.number(PropertyId::ReceiveMaximum).value_or(65535));
    capabilities.maximum_packet_size = properties.number(PropertyId::MaximumPacketSize).value_or(0);
    capabilities.topic_alias_maximum =
        static_cast<std::uint16_t>(properties.number(PropertyId::TopicAliasMaximum).value_or(0));
    capabilities.maximum_qos =
        static_cast<protocol::Qos>(properties.number(PropertyId::MaximumQos).value_or(2));
    capabilities.retain_available = flag(PropertyId::RetainAvailable);
    capabilities.wildcard_subscription_available = flag(PropertyId::WildcardSubscriptionAvailable);
    capabilities.subscription_identifier_available =
        flag(PropertyId::SubscriptionIdentifierAvailable);
    capabilities.shared_subscription_available = flag(PropertyId::SharedSubscriptionAvailable);
    return capabilities;
}

}  // namespace petrel::connection
