// Framing, dispatch, the phases and the end of a connection in the server role. CONNECT
// and AUTH are in server_connect.cpp, PUBLISH and acknowledgements in server_publish.cpp.
#include "petrel/connection/server_endpoint.hpp"

#include <algorithm>
#include <string>

#include "petrel/connection/subscribe_rules.hpp"

namespace petrel::connection {

using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

ServerEndpoint::ServerEndpoint(const ServerSettings& settings, TimePoint now)
    : settings_(settings), opened_at_(now) {
    core_.open(ProtocolVersion::V311, settings_.capabilities.maximum_packet_size, 0, now);
}

std::size_t ServerEndpoint::receive(protocol::ByteView bytes, TimePoint now) {
    if (phase_ == Phase::Ended) {
        return 0;
    }
    now_ = now;
    core_.keep_alive().on_received(now);
    std::size_t consumed = 0;
    while (consumed < bytes.size() &&
           (phase_ == Phase::AwaitingConnect || phase_ == Phase::Authenticating ||
            phase_ == Phase::Connected)) {
        ReadResult read = core_.read(bytes.subspan(consumed), phase_ == Phase::AwaitingConnect);
        using Kind = ReadResult::Kind;
        if (read.kind == Kind::Incomplete) {
            break;
        }
        if (read.kind == Kind::NotConnectFirst) {
            end(ConnectionEnded{
                ConnectionEnded::Cause::NotConnectFirst, false, ReasonCode::ProtocolError,
                "sent " + std::string(protocol::to_string(read.first_type)) + " before CONNECT"});
            break;
        }
        if (read.kind == Kind::RefuseConnect) {
            // Refused in the version the client claims, so that it understands why.
            core_.open(read.version, settings_.capabilities.maximum_packet_size, 0, now);
            refuse(protocol::connack_reason_for(read.error.code), read.error.what);
            break;
        }
        if (read.kind == Kind::Violation) {
            fail(read.error);
            break;
        }
        consumed += read.consumed;
        const std::size_t before = events_.size();
        dispatch(std::move(read.packet));
        const bool for_embedder = std::any_of(
            events_.begin() + static_cast<std::ptrdiff_t>(before), events_.end(),
            [](const ServerEvent& event) { return !std::holds_alternative<SendBytes>(event); });
        if (for_embedder) {
            break;
        }
    }
    return consumed;
}

void ServerEndpoint::dispatch(protocol::Packet&& packet) {
    if (phase_ == Phase::AwaitingConnect) {
        on_connect(std::get<protocol::Connect>(std::move(packet)));
        return;
    }
    if (phase_ == Phase::Authenticating) {
        // 4.12: until the CONNACK only AUTH may come.
        if (auto* auth = std::get_if<protocol::Auth>(&packet)) {
            on_auth(*auth);
        } else if (auto* disconnect = std::get_if<protocol::Disconnect>(&packet)) {
            // [MQTT-3.1.2-30] the client may give up: no CONNACK, no session, no will.
            end(ConnectionEnded{
                ConnectionEnded::Cause::ClientDisconnect, false, disconnect->reason.code(), {}});
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
                on_publish(std::forward<decltype(p)>(p));
            } else if constexpr (std::is_same_v<T, protocol::Puback>) {
                on_puback(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubrec>) {
                on_pubrec(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubrel>) {
                on_pubrel(p);
            } else if constexpr (std::is_same_v<T, protocol::Pubcomp>) {
                on_pubcomp(p);
            } else if constexpr (std::is_same_v<T, protocol::Subscribe>) {
                on_subscribe(std::forward<decltype(p)>(p));
            } else if constexpr (std::is_same_v<T, protocol::Unsubscribe>) {
                emit<UnsubscribeReceived>(std::forward<decltype(p)>(p));
            } else if constexpr (std::is_same_v<T, protocol::Pingreq>) {
                send(protocol::Pingresp{});
            } else if constexpr (std::is_same_v<T, protocol::Disconnect>) {
                on_disconnect(p);
            } else if constexpr (std::is_same_v<T, protocol::Auth>) {
                on_auth(p);
            } else {
                fail(protocol::protocol_error("packet only a server may send"));
            }
        },
        std::move(packet));
}

void ServerEndpoint::on_subscribe(protocol::Subscribe&& subscribe) {
    if (const auto violation = subscribe_violation(subscribe)) {
        fail(*violation);
        return;
    }
    emit<SubscribeReceived>(std::move(subscribe));
}

void ServerEndpoint::answer_subscribe(protocol::Suback suback) {
    if (core_.version() == ProtocolVersion::V5 &&
        std::any_of(suback.reasons.begin(), suback.reasons.end(), protocol::is_failure)) {
        suback.properties.add_text(PropertyId::ReasonString,
                                   "some filters were refused; see the reason code of each");
    }
    send(suback);
}

void ServerEndpoint::on_disconnect(const protocol::Disconnect& disconnect) {
    if (const auto expiry = disconnect.properties.number(PropertyId::SessionExpiryInterval)) {
        // [MQTT-3.14.2-2] a session that ends at disconnect cannot be revived here.
        if (session_->expiry_interval == 0 && *expiry != 0) {
            fail(protocol::protocol_error("session expiry set on DISCONNECT after 0 at CONNECT"));
            return;
        }
        session_->expiry_interval = *expiry;
    }
    // [MQTT-3.14.4-3] a normal DISCONNECT (0x00) discards the will. Only 0x00 does
    // [MQTT-3.1.2-8]: 0x04 asks for it, and a client that ends with an error keeps it.
    end(ConnectionEnded{ConnectionEnded::Cause::ClientDisconnect,
                        disconnect.reason != ReasonCode::Success,
                        disconnect.reason.code(),
                        {}});
}

void ServerEndpoint::tick(TimePoint now) {
    if (phase_ == Phase::Ended) {
        return;
    }
    if (phase_ != Phase::Connected) {
        if (now - opened_at_ > settings_.connect_timeout) {
            end(ConnectionEnded{
                ConnectionEnded::Cause::ConnectTimeout, false, ReasonCode::MaximumConnectTime,
                "no CONNECT within " + std::to_string(settings_.connect_timeout.count()) + " s"});
        }
        return;
    }
    if (core_.keep_alive().expired(now)) {
        const std::string why =
            "keep-alive timeout (" + std::to_string(core_.keep_alive().seconds()) + " s)";
        if (core_.version() == ProtocolVersion::V5) {
            send(protocol::Disconnect{ReasonCode::KeepAliveTimeout, {}});
        }
        end(ConnectionEnded{ConnectionEnded::Cause::KeepAliveTimeout, true,
                            ReasonCode::KeepAliveTimeout, why});
    }
}

bool ServerEndpoint::send(const protocol::Packet& packet) {
    if (phase_ == Phase::Ended) {
        return false;
    }
    encode_buffer_.clear();
    const EncodedPacket encoded = encode_for_peer(packet, core_.peer(), encode_buffer_);
    if (!encoded.fits) {
        close_over_client_limit(protocol::packet_type(packet), encoded.size);
        return false;
    }
    if (!events_.empty()) {
        if (auto* last = std::get_if<SendBytes>(&events_.back())) {
            last->bytes += encode_buffer_;
            return true;
        }
    }
    events_.emplace_back(SendBytes{encode_buffer_});
    return true;
}

void ServerEndpoint::close_over_client_limit(protocol::PacketType type, std::size_t size) {
    std::string why = std::string(protocol::to_string(type)) + " of " + std::to_string(size) +
                      " bytes is over the client's Maximum Packet Size (" +
                      std::to_string(core_.peer().maximum_packet_size) + "): not sent";
    if (type == protocol::PacketType::Disconnect) {
        return;  // whoever sends a DISCONNECT ends the connection next
    }
    if (phase_ == Phase::Connected && type != protocol::PacketType::Connack) {
        // The smallest DISCONNECT (3 bytes) fits wherever a CONNACK (5 bytes) did.
        if (core_.version() == ProtocolVersion::V5) {
            send(protocol::Disconnect{ReasonCode::PacketTooLarge, {}});
        }
        end(ConnectionEnded{ConnectionEnded::Cause::OverClientLimit, true,
                            ReasonCode::PacketTooLarge, std::move(why)});
        return;
    }
    // A client that got no CONNACK does not know it was connected: no will.
    end(ConnectionEnded{ConnectionEnded::Cause::OverClientLimit, false, ReasonCode::PacketTooLarge,
                        std::move(why)});
}

void ServerEndpoint::fail(const protocol::Error& error) {
    if (phase_ == Phase::Ended) {
        return;
    }
    if (phase_ == Phase::Authenticating) {
        // No CONNACK yet: it carries the reason.
        refuse(protocol::connack_reason_for(error.code), error.what);
        return;
    }
    // [MQTT-4.13.1-1] a v5 server may send DISCONNECT with the reason before closing.
    if (phase_ == Phase::Connected && core_.version() == ProtocolVersion::V5) {
        protocol::Disconnect disconnect{protocol::disconnect_reason_for(error.code), {}};
        disconnect.properties.add_text(PropertyId::ReasonString, error.what);
        send(disconnect);
    }
    // A client that got no CONNACK has no session, so no will either.
    end(ConnectionEnded{ConnectionEnded::Cause::ProtocolViolation, phase_ == Phase::Connected,
                        error.code, error.what});
}

void ServerEndpoint::disconnect(protocol::DisconnectReason reason, bool publish_will,
                                std::string_view why) {
    if (phase_ == Phase::Ended) {
        return;
    }
    if (phase_ == Phase::Connected && core_.version() == ProtocolVersion::V5) {
        protocol::Disconnect disconnect{reason, {}};
        if (!why.empty()) {
            disconnect.properties.add_text(PropertyId::ReasonString, std::string(why));
        }
        send(disconnect);
    }
    end(ConnectionEnded{ConnectionEnded::Cause::ServerDisconnect, publish_will, reason.code(),
                        std::string(why)});
}

void ServerEndpoint::end(ConnectionEnded ended) {
    if (phase_ == Phase::Ended) {
        return;
    }
    phase_ = Phase::Ended;
    exchange_open_ = false;
    emit<ConnectionEnded>(std::move(ended));
}

void ServerEndpoint::take_events(std::vector<ServerEvent>& into) {
    into.clear();
    into.swap(events_);
}

}  // namespace petrel::connection
