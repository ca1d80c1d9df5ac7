// CONNECT: checks on the accepting worker, then session attach and CONNACK on the
// session's home worker.
#include <algorithm>

#include "client_connection.hpp"
#include "petrel/topic/topic_name.hpp"
#include "worker.hpp"

namespace petrel::broker {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

void ClientConnection::refuse_connect(ReasonCode reason, const char* why) {
    worker_.log().info("{}: CONNECT refused: {} ({})", describe(), protocol::to_string(reason),
                       why);
    protocol::Connack connack;
    connack.reason = reason;  // the codec maps it to a 3.1.1 return code when needed
    send(connack);
    finish(false);
}

void ClientConnection::handle_connect(protocol::Connect&& connect) {
    version_ = connect.version;
    const Config& config = worker_.context().config;
    if (!config.allow_anonymous && !connect.username) {
        refuse_connect(ReasonCode::NotAuthorized, "anonymous clients are not allowed");
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
        connect.client_id = worker_.assign_client_id();
        accepted.client_id_assigned = true;
    } else if (connect.version == ProtocolVersion::V31 && connect.client_id.size() > 23) {
        refuse_connect(ReasonCode::ClientIdentifierNotValid, "MQTT 3.1 client id over 23 bytes");
        return;
    }
    if (connect.will && !topic::is_valid_topic_name(connect.will->topic)) {
        refuse_connect(ReasonCode::TopicNameInvalid, "invalid will topic");
        return;
    }
    const unsigned home = worker_.home_worker_for(connect.client_id);
    accepted.connect = std::move(connect);
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
    const int fd = stream_->release(unread);
    phase_ = Phase::Closed;
    worker_.hand_over(fd, peer_, std::move(unread), std::move(handover.connect), handover.home);
    worker_.retire(this);
}

void ClientConnection::complete_connect(AcceptedConnect accepted) {
    protocol::Connect& connect = accepted.connect;
    version_ = connect.version;
    const Config& config = worker_.context().config;

    auto [session, present] = worker_.attach_session(*this, connect);
    session_ = session;
    phase_ = Phase::Connected;
    last_received_ = Clock::now();

    session::Session& state = session_->state;
    state.version = version_;
    if (version_ == ProtocolVersion::V5) {
        state.expiry_interval =
            connect.properties.number(PropertyId::SessionExpiryInterval).value_or(0);
    } else {
        state.expiry_interval = connect.clean_start ? 0 : session::kSessionNeverExpires;
    }
    state.will = std::move(connect.will);
    state.outbound().set_receive_maximum(static_cast<std::uint16_t>(
        connect.properties.number(PropertyId::ReceiveMaximum).value_or(65535)));
    session_->client_maximum_packet_size =
        connect.properties.number(PropertyId::MaximumPacketSize).value_or(0);
    // Stored before anything is delivered to it, so its queue entries have a session to
    // belong to; the CONNACK need not wait: until a SUBACK nothing was promised.
    worker_.record_session(session_, 0);

    keep_alive_seconds_ = connect.keep_alive;
    protocol::Connack connack;
    connack.session_present = present;
    if (config.max_keepalive > 0 &&
        (keep_alive_seconds_ == 0 || keep_alive_seconds_ > config.max_keepalive)) {
        keep_alive_seconds_ = config.max_keepalive;
        connack.properties.add_number(PropertyId::ServerKeepAlive, keep_alive_seconds_);
    }
    if (version_ == ProtocolVersion::V5) {
        if (accepted.client_id_assigned) {
            connack.properties.add_text(PropertyId::AssignedClientIdentifier, state.client_id());
        }
        if (config.max_packet_size > 0) {
            connack.properties.add_number(PropertyId::MaximumPacketSize, config.max_packet_size);
        }
        // Shared subscriptions arrive with the MQTT 5 work; say so until then.
        connack.properties.add_number(PropertyId::SharedSubscriptionAvailable, 0);
    }
    send(connack);
    worker_.log().info("{} connected (MQTT {}, clean start {}, keep-alive {} s{}) on worker {}",
                       describe(),
                       version_ == ProtocolVersion::V5     ? "5.0"
                       : version_ == ProtocolVersion::V311 ? "3.1.1"
                                                           : "3.1",
                       connect.clean_start, keep_alive_seconds_, present ? ", session resumed" : "",
                       worker_.index());
    // [MQTT-4.4.0-1] resend what was in flight, then what queued while away.
    worker_.dispatch_outbound(session_, state.outbound().resume());
    worker_.refill(session_);
}

}  // namespace petrel::broker
