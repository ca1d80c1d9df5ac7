#include "server_capabilities.hpp"

namespace petrel::broker {

connection::ServerCapabilities server_capabilities(const Config& config) {
    connection::ServerCapabilities capabilities;
    capabilities.receive_maximum = config.receive_maximum;
    capabilities.maximum_packet_size = config.max_packet_size;
    capabilities.topic_alias_maximum = config.topic_alias_maximum;
    capabilities.maximum_qos = config.maximum_qos;
    capabilities.retain_available = config.retain_available;
    capabilities.wildcard_subscription_available = config.wildcard_subscription_available;
    capabilities.subscription_identifier_available = config.subscription_identifier_available;
    capabilities.shared_subscription_available = config.shared_subscription_available;
    return capabilities;
}

connection::ServerSettings server_settings(const Config& config) {
    connection::ServerSettings settings;
    settings.capabilities = server_capabilities(config);
    settings.outgoing_topic_alias_maximum = config.outgoing_topic_alias_maximum;
    settings.max_keepalive = config.max_keepalive;
    settings.connect_timeout = std::chrono::seconds(config.connect_timeout_seconds);
    settings.max_inbound_message_rate = config.max_inbound_message_rate;
    return settings;
}

}  // namespace petrel::broker
