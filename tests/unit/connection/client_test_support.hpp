// A test driver for ClientEndpoint: the server's packets go in as bytes the protocol codec
// encodes, and what the endpoint writes comes back decoded, with the other events apart.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "petrel/connection/client_endpoint.hpp"
#include "petrel/protocol/codec.hpp"

namespace petrel::connection::testing {

using namespace std::chrono_literals;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

// What one call (or several) produced: the packets written, in order, and every other event.
struct Drained {
    std::vector<protocol::Packet> sent;
    std::vector<ClientEvent> events;

    template <class T>
    std::vector<T> all() const {
        std::vector<T> found;
        for (const ClientEvent& event : events) {
            if (const T* typed = std::get_if<T>(&event)) {
                found.push_back(*typed);
            }
        }
        return found;
    }
    // The one event of type T; a failure (and T{}) when there is not exactly one.
    template <class T>
    T one() const {
        const std::vector<T> found = all<T>();
        EXPECT_EQ(found.size(), 1u) << "events of the asked type";
        return found.empty() ? T{} : found.front();
    }
    template <class T>
    std::vector<T> sent_of() const {
        std::vector<T> found;
        for (const protocol::Packet& packet : sent) {
            if (const T* typed = std::get_if<T>(&packet)) {
                found.push_back(*typed);
            }
        }
        return found;
    }
    std::vector<protocol::PacketType> sent_types() const {
        std::vector<protocol::PacketType> types;
        for (const protocol::Packet& packet : sent) {
            types.push_back(protocol::packet_type(packet));
        }
        return types;
    }
};

inline session::Delivery delivery(std::string topic, std::string payload, protocol::Qos qos,
                                  std::uint64_t seq = 0, bool retain = false) {
    auto message = std::make_shared<session::Message>();
    message->topic = std::move(topic);
    message->payload = protocol::make_payload(std::move(payload));
    message->qos = qos;
    message->retain = retain;
    session::Delivery out;
    out.message = std::move(message);
    out.qos = qos;
    out.retain = retain;
    out.seq = seq;
    return out;
}

inline ClientOptions options(ProtocolVersion version = ProtocolVersion::V5) {
    ClientOptions options;
    options.version = version;
    options.client_id = "bridge-1";
    options.keep_alive = 30;
    return options;
}

class ClientDriver {
  public:
    explicit ClientDriver(ProtocolVersion version = ProtocolVersion::V5,
                          std::size_t max_inflight = 0xFFFF)
        : endpoint(max_inflight), version(version) {}

    // Everything since the last drain(), with the bytes written decoded.
    Drained drain() {
        Drained drained;
        for (ClientEvent& event : endpoint.take_events()) {
            if (const auto* bytes = std::get_if<SendBytes>(&event)) {
                decode_all(bytes->bytes, drained.sent);
            } else {
                drained.events.push_back(std::move(event));
            }
        }
        return drained;
    }

    void feed_bytes(const std::string& bytes) {
        endpoint.receive(
            protocol::ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
            now);
    }
    // The server sends `packet`.
    Drained feed(const protocol::Packet& packet) {
        std::string bytes;
        protocol::encode(packet, version, bytes);
        feed_bytes(bytes);
        return drain();
    }
    Drained start(ClientOptions with) {
        endpoint.start(std::move(with), now);
        return drain();
    }
    // start() and the server's CONNACK: what the CONNACK produced.
    Drained connect(ClientOptions with, protocol::Connack connack = {}) {
        start(std::move(with));
        return feed(connack);
    }
    Drained connect(protocol::Connack connack = {}) { return connect(options(version), connack); }
    Drained publish(session::Delivery d) {
        endpoint.publish(std::move(d), now);
        return drain();
    }
    Drained tick() {
        endpoint.tick(now);
        return drain();
    }

    ClientEndpoint endpoint;
    ProtocolVersion version;
    TimePoint now = TimePoint{} + 1000s;

  private:
    void decode_all(const std::string& bytes, std::vector<protocol::Packet>& out) const {
        protocol::ByteView rest(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        while (!rest.empty()) {
            const protocol::FrameResult framed = protocol::frame(rest);
            ASSERT_EQ(framed.status, protocol::FrameStatus::Complete) << "a partial packet written";
            const auto packet = rest.first(framed.frame.total_length());
            auto decoded = protocol::decode(packet, version);
            ASSERT_TRUE(decoded) << "written bytes do not decode: " << decoded.error().what;
            out.push_back(std::move(decoded).value());
            rest = rest.subspan(packet.size());
        }
    }
};

inline protocol::Connack connack_with(protocol::Properties properties,
                                      bool session_present = false) {
    return protocol::Connack{session_present, ReasonCode::Success, std::move(properties)};
}

inline protocol::Properties property(protocol::PropertyId id, std::uint32_t value) {
    protocol::Properties properties;
    properties.add_number(id, value);
    return properties;
}

}  // namespace petrel::connection::testing
