// A blocking loopback MQTT client built on the petrel codec, for tests that must control
// every byte: any protocol version, any packet (valid or not), raw byte strings, and
// acknowledgements sent (or withheld) by hand.
//
// Packets that arrive while a helper waits for something else (a PUBLISH while waiting for
// a SUBACK) are kept, in order, and handed out by the next receive().
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "petrel/protocol/codec.hpp"
#include "petrel/protocol/packet.hpp"
#include "support/wait.hpp"

namespace petrel::test {

using protocol::Packet;
using protocol::ProtocolVersion;
using protocol::Qos;
using protocol::ReasonCode;

// One-line description of a packet for failure messages, e.g.
// "PUBLISH(topic=a/b qos=1 id=3 dup=0 retain=0 payload=5 bytes)".
std::string describe(const Packet& packet);
std::string_view version_name(ProtocolVersion version);
// "PUBLISH" for protocol::Publish, and so on.
template <class T>
std::string packet_name() {
    return std::string{protocol::to_string(protocol::packet_type(Packet{T{}}))};
}

// A v5 CONNECT naming an Authentication Method (4.12), with its Authentication Data.
protocol::Connect method_connect(std::string client_id, std::string_view method,
                                 std::string_view data);

// A PUBLISH value; `packet_id` is only meaningful for qos > 0.
protocol::Publish make_publish(std::string topic, std::string_view payload, Qos qos = 0,
                               bool retain = false, protocol::PacketId packet_id = 0);
inline std::string payload_of(const protocol::Publish& publish) {
    return publish.payload ? *publish.payload : std::string{};
}

class RawClient {
  public:
    // Opens a TCP connection to 127.0.0.1:`port`; throws std::runtime_error on failure.
    // `version` decodes what the broker sends (connect() sets it from the CONNECT).
    explicit RawClient(std::uint16_t port, ProtocolVersion version = ProtocolVersion::V311);
    ~RawClient();

    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    ProtocolVersion version() const { return version_; }
    void set_version(ProtocolVersion version) { version_ = version; }

    // --- sending; false when the socket no longer takes bytes (the broker closed it) ---
    bool send(const Packet& packet);
    bool send_raw(std::string_view bytes);

    // --- receiving ---
    // The next packet (kept ones first); nullopt on timeout or once the connection closed.
    // A frame the codec cannot decode is a test failure (the broker sent garbage).
    std::optional<Packet> receive(std::chrono::milliseconds timeout = kDefaultTimeout);
    // The next packet must be a T; anything else, or nothing, is a test failure.
    template <class T>
    std::optional<T> expect(std::chrono::milliseconds timeout = kDefaultTimeout);
    // The first T (satisfying `match`, if given) to arrive; other packets are kept for
    // receive(). A timeout is a test failure.
    template <class T>
    std::optional<T> wait_for(std::chrono::milliseconds timeout = kDefaultTimeout,
                              std::function<bool(const T&)> match = {}) {
        return find<T>(timeout, std::move(match), /*report_timeout=*/true);
    }
    // As wait_for(), but nothing arriving is not a failure (for "until quiet" loops).
    template <class T>
    std::optional<T> try_wait_for(std::chrono::milliseconds timeout,
                                  std::function<bool(const T&)> match = {}) {
        return find<T>(timeout, std::move(match), /*report_timeout=*/false);
    }
    // Adds a test failure if any packet arrives within `quiet`.
    void expect_nothing(std::chrono::milliseconds quiet = std::chrono::milliseconds{300});
    // Bytes of the next whole frame, undecoded (kept packets are not consulted).
    std::optional<std::string> receive_frame(std::chrono::milliseconds timeout = kDefaultTimeout);
    // True once the broker closed the connection (EOF or reset) within `timeout`; anything
    // it sends meanwhile is read and dropped.
    bool wait_closed(std::chrono::milliseconds timeout = kDefaultTimeout);
    bool closed() const { return closed_; }

    // Closes the socket without DISCONNECT (as a crashed client would).
    void close();

    // --- helpers for the usual exchanges ---
    // Sends `connect` (its version becomes this client's) and returns the CONNACK.
    std::optional<protocol::Connack> connect(const protocol::Connect& connect);
    std::optional<protocol::Connack> connect(std::string client_id, bool clean_start = true,
                                             std::uint16_t keep_alive = 60);
    std::optional<protocol::Connack> connect(ProtocolVersion version, std::string client_id,
                                             bool clean_start = true,
                                             std::uint16_t keep_alive = 60);
    // A CONNECT with this client's version; v5 persistent sessions need a session expiry.
    protocol::Connect connect_packet(std::string client_id, bool clean_start = true,
                                     std::uint16_t keep_alive = 60) const;

    std::optional<protocol::Suback> subscribe(std::string filter, Qos qos);
    std::optional<protocol::Suback> subscribe(std::vector<protocol::Subscription> subscriptions);
    std::optional<protocol::Unsuback> unsubscribe(std::vector<std::string> filters);

    // Publishes and completes the handshake of its QoS (PUBACK, or PUBREC/PUBREL/PUBCOMP);
    // a missing or failed acknowledgement is a test failure and returns false.
    bool publish(std::string topic, std::string_view payload, Qos qos = 0, bool retain = false);
    bool publish(protocol::Publish publish);

    // The next PUBLISH (other packets are kept), acknowledged by its QoS when `ack`:
    // PUBACK, or PUBREC then (after PUBREL) PUBCOMP.
    std::optional<protocol::Publish> receive_publish(
        std::chrono::milliseconds timeout = kDefaultTimeout, bool ack = true);
    // As receive_publish(), but nothing arriving within `timeout` is not a failure.
    std::optional<protocol::Publish> try_receive_publish(std::chrono::milliseconds timeout,
                                                         bool ack = true);
    // Acknowledges a received PUBLISH by its QoS, as receive_publish() does.
    bool acknowledge(const protocol::Publish& publish);

    // Sends DISCONNECT and closes the socket.
    void disconnect(protocol::DisconnectReason reason = {});

    // A fresh non-zero packet id for packets this client sends.
    protocol::PacketId next_packet_id();

  private:
    template <class T>
    std::optional<T> find(std::chrono::milliseconds timeout, std::function<bool(const T&)> match,
                          bool report_timeout);
    // Reads one decoded packet from the socket (not from kept_).
    std::optional<Packet> read_packet(std::chrono::milliseconds timeout);
    std::optional<std::string> read_frame(std::chrono::milliseconds timeout);
    // Reads more bytes into buffer_; false on timeout or close.
    bool fill(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    ProtocolVersion version_;
    std::string buffer_;
    std::deque<Packet> kept_;
    bool closed_ = false;
    protocol::PacketId last_packet_id_ = 0;
};

template <class T>
std::optional<T> RawClient::expect(std::chrono::milliseconds timeout) {
    const std::string wanted = packet_name<T>();
    auto packet = receive(timeout);
    if (!packet) {
        ADD_FAILURE() << "expected " << wanted << " but "
                      << (closed_ ? "the connection was closed" : "nothing arrived");
        return std::nullopt;
    }
    if (auto* value = std::get_if<T>(&*packet)) {
        return std::move(*value);
    }
    ADD_FAILURE() << "expected " << wanted << " but got " << describe(*packet);
    return std::nullopt;
}

template <class T>
std::optional<T> RawClient::find(std::chrono::milliseconds timeout,
                                 std::function<bool(const T&)> match, bool report_timeout) {
    const auto matches = [&](const Packet& packet) {
        const auto* value = std::get_if<T>(&packet);
        return value != nullptr && (!match || match(*value));
    };
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
        if (matches(*it)) {
            T value = std::get<T>(std::move(*it));
            kept_.erase(it);
            return value;
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto packet = read_packet(remaining(deadline));
        if (!packet) {
            break;
        }
        if (matches(*packet)) {
            return std::get<T>(std::move(*packet));
        }
        kept_.push_back(std::move(*packet));
    }
    if (report_timeout) {
        ADD_FAILURE() << "waited for " << packet_name<T>() << " but "
                      << (closed_ ? "the connection was closed" : "it did not arrive");
    }
    return std::nullopt;
}

// A client connected with `id`: the CONNACK must be Success with Session Present equal
// to `expect_present` (a test failure otherwise, naming the id).
std::unique_ptr<RawClient> connected(std::uint16_t port, ProtocolVersion version,
                                     const std::string& id, bool clean_start,
                                     bool expect_present = false);

}  // namespace petrel::test
