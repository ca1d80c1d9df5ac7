// What the test drivers of both endpoint roles share: the events one call produced, with
// the bytes written decoded into packets, and a message to deliver.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "petrel/protocol/codec.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::connection::testing {

// What one call (or several) produced: the packets written, in order, and every other
// event. `Event` is the role's event variant (ClientEvent, ServerEvent).
template <class Event>
struct DrainedEvents {
    std::vector<protocol::Packet> sent;
    std::vector<Event> events;

    template <class T>
    std::vector<T> all() const {
        std::vector<T> found;
        for (const Event& event : events) {
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
    // The one packet of type T written; a failure (and T{}) when there is not exactly one.
    template <class T>
    T sent_one() const {
        const std::vector<T> found = sent_of<T>();
        EXPECT_EQ(found.size(), 1u) << "packets of the asked type written";
        return found.empty() ? T{} : found.front();
    }
    std::vector<protocol::PacketType> sent_types() const {
        std::vector<protocol::PacketType> types;
        for (const protocol::Packet& packet : sent) {
            types.push_back(protocol::packet_type(packet));
        }
        return types;
    }
};

// Decodes whole packets written in `version` and appends them to `out`; a partial packet
// or one that does not decode is a failure.
inline void decode_written(const std::string& bytes, protocol::ProtocolVersion version,
                           std::vector<protocol::Packet>& out) {
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

}  // namespace petrel::connection::testing
