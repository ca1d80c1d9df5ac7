#include "support/raw_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "support/broker_process.hpp"

namespace petrel::test {
namespace {

using protocol::PacketId;

// v5 persistent sessions in tests outlive a reconnect comfortably.
constexpr std::uint32_t kTestSessionExpiry = 600;

std::string hex_byte(unsigned value) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return {'0', 'x', kDigits[(value >> 4) & 0xF], kDigits[value & 0xF]};
}

}  // namespace

std::string_view version_name(ProtocolVersion version) {
    switch (version) {
        case ProtocolVersion::V31:
            return "v31";
        case ProtocolVersion::V311:
            return "v311";
        case ProtocolVersion::V5:
            return "v5";
    }
    return "v?";
}

std::string describe(const Packet& packet) {
    std::ostringstream out;
    out << protocol::to_string(protocol::packet_type(packet));
    std::visit(
        [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, protocol::Publish>) {
                out << "(topic=" << p.topic << " qos=" << int{p.qos} << " id=" << p.packet_id
                    << " dup=" << p.dup << " retain=" << p.retain
                    << " payload=" << payload_of(p).size() << " bytes)";
            } else if constexpr (std::is_same_v<T, protocol::Connack>) {
                out << "(session_present=" << p.session_present
                    << " reason=" << hex_byte(p.reason.byte()) << ")";
            } else if constexpr (std::is_same_v<T, protocol::Suback> ||
                                 std::is_same_v<T, protocol::Unsuback>) {
                out << "(id=" << p.packet_id << " reasons=";
                for (auto reason : p.reasons) {
                    out << hex_byte(reason.byte()) << ' ';
                }
                out << ")";
            } else if constexpr (std::is_same_v<T, protocol::Disconnect> ||
                                 std::is_same_v<T, protocol::Auth>) {
                out << "(reason=" << hex_byte(p.reason.byte()) << ")";
            } else if constexpr (requires { p.packet_id; }) {
                out << "(id=" << p.packet_id << ")";
            }
        },
        packet);
    return std::move(out).str();
}

protocol::Connect method_connect(std::string client_id, std::string_view method,
                                 std::string_view data) {
    protocol::Connect connect;
    connect.version = ProtocolVersion::V5;
    connect.client_id = std::move(client_id);
    connect.keep_alive = 60;
    connect.properties.add_text(protocol::PropertyId::AuthenticationMethod, std::string(method));
    connect.properties.add_text(protocol::PropertyId::AuthenticationData, std::string(data));
    return connect;
}

protocol::Publish make_publish(std::string topic, std::string_view payload, Qos qos, bool retain,
                               PacketId packet_id) {
    protocol::Publish publish;
    publish.topic = std::move(topic);
    publish.payload = protocol::make_payload(std::string{payload});
    publish.qos = qos;
    publish.retain = retain;
    publish.packet_id = qos > 0 ? packet_id : 0;
    return publish;
}

RawClient::RawClient(std::uint16_t port, ProtocolVersion version) : version_(version) {
    ignore_sigpipe();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, kLoopback, &address.sin_addr);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd_);
        throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " +
                                 std::strerror(error));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawClient::~RawClient() {
    close();
}

void RawClient::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    closed_ = true;
}

bool RawClient::send(const Packet& packet) {
    std::string bytes;
    const auto* connect = std::get_if<protocol::Connect>(&packet);
    protocol::encode(packet, connect != nullptr ? connect->version : version_, bytes);
    return send_raw(bytes);
}

bool RawClient::send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
        if (fd_ < 0) {
            return false;
        }
        const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

bool RawClient::fill(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0 || closed_) {
        return false;
    }
    while (true) {
        pollfd poll_fd{fd_, POLLIN, 0};
        const int ready = ::poll(&poll_fd, 1, static_cast<int>(remaining(deadline).count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;  // timeout
        }
        char chunk[16384];
        const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            closed_ = true;  // EOF, or a reset
            return false;
        }
        buffer_.append(chunk, static_cast<std::size_t>(got));
        return true;
    }
}

std::optional<std::string> RawClient::read_frame(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto view = protocol::ByteView(reinterpret_cast<const std::uint8_t*>(buffer_.data()),
                                             buffer_.size());
        const auto framed = protocol::frame(view);
        if (framed.status == protocol::FrameStatus::Malformed) {
            ADD_FAILURE() << "broker sent a malformed fixed header (first byte "
                          << hex_byte(framed.frame.first_byte) << ")";
            close();
            return std::nullopt;
        }
        if (framed.status == protocol::FrameStatus::Complete) {
            const std::size_t length = framed.frame.total_length();
            std::string bytes = buffer_.substr(0, length);
            buffer_.erase(0, length);
            return bytes;
        }
        if (!fill(deadline)) {
            return std::nullopt;
        }
    }
}

std::optional<std::string> RawClient::receive_frame(std::chrono::milliseconds timeout) {
    return read_frame(timeout);
}

std::optional<Packet> RawClient::read_packet(std::chrono::milliseconds timeout) {
    auto bytes = read_frame(timeout);
    if (!bytes) {
        return std::nullopt;
    }
    const auto view =
        protocol::ByteView(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size());
    auto decoded = protocol::decode(view, version_);
    if (!decoded) {
        ADD_FAILURE() << "cannot decode a " << version_name(version_) << " packet from the broker ("
                      << hex_byte(static_cast<unsigned>(decoded.error().code)) << " "
                      << decoded.error().what << "), first byte "
                      << hex_byte(static_cast<std::uint8_t>((*bytes)[0]));
        return std::nullopt;
    }
    return std::move(decoded).value();
}

std::optional<Packet> RawClient::receive(std::chrono::milliseconds timeout) {
    if (!kept_.empty()) {
        Packet packet = std::move(kept_.front());
        kept_.pop_front();
        return packet;
    }
    return read_packet(timeout);
}

void RawClient::expect_nothing(std::chrono::milliseconds quiet) {
    if (auto packet = receive(quiet)) {
        ADD_FAILURE() << "expected nothing but got " << describe(*packet);
    }
}

bool RawClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
        buffer_.clear();
        if (!fill(deadline) && !closed_) {
            return false;  // timeout with the connection still open
        }
    }
    return true;
}

protocol::Connect RawClient::connect_packet(std::string client_id, bool clean_start,
                                            std::uint16_t keep_alive) const {
    protocol::Connect connect;
    connect.version = version_;
    connect.client_id = std::move(client_id);
    connect.clean_start = clean_start;
    connect.keep_alive = keep_alive;
    if (version_ == ProtocolVersion::V5 && !clean_start) {
        connect.properties.set_number(protocol::PropertyId::SessionExpiryInterval,
                                      kTestSessionExpiry);
    }
    return connect;
}

std::optional<protocol::Connack> RawClient::connect(const protocol::Connect& connect) {
    version_ = connect.version;
    if (!send(connect)) {
        ADD_FAILURE() << "could not send CONNECT";
        return std::nullopt;
    }
    return expect<protocol::Connack>();
}

std::optional<protocol::Connack> RawClient::connect(std::string client_id, bool clean_start,
                                                    std::uint16_t keep_alive) {
    return connect(connect_packet(std::move(client_id), clean_start, keep_alive));
}

std::optional<protocol::Connack> RawClient::connect(ProtocolVersion version, std::string client_id,
                                                    bool clean_start, std::uint16_t keep_alive) {
    version_ = version;
    return connect(std::move(client_id), clean_start, keep_alive);
}

PacketId RawClient::next_packet_id() {
    last_packet_id_ = static_cast<PacketId>(last_packet_id_ == 0xFFFF ? 1 : last_packet_id_ + 1);
    return last_packet_id_;
}

std::optional<protocol::Suback> RawClient::subscribe(std::string filter, Qos qos) {
    protocol::Subscription subscription;
    subscription.filter = std::move(filter);
    subscription.options.qos = qos;
    return subscribe(std::vector<protocol::Subscription>{std::move(subscription)});
}

std::optional<protocol::Suback> RawClient::subscribe(
    std::vector<protocol::Subscription> subscriptions) {
    protocol::Subscribe subscribe;
    subscribe.packet_id = next_packet_id();
    subscribe.subscriptions = std::move(subscriptions);
    const std::size_t count = subscribe.subscriptions.size();
    if (!send(subscribe)) {
        ADD_FAILURE() << "could not send SUBSCRIBE";
        return std::nullopt;
    }
    const PacketId id = subscribe.packet_id;
    auto suback = wait_for<protocol::Suback>(
        kDefaultTimeout, [id](const protocol::Suback& ack) { return ack.packet_id == id; });
    if (suback && suback->reasons.size() != count) {
        ADD_FAILURE() << "SUBACK has " << suback->reasons.size() << " reason codes for " << count
                      << " filters";
    }
    return suback;
}

std::optional<protocol::Unsuback> RawClient::unsubscribe(std::vector<std::string> filters) {
    protocol::Unsubscribe unsubscribe;
    unsubscribe.packet_id = next_packet_id();
    unsubscribe.filters = std::move(filters);
    if (!send(unsubscribe)) {
        ADD_FAILURE() << "could not send UNSUBSCRIBE";
        return std::nullopt;
    }
    const PacketId id = unsubscribe.packet_id;
    return wait_for<protocol::Unsuback>(
        kDefaultTimeout, [id](const protocol::Unsuback& ack) { return ack.packet_id == id; });
}

bool RawClient::publish(std::string topic, std::string_view payload, Qos qos, bool retain) {
    return publish(make_publish(std::move(topic), payload, qos, retain));
}

bool RawClient::publish(protocol::Publish publish) {
    if (publish.qos > 0 && publish.packet_id == 0) {
        publish.packet_id = next_packet_id();
    }
    const PacketId id = publish.packet_id;
    if (!send(publish)) {
        ADD_FAILURE() << "could not send PUBLISH";
        return false;
    }
    if (publish.qos == 1) {
        auto puback = wait_for<protocol::Puback>(
            kDefaultTimeout, [id](const protocol::Puback& ack) { return ack.packet_id == id; });
        if (puback && protocol::is_failure(puback->reason)) {
            ADD_FAILURE() << "PUBACK refused: " << describe(*puback);
        }
        return puback && !protocol::is_failure(puback->reason);
    }
    if (publish.qos == 2) {
        auto pubrec = wait_for<protocol::Pubrec>(
            kDefaultTimeout, [id](const protocol::Pubrec& ack) { return ack.packet_id == id; });
        if (!pubrec || protocol::is_failure(pubrec->reason)) {
            if (pubrec) {
                ADD_FAILURE() << "PUBREC refused: " << describe(*pubrec);
            }
            return false;
        }
        protocol::Pubrel pubrel;
        pubrel.packet_id = id;
        send(pubrel);
        auto pubcomp = wait_for<protocol::Pubcomp>(
            kDefaultTimeout, [id](const protocol::Pubcomp& ack) { return ack.packet_id == id; });
        return pubcomp && !protocol::is_failure(pubcomp->reason);
    }
    return true;
}

bool RawClient::acknowledge(const protocol::Publish& publish) {
    const PacketId id = publish.packet_id;
    if (publish.qos == 1) {
        protocol::Puback puback;
        puback.packet_id = id;
        return send(puback);
    }
    if (publish.qos == 2) {
        protocol::Pubrec pubrec;
        pubrec.packet_id = id;
        send(pubrec);
        auto pubrel = wait_for<protocol::Pubrel>(
            kDefaultTimeout, [id](const protocol::Pubrel& rel) { return rel.packet_id == id; });
        if (!pubrel) {
            return false;
        }
        protocol::Pubcomp pubcomp;
        pubcomp.packet_id = id;
        return send(pubcomp);
    }
    return true;
}

std::optional<protocol::Publish> RawClient::receive_publish(std::chrono::milliseconds timeout,
                                                            bool ack) {
    auto publish = wait_for<protocol::Publish>(timeout);
    if (publish && ack) {
        acknowledge(*publish);
    }
    return publish;
}

std::optional<protocol::Publish> RawClient::try_receive_publish(std::chrono::milliseconds timeout,
                                                                bool ack) {
    auto publish = try_wait_for<protocol::Publish>(timeout);
    if (publish && ack) {
        acknowledge(*publish);
    }
    return publish;
}

void RawClient::disconnect(protocol::DisconnectReason reason) {
    protocol::Disconnect disconnect;
    disconnect.reason = reason;
    if (send(disconnect)) {
        // Half-close and let the broker close its side [MQTT-3.14.4-1], so the DISCONNECT
        // is read before any reset a close with unread data would cause.
        ::shutdown(fd_, SHUT_WR);
        wait_closed(std::chrono::seconds{2});
    }
    close();
}

std::unique_ptr<RawClient> connected(std::uint16_t port, ProtocolVersion version,
                                     const std::string& id, bool clean_start, bool expect_present) {
    auto client = std::make_unique<RawClient>(port, version);
    auto connack = client->connect(id, clean_start);
    EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << id;
    if (connack) {
        EXPECT_EQ(connack->session_present, expect_present) << id;
    }
    return client;
}

}  // namespace petrel::test
