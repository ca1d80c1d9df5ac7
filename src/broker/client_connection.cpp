// The socket side of a client connection and the events of its endpoint. What the broker
// does with each event lives in connect_flow.cpp, auth_flow.cpp and message_flow.cpp.
#include "client_connection.hpp"

#include "petrel/connection/publish_encoder.hpp"
#include "server_capabilities.hpp"
#include "worker.hpp"

namespace petrel::broker {

using protocol::ReasonCode;

ClientConnection::ClientConnection(Worker& worker, int fd, std::string peer, std::string unread,
                                   net::TlsSessionPtr tls, ConnectionSlot slot,
                                   const ListenerPolicy& listener)
    : worker_(worker),
      listener_(listener),
      slot_(std::move(slot)),
      peer_(peer),
      endpoint_(server_settings(worker_.context().config), Clock::now()) {
    stream_ = std::make_unique<net::Stream>(
        worker_.loop(), fd, std::move(peer),
        net::Stream::Callbacks{[this](std::string& input) { on_data(input); },
                               [this](std::error_code error) { on_stream_closed(error); }},
        std::move(unread), std::move(tls));
}

ClientConnection::~ClientConnection() = default;

const std::string& ClientConnection::client_id() const {
    static const std::string kNone;
    return session_ ? session_->state.client_id() : kNone;
}

std::string ClientConnection::describe() const {
    if (session_) {
        return "client '" + session_->state.client_id() + "' (" + peer_ + ")";
    }
    return "connection " + peer_;
}

void ClientConnection::on_data(std::string& input) {
    const Clock::time_point now = Clock::now();
    std::size_t consumed = 0;
    while (!closed_ && consumed < input.size()) {
        const protocol::ByteView rest(
            reinterpret_cast<const std::uint8_t*>(input.data()) + consumed,
            input.size() - consumed);
        const std::size_t read = endpoint_.receive(rest, now);
        consumed += read;
        handle_events();
        if (read == 0 || pending_handover_ ||
            endpoint_.phase() == connection::ServerEndpoint::Phase::Connecting) {
            break;
        }
    }
    if (closed_) {
        input.clear();
        return;
    }
    input.erase(0, consumed);
    if (pending_handover_) {
        PendingHandover handover = std::move(*pending_handover_);
        pending_handover_.reset();
        hand_over(std::move(handover));
        return;
    }
    if (endpoint_.phase() == connection::ServerEndpoint::Phase::Connecting) {
        stream_->pause_reading();  // a password check: resumed by on_credentials_checked
    }
}

void ClientConnection::handle_events() {
    // One batch per nesting level, kept with its capacity: no allocation per packet. A level
    // beyond the kept ones (never seen) gets a batch of its own.
    std::vector<connection::ServerEvent> deeper;
    std::vector<connection::ServerEvent>& events =
        event_depth_ < event_batches_.size() ? event_batches_[event_depth_] : deeper;
    endpoint_.take_events(events);
    ++event_depth_;
    for (connection::ServerEvent& event : events) {
        handle(event);
        if (endpoint_.has_events()) {
            handle_events();  // what this one produced comes before the next
        }
    }
    --event_depth_;
    events.clear();
}

void ClientConnection::handle(connection::ServerEvent& event) {
    if (closed_) {
        // Acknowledgements read in the same batch before the end: the session's flow has
        // let them go, so the store must too. Nothing else happens after the end.
        if (auto* acknowledged = std::get_if<connection::DeliveryAcknowledged>(&event)) {
            if (acknowledged->completed) {
                worker_.recorder().delivery_completed(*session_, acknowledged->packet_id);
            } else {
                worker_.recorder().pubrec_received(*session_, acknowledged->packet_id);
            }
        }
        return;
    }
    std::visit(
        [this](auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, connection::SendBytes>) {
                if (stream_->is_open()) {
                    stream_->send(e.bytes);
                }
            } else if constexpr (std::is_same_v<T, connection::ConnectReceived>) {
                handle_connect(std::move(e.connect));
            } else if constexpr (std::is_same_v<T, connection::AuthReceived>) {
                handle_auth(e);
            } else if constexpr (std::is_same_v<T, connection::PublishReceived>) {
                handle_publish(std::move(e.publish));
            } else if constexpr (std::is_same_v<T, connection::DeliveryAcknowledged>) {
                handle_acknowledged(e);
            } else if constexpr (std::is_same_v<T, connection::ReleaseReceived>) {
                handle_release(e);
            } else if constexpr (std::is_same_v<T, connection::AcknowledgementIgnored>) {
                worker_.log().debug("{}: {} for unknown packet id {}", describe(),
                                    protocol::to_string(e.type), e.packet_id);
            } else if constexpr (std::is_same_v<T, connection::SubscribeReceived>) {
                handle_subscribe(std::move(e.subscribe));
            } else if constexpr (std::is_same_v<T, connection::UnsubscribeReceived>) {
                handle_unsubscribe(std::move(e.unsubscribe));
            } else if constexpr (std::is_same_v<T, connection::ConnectionEnded>) {
                on_ended(e);
            }
        },
        event);
}

void ClientConnection::on_ended(const connection::ConnectionEnded& ended) {
    using Cause = connection::ConnectionEnded::Cause;
    switch (ended.cause) {
        case Cause::ConnectRefused:
            worker_.log().info("{}: CONNECT refused: {} ({})", describe(),
                               protocol::to_string(ended.reason), ended.why);
            break;
        case Cause::ProtocolViolation:
            worker_.log().info("{}: {} ({}), closing", describe(),
                               protocol::to_string(ended.reason), ended.why);
            break;
        case Cause::KeepAliveTimeout:
            worker_.log().info("{}: {}", describe(), ended.why);
            break;
        case Cause::RateExceeded:
            worker_.log().warn(
                "{}: more than max_inbound_message_rate {} PUBLISH packets per second, "
                "disconnecting",
                describe(), worker_.context().config.max_inbound_message_rate);
            break;
        case Cause::ClientDisconnect:
            worker_.log().debug("{}: DISCONNECT ({})", describe(),
                                protocol::to_string(ended.reason));
            break;
        case Cause::ServerDisconnect:
            break;  // whoever asked for it has said why
        case Cause::NotConnectFirst:
        case Cause::ConnectTimeout:
        case Cause::OverClientLimit:
            worker_.log().info("{}: {}, closing", describe(), ended.why);
            break;
    }
    finish(ended.publish_will);
}

bool ClientConnection::send(const protocol::Packet& packet) {
    if (closed_ || !stream_->is_open()) {
        return false;
    }
    const bool sent = endpoint_.send(packet);
    handle_events();
    return sent;
}

std::size_t ClientConnection::publish_size(const session::Delivery& delivery,
                                           protocol::ProtocolVersion version) {
    // The largest form: the full topic (no mount point taken off, no alias), a packet id,
    // any Message Expiry Interval. Arithmetic on lengths, nothing is encoded.
    return connection::encoded_size(connection::frame_delivery(
        delivery, delivery.qos > 0 ? protocol::PacketId{1} : protocol::PacketId{0}, false, version,
        delivery.message->topic, nullptr, 0));
}

void ClientConnection::send_outbound(std::vector<session::OutboundPacket> packets) {
    if (gate_.empty()) {
        write_outbound(packets);
        return;
    }
    gate_.run_in_order([this, packets = std::move(packets)](const store::CommitResult&) {
        write_outbound(packets);
    });
}

CommitToken ClientConnection::send_after_commit(std::vector<session::OutboundPacket> packets) {
    // A failed commit sends them all the same: the in-memory flow has them in flight, and
    // only a crash before the next successful commit could tell the difference.
    return reply_after_commit([this, packets = std::move(packets)](const store::CommitResult&) {
        write_outbound(packets);
    });
}

CommitToken ClientConnection::reply_after_commit(ReplyGate::Reply reply) {
    const ReplyGate::Ticket ticket = gate_.open(std::move(reply));
    std::weak_ptr<char> alive = alive_;
    return make_commit_token(worker_.loop(),
                             [this, alive, ticket](const store::CommitResult& result) {
                                 if (alive.lock()) {
                                     gate_.complete(ticket, result);
                                 }
                             });
}

void ClientConnection::write_outbound(const std::vector<session::OutboundPacket>& packets) {
    if (!connected()) {
        return;
    }
    const std::int64_t now_ms = wall_clock_ms();
    for (const session::OutboundPacket& packet : packets) {
        if (packet.kind == session::OutboundPacket::Kind::Pubrel) {
            send(protocol::Pubrel{packet.packet_id, ReasonCode::Success, {}});
            continue;
        }
        // Header per subscriber, payload and forwarded properties shared by all of them.
        const session::Message& message = *packet.delivery.message;
        const connection::PublishFrame frame =
            endpoint_.frame(packet, listener_.unmount_topic(message.topic), now_ms);
        encode_buffer_.clear();
        connection::write_header(frame, encode_buffer_);
        stream_->send(encode_buffer_);
        if (frame.payload_size > 0) {
            stream_->send_shared(message.payload);
        }
    }
    const std::size_t limit = worker_.context().config.max_output_buffer_bytes;
    if (limit > 0 && stream_->pending_output_bytes() > limit) {
        // QoS 1/2 are bounded by the window; what piles up is QoS 0 to a client that does
        // not read. Its session keeps its QoS 1/2 state for the next connection.
        worker_.log().warn(
            "{}: {} bytes waiting to be written (max_output_buffer_bytes {}), "
            "disconnecting",
            describe(), stream_->pending_output_bytes(), limit);
        disconnect(ReasonCode::QuotaExceeded);
    }
}

void ClientConnection::tick(Clock::time_point now) {
    if (closed_) {
        // A peer that stops reading cannot keep a closing connection alive.
        if (now - closed_at_ > std::chrono::seconds(5)) {
            stream_->close();
        }
        return;
    }
    endpoint_.tick(now);
    handle_events();
}

void ClientConnection::disconnect(protocol::DisconnectReason reason, bool publish_will,
                                  std::string_view why) {
    if (closed_) {
        return;
    }
    endpoint_.disconnect(reason, publish_will, why);
    handle_events();
}

void ClientConnection::on_stream_closed(std::error_code error) {
    if (closed_) {
        // We asked for the close: the last bytes are out (or given up on).
        worker_.retire(this);
        return;
    }
    if (!stream_->tls_error().empty()) {
        worker_.log().info("{}: {}", describe(), stream_->tls_error());
    } else if (error) {
        worker_.log().info("{}: connection lost: {}", describe(), error.message());
    } else {
        worker_.log().debug("{}: closed by the client", describe());
    }
    endpoint_.transport_closed();
    finish(true);  // no DISCONNECT came first: the will is due [MQTT-3.1.2-8]
    worker_.retire(this);
}

void ClientConnection::finish(bool publish_will) {
    if (closed_) {
        return;
    }
    closed_ = true;
    closed_at_ = Clock::now();
    if (session_) {
        worker_.detach_session(*this, publish_will);
    }
    // The object stays alive until the stream has flushed what is queued (a CONNACK
    // refusal, a DISCONNECT reason) and reported its close; see on_stream_closed.
    stream_->close_after_flush();
}

}  // namespace petrel::broker
