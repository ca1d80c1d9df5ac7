// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), for tests that authenticate against
// the broker with MQTT 5 enhanced authentication.
//
// It computes its keys with its own OpenSSL calls rather than through petrel::auth's
// verifier code, so that a mistake in the server's math fails the tests instead of being
// mirrored by the client. Only base64 and saslname escaping are shared.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::test {

class ScramClient {
  public:
    // `nonce` must be printable ASCII without ','; the default is 18 random bytes in base64.
    explicit ScramClient(std::string user, std::string password,
                         std::string nonce = random_nonce());

    static std::string random_nonce();

    // "n,,n=USER,r=NONCE" for CONNECT's Authentication Data.
    std::string client_first() const;
    std::string client_first_bare() const;

    // "c=biws,r=...,p=PROOF" for the AUTH 0x18 that answers `server_first`; nullopt when
    // server_first is malformed or its nonce does not extend ours.
    std::optional<std::string> client_final(std::string_view server_first);

    // Whether `server_final` ("v=...") proves that the server knows our verifier. False
    // before client_final() succeeded.
    bool verify_server_final(std::string_view server_final) const;

  private:
    std::string user_;
    std::string password_;
    std::string nonce_;
    std::string expected_server_final_;
};

}  // namespace petrel::test
