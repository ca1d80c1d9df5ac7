#include "petrel/auth/login_decision.hpp"

namespace petrel::auth {

LoginDecision decide_login(const LoginPolicy& policy, const LoginAttempt& attempt) {
    if (attempt.authentication_method) {
        // A client that asks for an exchange gets it or a refusal; never a plain admit,
        // since the CONNACK would not carry the method it asked for.
        return policy.password_file ? LoginDecision::Authenticate : LoginDecision::RefuseBadMethod;
    }
    if (attempt.tls_identity) {
        return LoginDecision::Admit;
    }
    if (policy.password_file && attempt.username) {
        // A user name is a claim to be checked, also where anonymous clients are welcome.
        return attempt.password ? LoginDecision::CheckPassword
                                : LoginDecision::RefuseBadCredentials;
    }
    // No user name, or a user name nothing here can check: both are anonymous.
    return policy.allow_anonymous ? LoginDecision::Admit : LoginDecision::RefuseNotAuthorized;
}

std::string_view to_string(LoginDecision decision) {
    switch (decision) {
        case LoginDecision::Admit:
            return "admit";
        case LoginDecision::CheckPassword:
            return "check password";
        case LoginDecision::Authenticate:
            return "authenticate";
        case LoginDecision::RefuseNotAuthorized:
            return "refuse: not authorized";
        case LoginDecision::RefuseBadCredentials:
            return "refuse: bad user name or password";
        case LoginDecision::RefuseBadMethod:
            return "refuse: bad authentication method";
    }
    return "?";
}

bool nobody_can_log_in(const LoginPolicy& policy, bool tls_identity_listener) {
    return !policy.allow_anonymous && !policy.password_file && !tls_identity_listener;
}

}  // namespace petrel::auth
