// Framing, dispatch and lifecycle of a client connection. The reaction to each packet
// lives in connect_flow.cpp and message_flow.cpp.
#include "client_connection.hpp"

#include "petrel/connection/outgoing_packet.hpp"
#include "petrel/connection/packet_reader.hpp"
#include "petrel/connection/publish_encoder.hpp"

#include "worker.hpp"

namespace petrel::broker {

using protocol::ProtocolVersion;
using protocol::ReasonCode;

ClientConnection::ClientConnection(Worker& worker, int fd, std::string peer, std::string unread,
                                   net::TlsSessionPtr tls, ConnectionSlot slot,
                                   const ListenerPolicy& listener)
    : worker_(worker),
      listener_(listener),
      slot_(std::move(slot)),
      peer_(peer),
      opened_at_(Clock::now()) {
    core_.open(ProtocolVersion::V311, worker_.context().config.max_packet_size, 0, opened_at_);
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
    core_.keep_alive().on_received(now);
    std::size_t consumed = 0;
    while (phase_ != Phase::Closed && consumed < input.size()) {
        const protocol::ByteView rest(
            reinterpret_cast<const std::uint8_t*>(input.data()) + consumed,
            input.size() - consumed);
        connection::ReadResult read = core_.read(rest, phase_ == Phase::AwaitingConnect);
        using Kind = connection::ReadResult::Kind;
        if (read.kind == Kind::Incomplete) {
            break;
        }
        if (read.kind == Kind::NotConnectFirst) {
            worker_.log().info("{}: sent {} before CONNECT, closing", describe(),
                               protocol::to_string(read.first_type));
            finish(false);
            break;
        }
        if (read.kind == Kind::RefuseConnect) {
            // Refused in the version the client claims, so that it understands why.
            core_.open(read.version, worker_.context().config.max_packet_size, 0, now);
            refuse_connect(protocol::connack_reason_for(read.error.code), read.error.what);
            break;
        }
        if (read.kind == Kind::Violation) {
            fail(read.error);
            break;
        }
        consumed += read.consumed;
        dispatch(std::move(read.packet));
        if (pending_handover_ || phase_ == Phase::CheckingCredentials) {
            break;
        }
    }
    if (phase_ == Phase::Closed) {
        input.clear();
        return;
    }
    input.erase(0, consumed);
    if (phase_ == Phase::CheckingCredentials) {
        stream_->pause_reading();  // resumed by on_credentials_checked
        return;
    }
    if (pending_handover_) {
        PendingHandover handover = std::move(*pending_handover_);
        pending_handover_.reset();
        hand_over(std::move(handover));
    }
}

void ClientConnection::dispatch(protocol::Packet&& packet) {
    if (phase_ == Phase::AwaitingConnect) {
        handle_connect(std::get<protocol::Connect>(std::move(packet)));
        return;
    }
    if (phase_ == Phase::Authenticating) {
        // 4.12: until the CONNACK only AUTH may come.
        if (auto* auth = std::get_if<protocol::Auth>(&packet)) {
            handle_auth(*auth);
        } else {
            fail(protocol::protocol_error("packet other than AUTH before CONNACK"));
        }
        return;
    }
    std::visit(
        [this](auto&& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, protocol::Connect>) {
                fail(protocol::protocol_error("second CONNECT"));  // [MQTT-3.1.0-2]
            } else if constexpr (std::is_same_v<T, protocol::Publish>) {
                handle_publish(std::forward<decltype(p)>(p));
            } else if constexpr (std::is_same_v<T, protocol::Puback>) {
                handle_puback(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubrec>) {
                handle_pubrec(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubrel>) {
                handle_pubrel(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubcomp>) {
                handle_pubcomp(p);
            } else if constexpr (std::is_same_v<T, protocol::Subscribe>) {
                handle_subscribe(std::move(p));
            } else if constexpr (std::is_same_v<T, protocol::Unsubscribe>) {
                handle_unsubscribe(std::move(p));
            } else if constexpr (std::is_same_v<T, protocol::Pingreq>) {
                send(protocol::Pingresp{});
            } else if constexpr (std::is_same_v<T, protocol::Disconnect>) {
                handle_disconnect(p);
            } else if constexpr (std::is_same_v<T, protocol::Auth>) {
                handle_auth(p);
            } else {
                fail(protocol::protocol_error("packet only a server may send"));
            }
        },
        std::move(packet));
}

bool ClientConnection::send(const protocol::Packet& packet) {
    if (phase_ == Phase::Closed || !stream_->is_open()) {
        return false;
    }
    encode_buffer_.clear();
    const connection::EncodedPacket encoded =
        connection::encode_for_peer(packet, core_.peer(), encode_buffer_);
    if (!encoded.fits) {
        close_over_client_limit(protocol::packet_type(packet), encoded.size);
        return false;
    }
    stream_->send(encode_buffer_);
    return true;
}

void ClientConnection::close_over_client_limit(protocol::PacketType type, std::size_t size) {
    worker_.log().info(
        "{}: {} of {} bytes is over the client's Maximum Packet Size ({}): "
        "not sent, closing",
        describe(), protocol::to_string(type), size, core_.peer().maximum_packet_size);
    if (type == protocol::PacketType::Disconnect) {
        return;  // whoever sends a DISCONNECT closes the connection next
    }
    if (phase_ == Phase::Connected && type != protocol::PacketType::Connack) {
        // The smallest DISCONNECT (3 bytes) fits wherever a CONNACK (5 bytes) did.
        disconnect(ReasonCode::PacketTooLarge);
        return;
    }
    // A client that got no CONNACK does not know it was connected: no will.
    finish(false);
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
    if (phase_ != Phase::Connected) {
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
        const connection::PublishFrame frame = connection::frame_delivery(
            packet, core_.version(), listener_.unmount_topic(message.topic),
            &core_.outbound_aliases(), now_ms);
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
    if (phase_ == Phase::Closed) {
        // A peer that stops reading cannot keep a closing connection alive.
        if (now - closed_at_ > std::chrono::seconds(5)) {
            stream_->close();
        }
        return;
    }
    if (phase_ == Phase::AwaitingConnect || phase_ == Phase::Authenticating ||
        phase_ == Phase::CheckingCredentials) {
        const auto timeout = std::chrono::seconds(worker_.context().config.connect_timeout_seconds);
        if (now - opened_at_ > timeout) {
            worker_.log().info("{}: no CONNECT within {} s, closing", describe(), timeout.count());
            finish(false);
        }
        return;
    }
    if (phase_ == Phase::Connected && core_.keep_alive().expired(now)) {
        worker_.log().info("{}: keep-alive timeout ({} s)", describe(),
                           core_.keep_alive().seconds());
        disconnect(ReasonCode::KeepAliveTimeout);
    }
}

void ClientConnection::fail(const protocol::Error& error) {
    if (phase_ == Phase::Closed) {
        return;
    }
    if (phase_ == Phase::Authenticating) {
        // No CONNACK yet: it carries the reason.
        refuse_connect(protocol::connack_reason_for(error.code), error.what);
        return;
    }
    worker_.log().info("{}: {} ({}), closing", describe(), protocol::to_string(error.code),
                       error.what);
    // [MQTT-4.13.1-1] a v5 server may send DISCONNECT with the reason before closing.
    if (phase_ == Phase::Connected && core_.version() == ProtocolVersion::V5) {
        protocol::Disconnect disconnect{protocol::disconnect_reason_for(error.code), {}};
        disconnect.properties.add_text(protocol::PropertyId::ReasonString, error.what);
        send(disconnect);
    }
    finish(true);
}

void ClientConnection::disconnect(protocol::DisconnectReason reason, bool publish_will,
                                  std::string_view why) {
    if (phase_ == Phase::Closed) {
        return;
    }
    if (phase_ == Phase::Connected && core_.version() == ProtocolVersion::V5) {
        protocol::Disconnect disconnect{reason, {}};
        if (!why.empty()) {
            disconnect.properties.add_text(protocol::PropertyId::ReasonString, std::string(why));
        }
        send(disconnect);
    }
    finish(publish_will);
}

void ClientConnection::on_stream_closed(std::error_code error) {
    if (phase_ == Phase::Closed) {
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
    finish(true);  // no DISCONNECT came first: the will is due [MQTT-3.1.2-8]
    worker_.retire(this);
}

void ClientConnection::finish(bool publish_will) {
    if (phase_ == Phase::Closed) {
        return;
    }
    const bool was_connected = phase_ == Phase::Connected;
    phase_ = Phase::Closed;
    closed_at_ = Clock::now();
    if (was_connected) {
        worker_.detach_session(*this, publish_will);
    }
    // The object stays alive until the stream has flushed what is queued (a CONNACK
    // refusal, a DISCONNECT reason) and reported its close; see on_stream_closed.
    stream_->close_after_flush();
}

}  // namespace petrel::broker
