// Small conveniences for using the Paho C++ client (mqtt::async_client) against the broker
// under test: addresses, create options and connect options for MQTT 3.1.1 or 5.
#pragma once

#include <mqtt/async_client.h>

#include <cstdint>
#include <memory>
#include <string>

namespace petrel::test {

inline std::string paho_uri(std::uint16_t port) {
    return "tcp://127.0.0.1:" + std::to_string(port);
}

// An async client speaking MQTT 5 or 3.1.1, with no client-side persistence.
inline std::unique_ptr<mqtt::async_client> make_paho_client(std::uint16_t port,
                                                            const std::string& client_id, bool v5) {
    return std::make_unique<mqtt::async_client>(
        paho_uri(port), client_id, mqtt::create_options(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1));
}

// Connect options: `clean` is Clean Session (3.1.1) or Clean Start (5); a v5 session
// survives its connection only with a non-zero `session_expiry`. Paho's own automatic
// reconnect stays off so that tests see each connection the broker closes.
inline mqtt::connect_options paho_connect_options(bool v5, bool clean,
                                                  std::uint32_t session_expiry = 0,
                                                  int keep_alive_seconds = 60) {
    mqtt::connect_options_builder builder;
    builder.keep_alive_interval(std::chrono::seconds{keep_alive_seconds})
        .connect_timeout(std::chrono::seconds{5})
        .automatic_reconnect(false);
    if (v5) {
        builder.mqtt_version(MQTTVERSION_5).clean_start(clean);
        if (session_expiry > 0) {
            builder.properties({mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL,
                                               static_cast<int>(session_expiry))});
        }
    } else {
        builder.mqtt_version(MQTTVERSION_3_1_1).clean_session(clean);
    }
    mqtt::connect_options options = builder.finalize();
    // Paho C++ 1.2.0 (Debian 12): copying or moving connect_options leaves the C struct's
    // MQTT 5 property pointer aimed at the source object, which is gone once the builder
    // is. Re-setting the properties on the final object points it at its own copy.
    if (v5) {
        options.set_properties(options.get_properties());
    }
    return options;
}

}  // namespace petrel::test
