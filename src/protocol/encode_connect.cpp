// Encoding CONNECT (3.1) and CONNACK (3.2) bodies.
#include "internal.hpp"

namespace petrel::protocol::detail {

std::uint8_t write_connect(wire::Writer& w, const Connect& connect) {
    // The CONNECT states its own version: it is the packet that selects one (3.1.2.1/2).
    const bool v5 = connect.version == ProtocolVersion::V5;
    if (connect.version == ProtocolVersion::V31) {
        w.prefixed("MQIsdp");
    } else {
        w.prefixed("MQTT");
    }
    w.u8(static_cast<std::uint8_t>(connect.version));

    std::uint8_t flags = 0;
    if (connect.clean_start) {
        flags |= 0x02;
    }
    if (connect.will) {
        flags |= 0x04;
        flags |= static_cast<std::uint8_t>((connect.will->qos & 0x03) << 3);
        if (connect.will->retain) {
            flags |= 0x20;
        }
    }
    if (connect.password) {
        flags |= 0x40;
    }
    if (connect.username) {
        flags |= 0x80;
    }
    w.u8(flags);
    w.u16(connect.keep_alive);
    if (v5) {
        write_properties(w, connect.properties);
    }

    w.prefixed(connect.client_id);
    if (connect.will) {
        if (v5) {
            write_properties(w, connect.will->properties);
        }
        w.prefixed(connect.will->topic);
        w.prefixed(connect.will->payload ? std::string_view(*connect.will->payload) : "");
    }
    if (connect.username) {
        w.prefixed(*connect.username);
    }
    if (connect.password) {
        w.prefixed(*connect.password);
    }
    return 0x10;
}

std::uint8_t write_connack(wire::Writer& w, const Connack& connack, ProtocolVersion version) {
    // 3.1 has no Session Present: the first byte of its variable header is reserved (0).
    const bool session_present = connack.session_present && version != ProtocolVersion::V31;
    w.u8(session_present ? 0x01 : 0x00);
    if (version == ProtocolVersion::V5) {
        w.u8(connack.reason.byte());
        write_properties(w, connack.properties);
    } else {
        w.u8(to_v311_connack_code(connack.reason));  // 3.2.2.3
    }
    return 0x20;
}

}  // namespace petrel::protocol::detail
