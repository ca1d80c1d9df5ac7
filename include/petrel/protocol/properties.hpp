// MQTT 5 properties (spec section 2.2.2): identifiers, their wire types, the packets
// each may appear in, and an ordered container that keeps them as received.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::protocol {

enum class PacketType : std::uint8_t {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Pubrec = 5,
    Pubrel = 6,
    Pubcomp = 7,
    Subscribe = 8,
    Suback = 9,
    Unsubscribe = 10,
    Unsuback = 11,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
    Auth = 15,
};

std::string_view to_string(PacketType type);

enum class PropertyId : std::uint8_t {
    PayloadFormatIndicator = 0x01,
    MessageExpiryInterval = 0x02,
    ContentType = 0x03,
    ResponseTopic = 0x08,
    CorrelationData = 0x09,
    SubscriptionIdentifier = 0x0B,
    SessionExpiryInterval = 0x11,
    AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13,
    AuthenticationMethod = 0x15,
    AuthenticationData = 0x16,
    RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18,
    RequestResponseInformation = 0x19,
    ResponseInformation = 0x1A,
    ServerReference = 0x1C,
    ReasonString = 0x1F,
    ReceiveMaximum = 0x21,
    TopicAliasMaximum = 0x22,
    TopicAlias = 0x23,
    MaximumQos = 0x24,
    RetainAvailable = 0x25,
    UserProperty = 0x26,
    MaximumPacketSize = 0x27,
    WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29,
    SharedSubscriptionAvailable = 0x2A,
};

enum class PropertyType : std::uint8_t {
    Byte,
    TwoByteInteger,
    FourByteInteger,
    VariableByteInteger,
    Utf8String,
    BinaryData,
    Utf8StringPair,
};

// Where a property may appear. Will properties travel inside CONNECT but have their own set.
enum class PropertyContext : std::uint8_t {
    Connect,
    Will,
    Connack,
    Publish,
    Puback,  // also PUBREC, PUBREL, PUBCOMP
    Subscribe,
    Suback,
    Unsubscribe,
    Unsuback,
    Disconnect,
    Auth,
};

// The wire type of a property, or nullopt for an identifier the spec does not define.
std::optional<PropertyType> property_type(std::uint8_t id);
// Whether the spec allows the property in that context (Table 2-4).
bool property_allowed(PropertyId id, PropertyContext context);

// One property. Integers live in `number`; strings and binary data in `text`; a user
// property's name in `text` and its value in `value`.
struct Property {
    PropertyId id{};
    std::uint32_t number = 0;
    std::string text;
    std::string value;

    bool operator==(const Property&) const = default;
};

// Properties in wire order. Order matters for user properties, which are forwarded
// unchanged [MQTT-3.3.2-17].
class Properties {
  public:
    bool empty() const { return items_.empty(); }
    std::size_t size() const { return items_.size(); }
    auto begin() const { return items_.begin(); }
    auto end() const { return items_.end(); }

    const Property* find(PropertyId id) const;
    bool contains(PropertyId id) const { return find(id) != nullptr; }
    std::optional<std::uint32_t> number(PropertyId id) const;
    std::optional<std::string_view> text(PropertyId id) const;

    void add(Property property) { items_.push_back(std::move(property)); }
    void add_number(PropertyId id, std::uint32_t value);
    void add_text(PropertyId id, std::string value);
    void add_user_property(std::string name, std::string value);
    // Sets a single-valued property, replacing an existing one.
    void set_number(PropertyId id, std::uint32_t value);
    void set_text(PropertyId id, std::string value);
    void remove(PropertyId id);

    bool operator==(const Properties&) const = default;

  private:
    std::vector<Property> items_;
};

}  // namespace petrel::protocol
