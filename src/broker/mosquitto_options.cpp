#include "mosquitto_options.hpp"

#include "client_connection.hpp"
#include "worker.hpp"

namespace petrel::broker {

using protocol::ReasonCode;

std::optional<protocol::Error> check_mosquitto_connect_options(protocol::Connect& connect,
                                                               const ListenerPolicy& listener,
                                                               const Config& config) {
    if (listener.use_username_as_clientid) {
        // Mosquitto: a client without a user name is refused as not authorized.
        if (!connect.username) {
            return protocol::Error{ReasonCode::NotAuthorized,
                                   "use_username_as_clientid needs a user name"};
        }
        connect.client_id = *connect.username;
    }
    if (connect.client_id.empty() && !listener.security->allow_zero_length_clientid) {
        return protocol::Error{ReasonCode::ClientIdentifierNotValid,
                               "empty client id (allow_zero_length_clientid false)"};
    }
    if (!config.clientid_prefixes.empty()) {
        // An id the broker assigns starts with auto_id_prefix.
        const std::string& id =
            connect.client_id.empty() ? listener.security->auto_id_prefix : connect.client_id;
        if (!id.starts_with(config.clientid_prefixes)) {
            return protocol::Error{ReasonCode::NotAuthorized,
                                   "client id does not start with clientid_prefixes"};
        }
    }
    if (connect.will && config.message_size_limit > 0 && connect.will->payload &&
        connect.will->payload->size() > config.message_size_limit) {
        return protocol::Error{connect.version == protocol::ProtocolVersion::V5
                                   ? ReasonCode::PacketTooLarge
                                   : ReasonCode::NotAuthorized,
                               "will payload larger than message_size_limit"};
    }
    return std::nullopt;
}

bool ClientConnection::drop_oversized_publish(const protocol::Publish& publish) {
    const std::size_t limit = worker_.context().config.message_size_limit;
    const std::size_t size = publish.payload ? publish.payload->size() : 0;
    if (limit == 0 || size <= limit) {
        return false;
    }
    // As Mosquitto: not forwarded, but the QoS flow completes; the client stays connected.
    worker_.log().info("{}: QoS {} PUBLISH to '{}' of {} bytes dropped (message_size_limit {})",
                       describe(), publish.qos, publish.topic, size, limit);
    // Mosquitto sends 0x95 Packet too large, which is not a PUBACK/PUBREC reason code
    // (3.4.2.1, 3.5.2.1) and which strict clients refuse as malformed; its documentation
    // promises 0x83 Implementation specific error, which Petrel sends.
    drop_publish(publish.qos, publish.packet_id, ReasonCode::ImplementationSpecificError,
                 "payload larger than message_size_limit");
    return true;
}

}  // namespace petrel::broker
