// SCRAM-SHA-256 (RFC 5802, RFC 7677) as an MQTT 5 enhanced authentication method.
//
// CONNECT carries client-first-message, the broker answers AUTH 0x18 with
// server-first-message, the client sends client-final-message in AUTH 0x18, and the broker
// accepts with server-final-message ("v=...") in CONNACK or refuses. Channel binding is not
// supported ("y" is accepted, "p=" refused), nor are authorization identities other than
// the user itself.
//
// An unknown user, or one whose line has no SCRAM verifier, is not revealed at the first
// step: the server answers with a salt derived from the username (stable across attempts,
// unguessable without a per-authenticator key) and the default iteration count, and fails
// only at the proof, with the same reason as a wrong password.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "petrel/auth/authenticator.hpp"
#include "petrel/auth/password_file.hpp"

namespace petrel::auth {

inline constexpr std::string_view kScramSha256 = "SCRAM-SHA-256";

// Produces the server's part of the nonce: printable ASCII without ',' (RFC 5802 "printable").
// Called once per exchange, possibly from several threads at once.
using NonceGenerator = std::function<std::string()>;

// 18 random bytes in base64 (24 characters).
std::string random_server_nonce();

// RFC 5802 saslname: ',' and '=' travel as "=2C" and "=3D". unescape_saslname returns
// nullopt for any other '=' sequence, an empty name, or a NUL byte.
std::string escape_saslname(std::string_view name);
std::optional<std::string> unescape_saslname(std::string_view saslname);

class ScramAuthenticator final : public Authenticator {
  public:
    // `nonce` replaces random_server_nonce, for known-answer tests.
    explicit ScramAuthenticator(std::shared_ptr<const PasswordFile> users,
                                NonceGenerator nonce = random_server_nonce);

    std::vector<std::string> methods() const override;
    std::unique_ptr<AuthExchange> begin(std::string_view method) const override;

  private:
    std::shared_ptr<const PasswordFile> users_;
    NonceGenerator nonce_;
    std::string fake_salt_key_;  // random per authenticator, keys the unknown users' salts
};

}  // namespace petrel::auth
