// The broker's view of an authentication method: a challenge/response exchange that takes
// the client's Authentication Data and answers with the next step.
//
// MQTT 5 enhanced authentication (spec 4.12) names a method in CONNECT, then trades AUTH
// packets until the server accepts (CONNACK, or AUTH 0x00 on re-authentication) or refuses.
// This interface knows nothing of packets or reason codes: the broker carries `data` in the
// Authentication Data property and maps FailureReason to its reason code. One Authenticator
// is shared by all connections (and threads); each attempt gets its own AuthExchange.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace petrel::auth {

enum class FailureReason {
    BadCredentials,  // wrong password or unknown user; MQTT 0x86
    NotAuthorized,   // authenticated, but not as who they claim to act for; MQTT 0x87
    Malformed,       // the client broke the method's syntax or called out of order
};

struct AuthStep {
    enum class Kind { Continue, Success, Failure };

    Kind kind = Kind::Failure;
    // Continue: the server's challenge. Success: final data for CONNACK / AUTH 0x00 (may be
    // empty). Failure: an optional method-level error for the client (SCRAM's "e=..."); the
    // broker may send or drop it.
    std::string data;
    // Success: who was authenticated. Failure: who the client claimed to be, if it got that
    // far (unauthenticated, client-chosen bytes: sanitize before logging).
    std::string username;
    FailureReason reason = FailureReason::Malformed;  // Failure only
    std::string detail;  // Failure: for the broker's log, never sent to the client

    static AuthStep next_challenge(std::string data) {
        return AuthStep{Kind::Continue, std::move(data), {}, FailureReason::Malformed, {}};
    }
    static AuthStep success(std::string data, std::string username) {
        return AuthStep{
            Kind::Success, std::move(data), std::move(username), FailureReason::Malformed, {}};
    }
    static AuthStep failure(FailureReason reason, std::string detail, std::string data = {}) {
        return AuthStep{Kind::Failure, std::move(data), {}, reason, std::move(detail)};
    }
};

// One authentication attempt. start() takes the Authentication Data of CONNECT (or of the
// re-authentication AUTH 0x19), next() that of each AUTH 0x18 that follows. After Success or
// Failure the exchange is finished: any further call fails with Malformed.
class AuthExchange {
  public:
    virtual ~AuthExchange() = default;
    virtual AuthStep start(std::string_view client_data) = 0;
    virtual AuthStep next(std::string_view client_data) = 0;
};

class Authenticator {
  public:
    virtual ~Authenticator() = default;
    // The Authentication Method names this authenticator accepts, e.g. "SCRAM-SHA-256".
    virtual std::vector<std::string> methods() const = 0;
    // A new exchange for `method` (compared exactly), or null when it is not supported.
    // Must be safe to call from several threads at once.
    virtual std::unique_ptr<AuthExchange> begin(std::string_view method) const = 0;
};

}  // namespace petrel::auth
