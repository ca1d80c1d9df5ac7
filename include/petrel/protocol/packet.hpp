// The fifteen MQTT control packets as plain values, shared by MQTT 3.1, 3.1.1 and 5.0.
//
// Fields that only exist in v5 (properties, most reason codes) are simply left empty for
// older versions; the codec knows which version it reads or writes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "petrel/protocol/properties.hpp"
#include "petrel/protocol/reason.hpp"

namespace petrel::protocol {

// Protocol level byte of CONNECT.
enum class ProtocolVersion : std::uint8_t { V31 = 3, V311 = 4, V5 = 5 };

using Qos = std::uint8_t;  // 0, 1 or 2
using PacketId = std::uint16_t;

// Payloads are immutable and shared: one buffer serves every subscriber, queue and store.
using Payload = std::shared_ptr<const std::string>;
inline Payload make_payload(std::string bytes) {
    return std::make_shared<const std::string>(std::move(bytes));
}

struct Will {
    std::string topic;
    Payload payload = make_payload({});
    Qos qos = 0;
    bool retain = false;
    Properties properties;
};

struct Connect {
    ProtocolVersion version = ProtocolVersion::V311;
    bool clean_start = true;
    std::uint16_t keep_alive = 0;  // seconds
    std::string client_id;
    std::optional<Will> will;
    std::optional<std::string> username;
    std::optional<std::string> password;  // binary data
    Properties properties;
};

struct Connack {
    bool session_present = false;  // not encoded for 3.1, whose byte is reserved (0)
    ConnackReason reason;          // mapped to a 3.1.1 return code when encoded
    Properties properties;
};

struct Publish {
    bool dup = false;
    Qos qos = 0;
    bool retain = false;
    std::string topic;
    PacketId packet_id = 0;  // only for qos > 0
    Properties properties;
    Payload payload = make_payload({});
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape; PUBACK and PUBREC one list of reason
// codes, PUBREL and PUBCOMP another.
template <PacketType kType>
struct PublishResponse {
    static constexpr PacketType type = kType;
    PacketId packet_id = 0;
    Reason<kType == PacketType::Puback || kType == PacketType::Pubrec ? ReasonFamily::PubackPubrec
                                                                      : ReasonFamily::PubrelPubcomp>
        reason;
    Properties properties;
};
using Puback = PublishResponse<PacketType::Puback>;
using Pubrec = PublishResponse<PacketType::Pubrec>;
using Pubrel = PublishResponse<PacketType::Pubrel>;
using Pubcomp = PublishResponse<PacketType::Pubcomp>;

enum class RetainHandling : std::uint8_t {
    SendOnSubscribe = 0,
    SendIfNewSubscription = 1,
    DoNotSend = 2,
};

struct SubscribeOptions {
    Qos qos = 0;
    bool no_local = false;
    bool retain_as_published = false;
    RetainHandling retain_handling = RetainHandling::SendOnSubscribe;
    bool operator==(const SubscribeOptions&) const = default;
};

struct Subscription {
    std::string filter;
    SubscribeOptions options;
};

struct Subscribe {
    PacketId packet_id = 0;
    std::vector<Subscription> subscriptions;
    Properties properties;
};

// One reason code per filter; 3.1.1 return codes are 0, 1, 2 or 0x80.
struct Suback {
    PacketId packet_id = 0;
    std::vector<SubackReason> reasons;
    Properties properties;
};

struct Unsubscribe {
    PacketId packet_id = 0;
    std::vector<std::string> filters;
    Properties properties;
};

// 3.1.1 UNSUBACK carries no reason codes; `reasons` is ignored when encoding it.
struct Unsuback {
    PacketId packet_id = 0;
    std::vector<UnsubackReason> reasons;
    Properties properties;
};

struct Pingreq {};
struct Pingresp {};

struct Disconnect {
    DisconnectReason reason;
    Properties properties;
};

struct Auth {
    AuthReason reason;
    Properties properties;
};

using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe,
                            Suback, Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

PacketType packet_type(const Packet& packet);

}  // namespace petrel::protocol
