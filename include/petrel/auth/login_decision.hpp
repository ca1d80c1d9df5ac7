// The one decision every CONNECT goes through before a client is admitted: from what the
// listener's security settings offer and what the client presented, whether it is let in
// as it is, must prove a password or finish an enhanced-authentication exchange first, or
// is refused and why.
//
// There is no default-allow path: a user name that nothing can check is not a
// credential, so with allow_anonymous off and no password source every client is refused
// whatever it sends (Mosquitto does the same). Pure: no I/O, no MQTT packets; the broker
// maps the refusals to reason codes and runs the checks.
#pragma once

#include <string_view>

namespace petrel::auth {

// What a listener can check.
struct LoginPolicy {
    bool allow_anonymous = false;
    bool password_file = false;  // CONNECT passwords and SCRAM can be checked
};

// What a client presented.
struct LoginAttempt {
    bool username = false;
    bool password = false;
    bool authentication_method = false;  // MQTT 5 enhanced authentication (4.12)
    // use_identity_as_username / use_subject_as_username: the user name came from the TLS
    // handshake (a verified certificate or a PSK), which was its proof.
    bool tls_identity = false;
};

enum class LoginDecision {
    Admit,                 // no check left to make
    CheckPassword,         // admit only if the password file accepts user name and password
    Authenticate,          // admit only if the enhanced-authentication exchange succeeds
    RefuseNotAuthorized,   // MQTT 5 0x87, 3.1.1 return code 5
    RefuseBadCredentials,  // MQTT 5 0x86, 3.1.1 return code 4
    RefuseBadMethod,       // MQTT 5 0x8C (an Authentication Method nobody here speaks)
};

LoginDecision decide_login(const LoginPolicy& policy, const LoginAttempt& attempt);

// "admit", "check password" …, for logs and test failure messages.
std::string_view to_string(LoginDecision decision);

// True when no client at all can log in with `policy` on a listener where the TLS
// handshake does not name the user: anonymous clients are refused and nothing can check
// a password. Start-up warns about such a listener.
bool nobody_can_log_in(const LoginPolicy& policy, bool tls_identity_listener);

}  // namespace petrel::auth
