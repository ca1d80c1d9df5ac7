// CONNECT, CONNACK and enhanced authentication (4.12) in the server role.
#include <algorithm>

#include "petrel/connection/server_endpoint.hpp"

namespace petrel::connection {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

namespace {

// [MQTT-3.1.2-24] An accepted v5 CONNACK over the client's Maximum Packet Size loses, until
// it fits, the properties a client can do without: Reason String and User Property first
// [MQTT-3.2.2-19] [MQTT-3.2.2-20], then Response Information (which the Server MAY leave
// out, 3.1.2.11.7) and Topic Alias Maximum (absent means 0: the client sends no alias,
// 3.2.2.3.8). The rest states limits the client must keep or an identifier it must use;
// a CONNACK that does not fit without them is not sent (send() ends the connection).
void leave_out_optional_properties(protocol::Connack& connack, std::uint32_t limit) {
    for (const PropertyId id : {PropertyId::ReasonString, PropertyId::UserProperty,
                                PropertyId::ResponseInformation, PropertyId::TopicAliasMaximum}) {
        while (protocol::encoded_size(connack, ProtocolVersion::V5) > limit &&
               connack.properties.contains(id)) {
            connack.properties.remove(id);
        }
    }
}

}  // namespace

void ServerEndpoint::open_for(const protocol::Connect& connect, TimePoint now) {
    const ProtocolVersion version = connect.version;
    core_.open(version, settings_.capabilities.maximum_packet_size,
               settings_.capabilities.topic_alias_maximum, now);
    const std::uint32_t client_maximum_packet_size =
        connect.properties.number(PropertyId::MaximumPacketSize).value_or(0);
    core_.set_peer(PeerLimits{version, client_maximum_packet_size, true}, 0, 0, now);
}

void ServerEndpoint::on_connect(protocol::Connect&& connect) {
    open_for(connect, now_);
    phase_ = Phase::Connecting;
    emit<ConnectReceived>(std::move(connect));
}

void ServerEndpoint::adopt_connect(const protocol::Connect& connect, TimePoint now) {
    open_for(connect, now);
    phase_ = Phase::Connecting;
}

void ServerEndpoint::refuse(protocol::ConnackReason reason, std::string why,
                            std::string_view server_reference) {
    if (phase_ == Phase::Ended) {
        return;
    }
    protocol::Connack connack;
    connack.reason = reason;  // the codec maps it to a 3.1.1 return code when needed
    if (core_.version() == ProtocolVersion::V5) {
        if (!server_reference.empty()) {
            connack.properties.add_text(PropertyId::ServerReference, std::string(server_reference));
        }
        // Reason strings on CONNACK are allowed whatever the client asked [MQTT-3.1.2-29].
        if (!why.empty()) {
            connack.properties.add_text(PropertyId::ReasonString, why);
        }
    }
    send(connack);
    end(ConnectionEnded{ConnectionEnded::Cause::ConnectRefused, false, reason.code(),
                        std::move(why)});
}

void ServerEndpoint::begin_authentication(std::string method) {
    if (phase_ == Phase::Ended) {
        return;
    }
    auth_method_ = std::move(method);
    exchange_open_ = true;
    phase_ = Phase::Authenticating;
}

void ServerEndpoint::send_auth(protocol::AuthReason reason, std::string_view data) {
    protocol::Auth packet;
    packet.reason = reason;
    packet.properties.add_text(PropertyId::AuthenticationMethod, auth_method_);
    if (!data.empty()) {
        packet.properties.add_text(PropertyId::AuthenticationData, std::string(data));
    }
    send(packet);
}

void ServerEndpoint::continue_authentication(std::string_view data) {
    send_auth(ReasonCode::ContinueAuthentication, data);
}

void ServerEndpoint::authenticated() {
    exchange_open_ = false;
    if (phase_ == Phase::Authenticating) {
        phase_ = Phase::Connecting;
    }
}

void ServerEndpoint::reauthenticated(std::string_view data) {
    exchange_open_ = false;
    send_auth(ReasonCode::Success, data);
}

void ServerEndpoint::on_auth(const protocol::Auth& packet) {
    const auto method = packet.properties.text(PropertyId::AuthenticationMethod);
    if (auth_method_.empty() || !method || *method != auth_method_) {
        // [MQTT-4.12.0-1] AUTH only with the method the CONNECT chose (and then always
        // naming it, [MQTT-4.12.1-1] for re-authentication).
        fail(protocol::protocol_error("AUTH without the connection's authentication method"));
        return;
    }
    std::string data(packet.properties.text(PropertyId::AuthenticationData).value_or(""));
    if (phase_ == Phase::Authenticating) {
        if (packet.reason != ReasonCode::ContinueAuthentication || !exchange_open_) {
            fail(protocol::protocol_error("AUTH during CONNECT must continue the exchange"));
            return;
        }
        emit<AuthReceived>(std::move(data), false, true);
        return;
    }
    // Connected: re-authentication (4.12.1). The connection goes on serving meanwhile.
    if (packet.reason == ReasonCode::ReAuthenticate) {
        exchange_open_ = true;
        emit<AuthReceived>(std::move(data), true, false);
        return;
    }
    if (packet.reason != ReasonCode::ContinueAuthentication || !exchange_open_) {
        fail(protocol::protocol_error("AUTH 0x18 outside an authentication exchange"));
        return;
    }
    emit<AuthReceived>(std::move(data), false, false);
}

bool ServerEndpoint::accept(session::Session& session, protocol::Connect& connect,
                            const ConnectAccepted& terms, TimePoint now) {
    if (phase_ == Phase::Ended) {
        return false;
    }
    const ServerCapabilities& capabilities = settings_.capabilities;
    const ProtocolVersion version = core_.version();
    const std::uint32_t client_maximum_packet_size = core_.peer().maximum_packet_size;
    session_ = &session;
    phase_ = Phase::Connected;
    exchange_open_ = false;
    if (!terms.authentication_method.empty()) {
        auth_method_ = terms.authentication_method;
    }

    // The session takes the CONNECT's terms.
    session.version = version;
    if (version == ProtocolVersion::V5) {
        session.expiry_interval =
            connect.properties.number(PropertyId::SessionExpiryInterval).value_or(0);
    } else {
        session.expiry_interval = connect.clean_start ? 0 : session::kSessionNeverExpires;
    }
    session.will = std::move(connect.will);
    session.outbound().set_receive_maximum(static_cast<std::uint16_t>(
        connect.properties.number(PropertyId::ReceiveMaximum).value_or(65535)));

    // The client's terms (3.1.2.11) and ours, for this connection.
    const KeepAliveTerms keep_alive =
        negotiate_keep_alive(connect.keep_alive, settings_.max_keepalive, version);
    PeerLimits client{version, client_maximum_packet_size, true};
    std::uint16_t outgoing_aliases = 0;
    if (version == ProtocolVersion::V5) {
        client.problem_information =
            connect.properties.number(PropertyId::RequestProblemInformation).value_or(1) != 0;
        inbound_window_ = InboundWindow(capabilities.receive_maximum);
        outgoing_aliases = static_cast<std::uint16_t>(std::min<std::uint32_t>(
            settings_.outgoing_topic_alias_maximum,
            connect.properties.number(PropertyId::TopicAliasMaximum).value_or(0)));
    }
    core_.set_peer(client, outgoing_aliases, keep_alive.seconds, now);
    if (settings_.max_inbound_message_rate > 0) {
        const double rate = settings_.max_inbound_message_rate;
        publish_rate_.emplace(rate, rate, now);  // a burst as large as the rate
    }

    protocol::Connack connack;
    connack.session_present = terms.session_present;
    if (keep_alive.announce) {
        connack.properties.add_number(PropertyId::ServerKeepAlive, keep_alive.seconds);
    }
    if (version == ProtocolVersion::V5) {
        if (!terms.assigned_client_id.empty()) {
            connack.properties.add_text(PropertyId::AssignedClientIdentifier,
                                        terms.assigned_client_id);
        }
        capabilities.announce(connack.properties);
        if (connect.properties.number(PropertyId::RequestResponseInformation).value_or(0) == 1 &&
            !terms.response_information.empty()) {
            // [MQTT-3.1.2-28] only when asked for.
            connack.properties.add_text(PropertyId::ResponseInformation,
                                        terms.response_information);
        }
        if (!terms.authentication_method.empty()) {
            connack.properties.add_text(PropertyId::AuthenticationMethod,
                                        terms.authentication_method);
            if (!terms.authentication_data.empty()) {
                connack.properties.add_text(PropertyId::AuthenticationData,
                                            terms.authentication_data);
            }
        }
    }
    if (version == ProtocolVersion::V5 && client_maximum_packet_size > 0) {
        leave_out_optional_properties(connack, client_maximum_packet_size);
        if (!connack.properties.contains(PropertyId::TopicAliasMaximum)) {
            // None announced: none accepted.
            core_.inbound_aliases() = InboundTopicAliases(0);
        }
    }
    return send(connack);
}

}  // namespace petrel::connection
