// A test driver for ClientEndpoint: the server's packets go in as bytes the protocol codec
// encodes, and what the endpoint writes comes back decoded, with the other events apart.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "endpoint_test_support.hpp"
#include "petrel/connection/client_endpoint.hpp"
#include "petrel/protocol/codec.hpp"

namespace petrel::connection::testing {

using namespace std::chrono_literals;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

using Drained = DrainedEvents<ClientEvent>;

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
                decode_written(bytes->bytes, version, drained.sent);
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
