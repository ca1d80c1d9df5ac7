#include "petrel/connection/keep_alive.hpp"

namespace petrel::connection {

KeepAliveTerms negotiate_keep_alive(std::uint16_t requested, std::uint16_t max_keepalive,
                                    protocol::ProtocolVersion version) {
    const bool beyond = max_keepalive > 0 && (requested == 0 || requested > max_keepalive);
    if (!beyond) {
        return KeepAliveTerms{requested, false, false};
    }
    if (version != protocol::ProtocolVersion::V5) {
        return KeepAliveTerms{requested, false, true};
    }
    return KeepAliveTerms{max_keepalive, true, false};
}

KeepAlive::KeepAlive(std::uint16_t seconds, TimePoint now)
    : seconds_(seconds), last_received_(now), last_sent_(now) {}

bool KeepAlive::expired(TimePoint now) const {
    return seconds_ > 0 && now - last_received_ > std::chrono::milliseconds(seconds_ * 1500);
}

bool KeepAlive::ping_due(TimePoint now) const {
    return seconds_ > 0 && now - last_sent_ >= std::chrono::seconds(seconds_);
}

}  // namespace petrel::connection
