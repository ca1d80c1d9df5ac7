// The shared wire form of a message's forwarded properties.
#include "petrel/session/message.hpp"

#include "petrel/protocol/codec.hpp"

namespace petrel::session {

const std::string& Message::forwarded_property_bytes() const {
    static const std::string kNone;
    if (properties.empty()) {
        return kNone;  // the common case costs no allocation and no atomic
    }
    return encoded_properties.get([this] {
        std::string bytes;
        protocol::encode_property_entries(
            properties, bytes,
            expires_at_ms != 0
                ? std::optional<protocol::PropertyId>(protocol::PropertyId::MessageExpiryInterval)
                : std::nullopt);
        return bytes;
    });
}

}  // namespace petrel::session
