// Enhanced authentication (spec 4.12): the AUTH exchange at CONNECT and re-authentication
// on a live connection, and the password check of a plain CONNECT.
#include "client_connection.hpp"
#include "worker.hpp"

namespace petrel::broker {

using protocol::PropertyId;
using protocol::ReasonCode;

namespace {

// DISCONNECT has no 0x86: a failed re-authentication is 0x87 whatever the reason.
protocol::ConnackReason connack_reason(auth::FailureReason reason) {
    return reason == auth::FailureReason::BadCredentials
               ? protocol::ConnackReason(ReasonCode::BadUserNameOrPassword)
               : protocol::ConnackReason(ReasonCode::NotAuthorized);
}

}  // namespace

std::optional<auth::LoginDecision> ClientConnection::decide_login(protocol::Connect& connect) {
    auth::LoginAttempt attempt;
    const net::TlsUsernameSource source = stream_->tls_username_source();
    if (source != net::TlsUsernameSource::Connect) {
        // use_identity_as_username / use_subject_as_username: the TLS handshake names the
        // client and was its proof; the user name and password it sent are ignored, as in
        // Mosquitto. Without a verified certificate (or a PSK) there is no name: refused.
        std::optional<std::string> name;
        const char* from = "TLS client certificate subject";
        if (source == net::TlsUsernameSource::Subject) {
            name = stream_->tls_peer_subject();
        } else if ((name = stream_->tls_psk_identity())) {
            from = "TLS-PSK identity";
        } else {
            name = stream_->tls_peer_common_name();
            from = "TLS client certificate CN";
        }
        if (!name) {
            refuse_connect(
                ReasonCode::NotAuthorized,
                source == net::TlsUsernameSource::Subject
                    ? "no verified client certificate for the user name"
                    : "no PSK identity or verified client certificate for the user name");
            return std::nullopt;
        }
        worker_.log().info("{}: user name '{}' from the {}", describe(), *name, from);
        connect.username = std::move(*name);
        connect.password.reset();
        attempt.tls_identity = true;
    }
    attempt.username = connect.username.has_value();
    attempt.password = connect.password.has_value();
    attempt.authentication_method = connect.properties.contains(PropertyId::AuthenticationMethod);
    const auth::LoginDecision decision =
        auth::decide_login(listener_.security->login_policy(), attempt);
    switch (decision) {
        case auth::LoginDecision::RefuseNotAuthorized:
            refuse_connect(ReasonCode::NotAuthorized,
                           attempt.username ? "anonymous clients are not allowed and no "
                                              "password_file can check the user name"
                                            : "anonymous clients are not allowed");
            return std::nullopt;
        case auth::LoginDecision::RefuseBadCredentials:
            refuse_connect(ReasonCode::BadUserNameOrPassword, "bad user name or password");
            return std::nullopt;
        case auth::LoginDecision::RefuseBadMethod:
            refuse_connect(ReasonCode::BadAuthenticationMethod,
                           "unsupported authentication method");
            return std::nullopt;
        default:
            return decision;
    }
}

bool ClientConnection::start_authentication(AcceptedConnect& accepted,
                                            auth::LoginDecision decision) {
    const protocol::Connect& connect = accepted.connect;
    const Security& security = *listener_.security;
    if (decision == auth::LoginDecision::Admit) {
        return true;
    }
    if (decision == auth::LoginDecision::CheckPassword) {
        // [MQTT-3.1.4-2] checked on the checker's thread; reading stops until the answer,
        // so that what the client sent after its CONNECT waits for the session.
        std::string username = *connect.username;
        std::string password = *connect.password;
        pending_connect_ = std::move(accepted);
        std::weak_ptr<char> alive = alive_;
        security.credentials->check(std::move(username), std::move(password), worker_.loop(),
                                    [this, alive](CredentialChecker::Outcome outcome) {
                                        if (alive.lock()) {
                                            on_credentials_checked(outcome);
                                        }
                                    });
        return false;
    }
    const std::string_view method = *connect.properties.text(PropertyId::AuthenticationMethod);
    auth_exchange_ = security.authenticator ? security.authenticator->begin(method) : nullptr;
    if (!auth_exchange_) {
        refuse_connect(ReasonCode::BadAuthenticationMethod, "unsupported authentication method");
        return false;
    }
    endpoint_.begin_authentication(std::string(method));
    const std::string data(connect.properties.text(PropertyId::AuthenticationData).value_or(""));
    pending_connect_ = std::move(accepted);
    on_connect_auth_step(auth_exchange_->start(data));
    return false;
}

void ClientConnection::on_credentials_checked(CredentialChecker::Outcome outcome) {
    if (closed_ || !pending_connect_ ||
        endpoint_.phase() != connection::ServerEndpoint::Phase::Connecting) {
        return;  // closed meanwhile (connect timeout, hang-up)
    }
    if (outcome != CredentialChecker::Outcome::Accepted) {
        // A failed login costs the same whether the user exists or not (verify_password).
        const bool busy = outcome == CredentialChecker::Outcome::Busy;
        refuse_connect(
            busy ? protocol::ConnackReason(ReasonCode::ServerBusy)
                 : protocol::ConnackReason(ReasonCode::BadUserNameOrPassword),
            busy ? "too many logins waiting for a password check" : "bad user name or password");
        return;
    }
    AcceptedConnect accepted = std::move(*pending_connect_);
    pending_connect_.reset();
    route_connect(std::move(accepted));
    if (pending_handover_) {
        PendingHandover handover = std::move(*pending_handover_);
        pending_handover_.reset();
        hand_over(std::move(handover));
        return;
    }
    stream_->resume_reading();  // what came after the CONNECT
}

void ClientConnection::on_connect_auth_step(auth::AuthStep step) {
    switch (step.kind) {
        case auth::AuthStep::Kind::Continue:
            endpoint_.continue_authentication(step.data);
            handle_events();
            return;
        case auth::AuthStep::Kind::Failure:
            worker_.log().info("{}: authentication ({}) failed: {}", describe(),
                               endpoint_.authentication_method(), step.detail);
            auth_exchange_.reset();
            refuse_connect(connack_reason(step.reason), "authentication failed");
            return;
        case auth::AuthStep::Kind::Success: {
            auth_exchange_.reset();
            AcceptedConnect accepted = std::move(*pending_connect_);
            pending_connect_.reset();
            accepted.authentication =
                AcceptedConnect::Authentication{endpoint_.authentication_method(), step.data};
            accepted.connect.username = step.username;
            endpoint_.authenticated();
            route_connect(std::move(accepted));
            return;
        }
    }
}

void ClientConnection::handle_auth(const connection::AuthReceived& auth) {
    // The endpoint has checked the method and the reason code against the exchange.
    if (auth.reauthenticate) {
        // Connected: re-authentication (4.12.1). The connection goes on serving meanwhile.
        auth_exchange_ =
            listener_.security->authenticator->begin(endpoint_.authentication_method());
        on_reauth_step(auth_exchange_->start(auth.data));
        return;
    }
    if (!auth_exchange_) {
        return;  // ended meanwhile
    }
    if (auth.connecting) {
        on_connect_auth_step(auth_exchange_->next(auth.data));
    } else {
        on_reauth_step(auth_exchange_->next(auth.data));
    }
}

void ClientConnection::on_reauth_step(auth::AuthStep step) {
    switch (step.kind) {
        case auth::AuthStep::Kind::Continue:
            endpoint_.continue_authentication(step.data);
            handle_events();
            return;
        case auth::AuthStep::Kind::Failure:
            auth_exchange_.reset();
            worker_.log().info("{}: re-authentication failed: {}", describe(), step.detail);
            disconnect(ReasonCode::NotAuthorized);
            return;
        case auth::AuthStep::Kind::Success:
            auth_exchange_.reset();
            if (step.username != auth_username_) {
                // Re-authentication renews who the client is; it cannot change it.
                worker_.log().info("{}: re-authenticated as another user '{}', closing", describe(),
                                   step.username);
                disconnect(ReasonCode::NotAuthorized);
                return;
            }
            worker_.log().info("{}: re-authenticated as '{}'", describe(), step.username);
            endpoint_.reauthenticated(step.data);
            handle_events();
            return;
    }
}

}  // namespace petrel::broker
