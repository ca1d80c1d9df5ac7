// CONNECT: checks on the accepting worker, then session attach and CONNACK on the
// session's home worker.
#include <algorithm>

#include "client_connection.hpp"
#include "mosquitto_options.hpp"
#include "petrel/topic/topic_name.hpp"
#include "server_capabilities.hpp"
#include "worker.hpp"

namespace petrel::broker {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

namespace {

// [MQTT-3.1.2-24] An accepted v5 CONNACK over the client's Maximum Packet Size loses, until
// it fits, the properties a client can do without: Reason String and User Property first
// [MQTT-3.2.2-19] [MQTT-3.2.2-20], then Response Information (which the Server MAY leave
// out, 3.1.2.11.7) and Topic Alias Maximum (absent means 0: the client sends no alias,
// 3.2.2.3.8). The rest states limits the client must keep or an identifier it must use;
// a CONNACK that does not fit without them is not sent (send() closes the connection).
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

void ClientConnection::refuse_connect(protocol::ConnackReason reason, const char* why) {
    worker_.log().info("{}: CONNECT refused: {} ({})", describe(), protocol::to_string(reason),
                       why);
    protocol::Connack connack;
    connack.reason = reason;  // the codec maps it to a 3.1.1 return code when needed
    const Config& config = worker_.context().config;
    if (core_.version() == ProtocolVersion::V5) {
        if (config.server_redirect &&
            (reason == ReasonCode::UseAnotherServer || reason == ReasonCode::ServerMoved)) {
            connack.properties.add_text(PropertyId::ServerReference,
                                        config.server_redirect->reference);
        }
        // Reason strings on CONNACK are allowed whatever the client asked [MQTT-3.1.2-29].
        connack.properties.add_text(PropertyId::ReasonString, why);
    }
    send(connack);
    finish(false);
}

void ClientConnection::open_core(const protocol::Connect& connect) {
    // The CONNECT sets the version; until CONNACK only its Maximum Packet Size is known of
    // the client's terms (a refusal must fit it too).
    const Config& config = worker_.context().config;
    const ProtocolVersion version = connect.version;
    const Clock::time_point now = Clock::now();
    core_.open(version, config.max_packet_size, config.topic_alias_maximum, now);
    const std::uint32_t client_maximum_packet_size =
        connect.properties.number(PropertyId::MaximumPacketSize).value_or(0);
    core_.set_peer(connection::PeerLimits{version, client_maximum_packet_size, true}, 0, 0, now);
}

void ClientConnection::handle_connect(protocol::Connect&& connect) {
    const Config& config = worker_.context().config;
    open_core(connect);
    const std::optional<auth::LoginDecision> login = decide_login(connect);
    if (!login) {
        return;
    }
    if (const auto refusal = check_mosquitto_connect_options(connect, listener_, config)) {
        refuse_connect(protocol::connack_reason_for(refusal->code), refusal->what);
        return;
    }
    AcceptedConnect accepted;
    if (connect.client_id.empty()) {
        // [MQTT-3.1.3-8] 3.1.1 refuses an empty id unless the session is clean; v5 assigns
        // one in any case [MQTT-3.1.3-6] and returns it in CONNACK [MQTT-3.2.2-16].
        if (connect.version != ProtocolVersion::V5 && !connect.clean_start) {
            refuse_connect(ReasonCode::ClientIdentifierNotValid,
                           "empty client id with a persistent session");
            return;
        }
        if (connect.version == ProtocolVersion::V31) {
            refuse_connect(ReasonCode::ClientIdentifierNotValid, "MQTT 3.1 needs a client id");
            return;
        }
        connect.client_id = worker_.assign_client_id(listener_.security->auto_id_prefix);
        accepted.client_id_assigned = true;
    } else if (connect.version == ProtocolVersion::V31 && connect.client_id.size() > 23) {
        refuse_connect(ReasonCode::ClientIdentifierNotValid, "MQTT 3.1 client id over 23 bytes");
        return;
    }
    if (connection::negotiate_keep_alive(connect.keep_alive, config.max_keepalive, connect.version)
            .refuse) {
        refuse_connect(ReasonCode::ClientIdentifierNotValid,
                       "keep alive beyond max_keepalive (MQTT 3.1/3.1.1 cannot be told another)");
        return;
    }
    if (config.server_redirect) {
        // Server redirection (4.11): a v5 client learns where to go (Server Reference);
        // older ones only that this server is unavailable.
        refuse_connect(config.server_redirect->moved
                           ? protocol::ConnackReason(ReasonCode::ServerMoved)
                           : protocol::ConnackReason(ReasonCode::UseAnotherServer),
                       "server_redirect is configured");
        return;
    }
    if (connect.will) {
        if (const auto violation = check_message_form(facts_of(*connect.will), config)) {
            refuse_connect(protocol::connack_reason_for(violation->code), violation->what);
            return;
        }
        connect.will->topic = listener_.mount_topic(std::move(connect.will->topic));
        // Refused now rather than dropped when it is due, so the client knows (a will
        // under $SYS: v5 0x87, 3.1.1 code 5).
        if (const auto refusal = check_message_acceptance(facts_of(*connect.will), config)) {
            refuse_connect(protocol::connack_reason_for(refusal->code), refusal->what);
            return;
        }
    }
    accepted.connect = std::move(connect);
    if (start_authentication(accepted, *login)) {
        route_connect(std::move(accepted));
    }
}

void ClientConnection::route_connect(AcceptedConnect accepted) {
    const unsigned home = worker_.home_worker_for(accepted.connect.client_id);
    if (home == worker_.index()) {
        complete_connect(std::move(accepted));
        return;
    }
    // The socket moves to the session's home worker once on_data() has consumed the
    // CONNECT, so that the bytes after it travel along.
    pending_handover_ = PendingHandover{home, std::move(accepted)};
}

void ClientConnection::hand_over(PendingHandover handover) {
    std::string unread;
    net::TlsSessionPtr tls;
    const int fd = stream_->release(unread, tls);
    phase_ = Phase::Closed;
    handover.connect.listener = &listener_;
    worker_.hand_over(fd, peer_, std::move(unread), std::move(handover.connect), handover.home,
                      std::move(tls), std::move(slot_));
    worker_.retire(this);
}

void ClientConnection::complete_connect(AcceptedConnect accepted) {
    protocol::Connect& connect = accepted.connect;
    const Config& config = worker_.context().config;
    open_core(connect);
    const ProtocolVersion version = core_.version();
    const std::uint32_t client_maximum_packet_size = core_.peer().maximum_packet_size;

    if (accepted.authentication) {
        auth_method_ = accepted.authentication->method;
        auth_username_ = connect.username.value_or("");
    }
    auto [session, present] = worker_.attach_session(*this, connect);
    session_ = session;
    session_->username.store(
        connect.username ? std::make_shared<const std::string>(*connect.username) : nullptr);
    session_->listener.store(&listener_, std::memory_order_release);
    phase_ = Phase::Connected;

    session::Session& state = session_->state;
    state.version = version;
    if (version == ProtocolVersion::V5) {
        state.expiry_interval =
            connect.properties.number(PropertyId::SessionExpiryInterval).value_or(0);
    } else {
        state.expiry_interval = connect.clean_start ? 0 : session::kSessionNeverExpires;
    }
    state.will = std::move(connect.will);
    state.outbound().set_receive_maximum(static_cast<std::uint16_t>(
        connect.properties.number(PropertyId::ReceiveMaximum).value_or(65535)));
    // The client's terms (3.1.2.11) and ours, for this connection.
    const connection::KeepAliveTerms keep_alive =
        connection::negotiate_keep_alive(connect.keep_alive, config.max_keepalive, version);
    connection::PeerLimits client{version, client_maximum_packet_size, true};
    std::uint16_t outgoing_aliases = 0;
    if (version == ProtocolVersion::V5) {
        client.problem_information =
            connect.properties.number(PropertyId::RequestProblemInformation).value_or(1) != 0;
        inbound_window_ = connection::InboundWindow(config.receive_maximum);
        outgoing_aliases = static_cast<std::uint16_t>(std::min<std::uint32_t>(
            config.outgoing_topic_alias_maximum,
            connect.properties.number(PropertyId::TopicAliasMaximum).value_or(0)));
    }
    core_.set_peer(client, outgoing_aliases, keep_alive.seconds, Clock::now());
    session_->client_maximum_packet_size = client_maximum_packet_size;
    session_->client_topic_aliases = core_.outbound_aliases().enabled();
    if (config.max_inbound_message_rate > 0) {
        const double rate = config.max_inbound_message_rate;
        publish_rate_.emplace(rate, rate, Clock::now());  // a burst as large as the rate
    }
    // Stored before anything is delivered to it (rule 4 in session_recorder.hpp).
    worker_.recorder().connected(*session_);

    protocol::Connack connack;
    connack.session_present = present;
    if (keep_alive.announce) {
        connack.properties.add_number(PropertyId::ServerKeepAlive, keep_alive.seconds);
    }
    if (version == ProtocolVersion::V5) {
        if (accepted.client_id_assigned) {
            connack.properties.add_text(PropertyId::AssignedClientIdentifier, state.client_id());
        }
        server_capabilities(config).announce(connack.properties);
        if (connect.properties.number(PropertyId::RequestResponseInformation).value_or(0) == 1 &&
            !config.response_topic_prefix.empty()) {
            // [MQTT-3.1.2-28] only when asked for.
            connack.properties.add_text(PropertyId::ResponseInformation,
                                        config.response_topic_prefix + state.client_id());
        }
        if (accepted.authentication) {
            connack.properties.add_text(PropertyId::AuthenticationMethod,
                                        accepted.authentication->method);
            if (!accepted.authentication->data.empty()) {
                connack.properties.add_text(PropertyId::AuthenticationData,
                                            accepted.authentication->data);
            }
        }
    }
    if (version == ProtocolVersion::V5 && client_maximum_packet_size > 0) {
        leave_out_optional_properties(connack, client_maximum_packet_size);
        if (!connack.properties.contains(PropertyId::TopicAliasMaximum)) {
            // None announced: none accepted.
            core_.inbound_aliases() = connection::InboundTopicAliases(0);
        }
    }
    if (!send(connack) && phase_ == Phase::Closed) {
        return;  // not even the smallest CONNACK fits the client's limit
    }
    worker_.log().info("{} connected (MQTT {}, clean start {}, keep-alive {} s{}) on worker {}",
                       describe(),
                       version == ProtocolVersion::V5     ? "5.0"
                       : version == ProtocolVersion::V311 ? "3.1.1"
                                                          : "3.1",
                       connect.clean_start, core_.keep_alive().seconds(),
                       present ? ", session resumed" : "", worker_.index());
    // [MQTT-4.4.0-1] resend what was in flight, then what queued while away.
    worker_.dispatch_outbound(session_, state.outbound().resume());
    worker_.refill(session_);
}

}  // namespace petrel::broker
