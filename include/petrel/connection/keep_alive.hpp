// Keep alive (3.1.2.10) of one connection, for both roles: the terms a server grants a
// client under its max_keepalive, when a silent peer has been silent too long, and when
// a client must send PINGREQ. Time comes in as an argument: no clock of its own.
#pragma once

#include <chrono>
#include <cstdint>

#include "petrel/protocol/packet.hpp"

namespace petrel::connection {

using TimePoint = std::chrono::steady_clock::time_point;

// What a server grants a client that asked for `requested` seconds (0: no keep alive).
struct KeepAliveTerms {
    std::uint16_t seconds = 0;  // in force for the connection
    // MQTT 5: the server's value differs from the request, so CONNACK carries it as
    // Server Keep Alive [MQTT-3.2.2-21].
    bool announce = false;
    // MQTT 3.1/3.1.1 cannot be told another value: a request beyond max_keepalive (or none
    // at all) is refused with return code 2, as Mosquitto does, rather than held to a
    // timeout the client does not know about.
    bool refuse = false;
};
KeepAliveTerms negotiate_keep_alive(std::uint16_t requested, std::uint16_t max_keepalive,
                                    protocol::ProtocolVersion version);

class KeepAlive {
  public:
    KeepAlive() = default;
    KeepAlive(std::uint16_t seconds, TimePoint now);

    std::uint16_t seconds() const { return seconds_; }
    void on_received(TimePoint now) { last_received_ = now; }
    void on_sent(TimePoint now) { last_sent_ = now; }
    TimePoint last_sent() const { return last_sent_; }
    // Server role: nothing received for one and a half times the keep alive
    // [MQTT-3.1.2-24].
    bool expired(TimePoint now) const;
    // Client role: nothing sent for the keep alive, so a PINGREQ is due [MQTT-3.1.2-23].
    bool ping_due(TimePoint now) const;

  private:
    std::uint16_t seconds_ = 0;
    TimePoint last_received_{};
    TimePoint last_sent_{};
};

}  // namespace petrel::connection
