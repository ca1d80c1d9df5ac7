// Value equality for protocol packets, shared by the unit tests and the decoder fuzzer.
//
// The packet structs have no operator== because a Payload is a shared pointer and the
// broker compares packets by identity, never by value; tests need content equality.
#pragma once

#include <type_traits>
#include <variant>

#include "petrel/protocol/packet.hpp"

namespace petrel::protocol::testing {

inline bool same_payload(const Payload& a, const Payload& b) {
    const std::string empty;
    return (a ? *a : empty) == (b ? *b : empty);
}

inline bool same_will(const std::optional<Will>& a, const std::optional<Will>& b) {
    if (a.has_value() != b.has_value()) {
        return false;
    }
    return !a || (a->topic == b->topic && same_payload(a->payload, b->payload) &&
                  a->qos == b->qos && a->retain == b->retain && a->properties == b->properties);
}

inline bool same_fields(const Connect& a, const Connect& b) {
    return a.version == b.version && a.clean_start == b.clean_start &&
           a.keep_alive == b.keep_alive && a.client_id == b.client_id &&
           same_will(a.will, b.will) && a.username == b.username && a.password == b.password &&
           a.properties == b.properties;
}
inline bool same_fields(const Connack& a, const Connack& b) {
    return a.session_present == b.session_present && a.reason == b.reason &&
           a.properties == b.properties;
}
inline bool same_fields(const Publish& a, const Publish& b) {
    return a.dup == b.dup && a.qos == b.qos && a.retain == b.retain && a.topic == b.topic &&
           a.packet_id == b.packet_id && a.properties == b.properties &&
           same_payload(a.payload, b.payload);
}
template <PacketType kType>
bool same_fields(const PublishResponse<kType>& a, const PublishResponse<kType>& b) {
    return a.packet_id == b.packet_id && a.reason == b.reason && a.properties == b.properties;
}
inline bool same_fields(const Subscribe& a, const Subscribe& b) {
    if (a.packet_id != b.packet_id || a.properties != b.properties ||
        a.subscriptions.size() != b.subscriptions.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.subscriptions.size(); ++i) {
        if (a.subscriptions[i].filter != b.subscriptions[i].filter ||
            a.subscriptions[i].options != b.subscriptions[i].options) {
            return false;
        }
    }
    return true;
}
inline bool same_fields(const Suback& a, const Suback& b) {
    return a.packet_id == b.packet_id && a.reasons == b.reasons && a.properties == b.properties;
}
inline bool same_fields(const Unsubscribe& a, const Unsubscribe& b) {
    return a.packet_id == b.packet_id && a.filters == b.filters && a.properties == b.properties;
}
inline bool same_fields(const Unsuback& a, const Unsuback& b) {
    return a.packet_id == b.packet_id && a.reasons == b.reasons && a.properties == b.properties;
}
inline bool same_fields(const Pingreq&, const Pingreq&) {
    return true;
}
inline bool same_fields(const Pingresp&, const Pingresp&) {
    return true;
}
inline bool same_fields(const Disconnect& a, const Disconnect& b) {
    return a.reason == b.reason && a.properties == b.properties;
}
inline bool same_fields(const Auth& a, const Auth& b) {
    return a.reason == b.reason && a.properties == b.properties;
}

inline bool same_packet(const Packet& a, const Packet& b) {
    if (a.index() != b.index()) {
        return false;
    }
    return std::visit(
        [&b](const auto& left) {
            using T = std::decay_t<decltype(left)>;
            return same_fields(left, std::get<T>(b));
        },
        a);
}

}  // namespace petrel::protocol::testing
