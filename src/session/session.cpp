#include "petrel/session/session.hpp"

namespace petrel::session {

void Session::on_connection_lost(Clock::time_point now) {
    if (expiry_interval == kSessionNeverExpires) {
        expires_at.reset();
    } else {
        expires_at = now + std::chrono::seconds(expiry_interval);
    }
}

}  // namespace petrel::session
