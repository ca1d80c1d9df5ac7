// CONNECT: checks on the accepting worker, then session attach and CONNACK on the
// session's home worker.
#include <algorithm>

#include "client_connection.hpp"
#include "mosquitto_options.hpp"
#include "petrel/topic/topic_name.hpp"
#include "server_capabilities.hpp"
#include "worker.hpp"

namespace petrel::broker {

using protocol::ProtocolVersion;
using protocol::ReasonCode;

void ClientConnection::refuse_connect(protocol::ConnackReason reason, const char* why) {
    const Config& config = worker_.context().config;
    const bool redirected = config.server_redirect && (reason == ReasonCode::UseAnotherServer ||
                                                       reason == ReasonCode::ServerMoved);
    endpoint_.refuse(reason, why, redirected ? config.server_redirect->reference : "");
    handle_events();
}

void ClientConnection::handle_connect(protocol::Connect&& connect) {
    const Config& config = worker_.context().config;
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
    closed_ = true;
    endpoint_.transport_closed();
    handover.connect.listener = &listener_;
    worker_.hand_over(fd, peer_, std::move(unread), std::move(handover.connect), handover.home,
                      std::move(tls), std::move(slot_));
    worker_.retire(this);
}

void ClientConnection::complete_connect(AcceptedConnect accepted) {
    protocol::Connect& connect = accepted.connect;
    const Config& config = worker_.context().config;
    const Clock::time_point now = Clock::now();
    if (endpoint_.phase() == connection::ServerEndpoint::Phase::AwaitingConnect) {
        endpoint_.adopt_connect(connect, now);  // another worker read the CONNECT
    }
    if (accepted.authentication) {
        auth_username_ = connect.username.value_or("");
    }
    auto [session, present] = worker_.attach_session(*this, connect);
    session_ = session;
    session_->username.store(
        connect.username ? std::make_shared<const std::string>(*connect.username) : nullptr);
    session_->listener.store(&listener_, std::memory_order_release);

    session::Session& state = session_->state;
    connection::ConnectAccepted terms;
    terms.session_present = present;
    if (accepted.client_id_assigned) {
        terms.assigned_client_id = state.client_id();
    }
    if (!config.response_topic_prefix.empty()) {
        terms.response_information = config.response_topic_prefix + state.client_id();
    }
    if (accepted.authentication) {
        terms.authentication_method = accepted.authentication->method;
        terms.authentication_data = accepted.authentication->data;
    }
    endpoint_.accept(state, connect, terms, now);
    session_->client_maximum_packet_size = endpoint_.peer().maximum_packet_size;
    session_->client_topic_aliases = endpoint_.outbound_aliases_enabled();
    // Stored before anything is delivered to it (rule 4 in session_recorder.hpp).
    worker_.recorder().connected(*session_);
    handle_events();  // the CONNACK
    if (!connected()) {
        return;  // not even the smallest CONNACK fits the client's limit
    }
    const ProtocolVersion version = endpoint_.version();
    worker_.log().info("{} connected (MQTT {}, clean start {}, keep-alive {} s{}) on worker {}",
                       describe(),
                       version == ProtocolVersion::V5     ? "5.0"
                       : version == ProtocolVersion::V311 ? "3.1.1"
                                                          : "3.1",
                       connect.clean_start, endpoint_.keep_alive().seconds(),
                       present ? ", session resumed" : "", worker_.index());
    // [MQTT-4.4.0-1] resend what was in flight, then what queued while away.
    worker_.dispatch_outbound(session_, state.outbound().resume());
    worker_.refill(session_);
}

}  // namespace petrel::broker
