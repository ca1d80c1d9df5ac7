// The client role's connection lifecycle: CONNECT and CONNACK, resuming or restarting the
// session, dispatch of what the server sends, keep alive, and closing. Publishing and its
// acknowledgements are in client_publish.cpp, subscriptions in client_subscribe.cpp.
#include "petrel/connection/client_endpoint.hpp"

#include <algorithm>
#include <type_traits>

namespace petrel::connection {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

ClientEndpoint::ClientEndpoint(std::size_t max_inflight)
    : max_inflight_(max_inflight), flow_(session::OutboundLimits{max_inflight, 0, 0, 0, 0}) {}

void ClientEndpoint::start(ClientOptions options, TimePoint now) {
    now_ = now;
    if (phase_ == Phase::AwaitingConnack || phase_ == Phase::Connected) {
        connection_lost();
    }
    options_ = std::move(options);
    options_.receive_maximum = std::max<std::uint16_t>(1, options_.receive_maximum);  // 0: invalid
    const bool v5 = options_.version == ProtocolVersion::V5;
    // A 3.1.1 client cannot announce a Maximum Packet Size, so holds the server to none.
    core_.open(options_.version, v5 ? options_.maximum_packet_size : 0,
               options_.topic_alias_maximum, now);
    phase_ = Phase::AwaitingConnack;
    started_at_ = now;
    inbound_window_ = our_window();
    ping_sent_at_.reset();

    protocol::Connect connect;
    connect.version = options_.version;
    connect.clean_start = options_.clean_start;
    connect.keep_alive = options_.keep_alive;
    connect.client_id = options_.client_id;
    connect.will = options_.will;
    connect.username = options_.username;
    connect.password = options_.password;
    if (v5) {
        if (options_.session_expiry != 0) {
            connect.properties.add_number(PropertyId::SessionExpiryInterval,
                                          options_.session_expiry);
        }
        if (options_.receive_maximum != 0xFFFF) {
            connect.properties.add_number(PropertyId::ReceiveMaximum, options_.receive_maximum);
        }
        if (options_.maximum_packet_size != 0) {
            connect.properties.add_number(PropertyId::MaximumPacketSize,
                                          options_.maximum_packet_size);
        }
        if (options_.topic_alias_maximum != 0) {
            connect.properties.add_number(PropertyId::TopicAliasMaximum,
                                          options_.topic_alias_maximum);
        }
    }
    write(connect);
}

void ClientEndpoint::receive(protocol::ByteView bytes, TimePoint now) {
    now_ = now;
    if (phase_ != Phase::AwaitingConnack && phase_ != Phase::Connected) {
        return;  // nothing is read once the connection is over
    }
    core_.append(bytes, now);
    while (phase_ == Phase::AwaitingConnack || phase_ == Phase::Connected) {
        const auto type = core_.next_type();
        if (phase_ == Phase::AwaitingConnack && type && *type != protocol::PacketType::Connack) {
            // Known from the first byte: no need to wait for the rest of whatever this is.
            fail(protocol::protocol_error("packet other than CONNACK before CONNACK"));
            return;
        }
        ReadResult read = core_.next_packet(false);
        if (read.kind == ReadResult::Kind::Incomplete) {
            return;
        }
        if (read.kind != ReadResult::Kind::Packet) {
            fail(read.error);
            return;
        }
        dispatch(std::move(read.packet));
    }
}

void ClientEndpoint::dispatch(protocol::Packet&& packet) {
    if (phase_ == Phase::AwaitingConnack) {
        // [MQTT-3.2.0-1] the server's first packet is CONNACK (AUTH only after an
        // Authentication Method, which this side never sends).
        if (auto* connack = std::get_if<protocol::Connack>(&packet)) {
            on_connack(*connack);
        } else {
            fail(protocol::protocol_error("packet other than CONNACK before CONNACK"));
        }
        return;
    }
    std::visit(
        [this](auto&& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, protocol::Connack>) {
                fail(protocol::protocol_error("second CONNACK"));
            } else if constexpr (std::is_same_v<T, protocol::Publish>) {
                on_publish(std::forward<decltype(p)>(p));
            } else if constexpr (std::is_same_v<T, protocol::Puback>) {
                on_puback(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubrec>) {
                on_pubrec(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubrel>) {
                on_pubrel(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubcomp>) {
                on_pubcomp(p);
            } else if constexpr (std::is_same_v<T, protocol::Suback>) {
                on_suback(p);
            } else if constexpr (std::is_same_v<T, protocol::Unsuback>) {
                on_unsuback(p);
            } else if constexpr (std::is_same_v<T, protocol::Pingresp>) {
                ping_sent_at_.reset();
            } else if constexpr (std::is_same_v<T, protocol::Disconnect>) {
                on_disconnect(p);
            } else if constexpr (std::is_same_v<T, protocol::Auth>) {
                fail(protocol::protocol_error("AUTH without an Authentication Method"));
            } else {
                // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ.
                fail(protocol::protocol_error("packet only a client may send"));
            }
        },
        std::move(packet));
}

void ClientEndpoint::on_connack(const protocol::Connack& connack) {
    if (protocol::is_failure(connack.reason)) {
        const auto why = connack.properties.text(PropertyId::ReasonString);
        emit(ConnectRefused{connack.reason, why ? std::string(*why) : std::string()});
        phase_ = Phase::Closed;  // the server closes the connection [MQTT-3.2.2-7]
        return;
    }
    if (connack.session_present && options_.clean_start) {
        // [MQTT-3.2.2-4] we asked for a new session: one the server says it kept is not ours.
        fail(protocol::protocol_error("Session Present after Clean Start"));
        return;
    }
    const protocol::Properties& properties = connack.properties;
    Connected connected;
    connected.session_present = connack.session_present;
    connected.server = ServerCapabilities::read(properties);
    if (const auto assigned = properties.text(PropertyId::AssignedClientIdentifier)) {
        connected.assigned_client_id = std::string(*assigned);
    }
    // [MQTT-3.2.2-22] the Server Keep Alive replaces ours.
    connected.keep_alive = static_cast<std::uint16_t>(
        properties.number(PropertyId::ServerKeepAlive).value_or(options_.keep_alive));
    connected.properties = properties;

    core_.set_peer(PeerLimits{options_.version, connected.server.maximum_packet_size, true},
                   connected.server.topic_alias_maximum, connected.keep_alive, now_);
    server_ = connected.server;
    phase_ = Phase::Connected;
    // Session Present after Clean Start 0: the server kept the session we asked it to keep
    // (this object's, or one the embedder restored after a restart of its own).
    const bool resume = connack.session_present;
    const std::uint16_t receive_maximum = connected.server.receive_maximum;
    emit(std::move(connected));
    if (resume) {
        flow_.set_receive_maximum(receive_maximum);
        requeue_above_maximum_qos();
        resume_session();
    } else {
        restart_session(receive_maximum);
    }
    fill_window();
}

void ClientEndpoint::resume_session() {
    // The server kept the session: what was in flight goes again first, PUBLISH with
    // DUP=1 and PUBREL, in the order first sent [MQTT-4.4.0-1], as far as its Receive
    // Maximum allows [MQTT-3.3.4-9]; then the SUBSCRIBE/UNSUBSCRIBE left unanswered.
    write_flow(flow_.resume());
    std::vector<Request> requests = std::move(unsent_requests_);
    unsent_requests_.clear();
    for (Request& request : requests) {
        send_request(std::move(request));
    }
}

void ClientEndpoint::requeue_above_maximum_qos() {
    // [MQTT-3.2.2-11] a server whose Maximum QoS is now below a flight's QoS cannot take it
    // again as it was: the PUBLISHes not yet acknowledged go back to wait, ahead of the
    // others and in their order, to be sent as new messages at the QoS the server allows.
    // A flight past PUBREC only needs its PUBREL: it stays.
    std::vector<session::Delivery> requeue;
    std::vector<protocol::PacketId> ids;
    for (const session::InflightMessage& flight : flow_.inflight()) {
        if (flight.state != session::OutboundState::AwaitingPubcomp &&
            flight.delivery.qos > server_.maximum_qos) {
            requeue.push_back(flight.delivery);
            ids.push_back(flight.packet_id);
        }
    }
    for (const protocol::PacketId id : ids) {
        // What the flow says is due now is not: resume() decides that, from the start.
        static_cast<void>(flow_.drop_unsent(id));
    }
    pending_.insert(pending_.begin(), requeue.begin(), requeue.end());
}

void ClientEndpoint::restart_session(std::uint16_t receive_maximum) {
    // A new session on the server (first connection, or it lost ours): it holds none of
    // our flights, subscriptions or QoS 2 ids [MQTT-3.2.2-5]. Messages it acknowledged
    // with PUBREC are its own now; the others start again as new messages, ahead of those
    // still waiting and in their order.
    std::vector<session::Delivery> restart;
    for (const session::InflightMessage& flight : flow_.inflight()) {
        if (flight.state == session::OutboundState::AwaitingPubcomp) {
            emit(PublishCompleted{flight.packet_id, flight.delivery.seq, ReasonCode::Success});
        } else {
            restart.push_back(flight.delivery);
        }
    }
    pending_.insert(pending_.begin(), restart.begin(), restart.end());
    flow_ = session::OutboundFlow(session::OutboundLimits{max_inflight_, 0, 0, 0, 0});
    last_flow_id_ = 0;  // a new flow numbers from 1 again
    flow_.set_receive_maximum(receive_maximum);
    inbound_qos2_ = session::InboundQos2();
    unacknowledged_.clear();  // nobody will resend them: their acknowledgements go nowhere
    inbound_window_ = our_window();

    // Requests still unanswered are covered by one SUBSCRIBE of everything the session
    // should hold; an UNSUBSCRIBE has nothing left to remove.
    for (Request& request : unsent_requests_) {
        if (!request.subscribe) {
            std::vector<protocol::UnsubackReason> reasons(request.filters.size(),
                                                          ReasonCode::NoSubscriptionExisted);
            emit(Unsubscribed{std::move(request.filters), std::move(reasons)});
        }
    }
    unsent_requests_.clear();
    if (!subscriptions_.empty()) {
        send_request(Request{subscriptions_, {}, true});
    }
}

void ClientEndpoint::on_disconnect(const protocol::Disconnect& disconnect) {
    if (core_.version() != ProtocolVersion::V5) {
        fail(protocol::protocol_error("DISCONNECT from a 3.1.1 server"));
        return;
    }
    const auto why = disconnect.properties.text(PropertyId::ReasonString);
    close(Closed{Closed::Cause::ServerDisconnect, disconnect.reason,
                 why ? std::string(*why) : std::string("DISCONNECT from the server")});
}

void ClientEndpoint::tick(TimePoint now) {
    now_ = now;
    if (phase_ == Phase::AwaitingConnack) {
        if (now - started_at_ >= options_.connect_timeout) {
            close(Closed{Closed::Cause::ConnectTimeout, ReasonCode::UnspecifiedError,
                         "no CONNACK within the connect timeout"});
        }
        return;
    }
    if (phase_ != Phase::Connected) {
        return;
    }
    const KeepAlive& keep_alive = core_.keep_alive();
    if (ping_sent_at_) {
        // 3.1.2.10: a PINGRESP that does not come within a reasonable time (the keep
        // alive) means the connection is gone. A client has no DISCONNECT reason for this.
        if (now - *ping_sent_at_ >= std::chrono::seconds(keep_alive.seconds())) {
            close(Closed{Closed::Cause::KeepAliveTimeout, ReasonCode::KeepAliveTimeout,
                         "no PINGRESP within the keep alive"});
        }
        return;
    }
    if (keep_alive.ping_due(now)) {
        // [MQTT-3.1.2-23] nothing sent for the keep alive.
        if (write(protocol::Pingreq{})) {
            ping_sent_at_ = now;
        }
    }
}

void ClientEndpoint::connection_lost() {
    if (phase_ == Phase::Idle) {
        return;
    }
    phase_ = Phase::Idle;
    ping_sent_at_.reset();
    // A QoS 1 PUBLISH not acknowledged comes again on the next connection (at least once);
    // a QoS 2 one stays until the embedder acknowledges it (its id is in inbound_qos2_).
    std::erase_if(unacknowledged_, [](const auto& entry) { return entry.second.qos == 1; });
    inbound_window_ = our_window();
    for (auto& [id, request] : requests_) {
        unsent_requests_.push_back(std::move(request));
    }
    requests_.clear();
}

void ClientEndpoint::disconnect(protocol::DisconnectReason reason, TimePoint now) {
    now_ = now;
    if (phase_ != Phase::AwaitingConnack && phase_ != Phase::Connected) {
        return;
    }
    // 3.1.1 DISCONNECT has no reason: the codec leaves it out.
    write(protocol::Disconnect{reason, {}});
    close(Closed{Closed::Cause::Requested, reason, "disconnect requested"});
}

void ClientEndpoint::fail(const protocol::Error& error) {
    if (phase_ != Phase::AwaitingConnack && phase_ != Phase::Connected) {
        return;
    }
    // [MQTT-4.13.1-1] a v5 client may say why before it closes.
    if (core_.version() == ProtocolVersion::V5) {
        protocol::Disconnect disconnect{protocol::disconnect_reason_for(error.code), {}};
        disconnect.properties.add_text(PropertyId::ReasonString, error.what);
        write(disconnect);
    }
    close(Closed{Closed::Cause::ProtocolViolation, error.code, error.what});
}

void ClientEndpoint::close(Closed closed) {
    emit(std::move(closed));
    connection_lost();
    phase_ = Phase::Closed;
}

bool ClientEndpoint::write(const protocol::Packet& packet) {
    std::string bytes;
    if (!core_.write(packet, bytes, now_).fits) {
        return false;
    }
    append_output(std::move(bytes));
    return true;
}

void ClientEndpoint::append_output(std::string bytes) {
    if (!events_.empty()) {
        if (auto* last = std::get_if<SendBytes>(&events_.back())) {
            last->bytes += bytes;  // one write for what goes out together
            return;
        }
    }
    events_.emplace_back(SendBytes{std::move(bytes)});
}

void ClientEndpoint::emit(ClientEvent event) {
    events_.push_back(std::move(event));
}

std::vector<ClientEvent> ClientEndpoint::take_events() {
    std::vector<ClientEvent> events;
    events.swap(events_);
    return events;
}

}  // namespace petrel::connection

namespace petrel::connection {

InboundWindow ClientEndpoint::our_window() const {
    // MQTT 3.1.1 announces no Receive Maximum: nothing is held against the server.
    return InboundWindow(options_.version == ProtocolVersion::V5 ? options_.receive_maximum
                                                                 : std::uint16_t{0});
}

}  // namespace petrel::connection
