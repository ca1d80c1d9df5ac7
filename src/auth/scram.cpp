#include "petrel/auth/scram.hpp"

#include <utility>

#include "petrel/auth/crypto.hpp"

namespace petrel::auth {
namespace {

constexpr std::size_t kKeySize = 32;  // SHA-256 output
constexpr std::size_t kServerNonceBytes = 18;

// RFC 5802 "printable": %x21-2B / %x2D-7E, i.e. visible ASCII except ','.
bool is_valid_nonce(std::string_view nonce) {
    if (nonce.empty()) {
        return false;
    }
    for (const char c : nonce) {
        if (c < 0x21 || c > 0x7e || c == ',') {
            return false;
        }
    }
    return true;
}

// RFC 5802 extensions: *("," attr-val), attr-val = ALPHA "=" value. Unknown extensions
// MUST be ignored, but they must still be well formed.
bool is_valid_extension_list(std::string_view text) {
    while (!text.empty()) {
        if (text[0] != ',') {
            return false;
        }
        text.remove_prefix(1);
        const std::string_view item = text.substr(0, text.find(','));
        const bool alpha = !item.empty() && ((item[0] >= 'a' && item[0] <= 'z') ||
                                             (item[0] >= 'A' && item[0] <= 'Z'));
        if (!alpha || item.size() < 2 || item[1] != '=' ||
            item.find('\0') != std::string_view::npos) {
            return false;
        }
        text.remove_prefix(item.size());
    }
    return true;
}

// Takes "key=value" off the front of `text`, up to (not including) the next ','.
std::optional<std::string_view> take_attribute(std::string_view& text, char key) {
    if (text.size() < 2 || text[0] != key || text[1] != '=') {
        return std::nullopt;
    }
    const std::string_view value = text.substr(2, text.find(',', 2) - 2);
    text.remove_prefix(2 + value.size());
    return value;
}

bool take_comma(std::string_view& text) {
    if (!text.starts_with(',')) {
        return false;
    }
    text.remove_prefix(1);
    return true;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
    std::string out(a);
    for (std::size_t i = 0; i < out.size() && i < b.size(); ++i) {
        out[i] = static_cast<char>(out[i] ^ b[i]);
    }
    return out;
}

class ScramExchange final : public AuthExchange {
  public:
    ScramExchange(std::shared_ptr<const PasswordFile> users, std::string server_nonce,
                  std::string fake_salt_key)
        : users_(std::move(users)),
          server_nonce_(std::move(server_nonce)),
          fake_salt_key_(std::move(fake_salt_key)) {}

    AuthStep start(std::string_view client_first) override;
    AuthStep next(std::string_view client_final) override;

  private:
    enum class State { AwaitingClientFirst, AwaitingClientFinal, Finished };

    // RFC 5802 section 7 server-error values travel as "e=..." for clients that show them.
    AuthStep fail(FailureReason reason, std::string detail, std::string_view server_error) {
        state_ = State::Finished;
        auto step = AuthStep::failure(reason, std::move(detail), "e=" + std::string(server_error));
        step.username = username_;
        return step;
    }
    void choose_verifier();

    State state_ = State::AwaitingClientFirst;
    std::shared_ptr<const PasswordFile> users_;
    std::string server_nonce_;
    std::string fake_salt_key_;

    std::string username_;
    std::string gs2_header_;
    std::string client_first_bare_;
    std::string server_first_;
    std::string nonce_;  // client nonce + server nonce
    ScramVerifier verifier_;
    const char* unknown_ = nullptr;  // why the proof must fail although it is checked
};

AuthStep ScramExchange::start(std::string_view client_first) {
    if (state_ != State::AwaitingClientFirst) {
        return fail(FailureReason::Malformed, "SCRAM: client-first-message out of order",
                    "other-error");
    }
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    std::string_view rest = client_first;
    if (rest.starts_with("p=")) {
        return fail(FailureReason::NotAuthorized, "SCRAM: client requires channel binding",
                    "channel-binding-not-supported");
    }
    // "y": the client could bind but thinks we cannot, which is true.
    if (!rest.starts_with("n,") && !rest.starts_with("y,")) {
        return fail(FailureReason::Malformed, "SCRAM: malformed GS2 header", "other-error");
    }
    rest.remove_prefix(2);
    std::optional<std::string> authzid;
    if (!rest.starts_with(",")) {
        const auto raw = take_attribute(rest, 'a');
        if (!raw || !(authzid = unescape_saslname(*raw)) || !take_comma(rest)) {
            return fail(FailureReason::Malformed, "SCRAM: malformed authzid", "other-error");
        }
    } else {
        rest.remove_prefix(1);
    }
    gs2_header_ = std::string(client_first.substr(0, client_first.size() - rest.size()));
    client_first_bare_ = std::string(rest);

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    if (rest.starts_with("m=")) {
        return fail(FailureReason::NotAuthorized, "SCRAM: mandatory extension requested",
                    "extensions-not-supported");
    }
    const auto raw_name = take_attribute(rest, 'n');
    auto name = raw_name ? unescape_saslname(*raw_name) : std::nullopt;
    if (!name) {
        return fail(FailureReason::Malformed, "SCRAM: malformed username",
                    "invalid-username-encoding");
    }
    username_ = std::move(*name);
    const auto client_nonce = take_comma(rest) ? take_attribute(rest, 'r') : std::nullopt;
    if (!client_nonce || !is_valid_nonce(*client_nonce) || !is_valid_extension_list(rest)) {
        return fail(FailureReason::Malformed, "SCRAM: malformed client-first-message",
                    "other-error");
    }
    if (authzid && *authzid != username_) {
        return fail(FailureReason::NotAuthorized,
                    "SCRAM: authorization identity differs from the user", "other-error");
    }

    choose_verifier();
    nonce_ = std::string(*client_nonce) + server_nonce_;
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(verifier_.salt) +
                    ",i=" + std::to_string(verifier_.iterations);
    state_ = State::AwaitingClientFinal;
    return AuthStep::next_challenge(server_first_);
}

// A user the client cannot log in as gets a verifier that looks like a real one from the
// outside: same salt size and default iteration count, the salt stable per username.
void ScramExchange::choose_verifier() {
    const UserRecord* user = users_ ? users_->find(username_) : nullptr;
    if (user != nullptr && user->scram) {
        verifier_ = *user->scram;
        return;
    }
    unknown_ = user == nullptr ? "SCRAM: unknown user" : "SCRAM: user has no SCRAM verifier";
    verifier_.iterations = kDefaultScramIterations;
    verifier_.salt = hmac_sha256(fake_salt_key_, username_).substr(0, kScramSaltSize);
    verifier_.stored_key = std::string(kKeySize, '\0');
    verifier_.server_key = std::string(kKeySize, '\0');
}

AuthStep ScramExchange::next(std::string_view client_final) {
    if (state_ != State::AwaitingClientFinal) {
        return fail(FailureReason::Malformed, "SCRAM: client-final-message out of order",
                    "other-error");
    }
    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const auto proof_at = client_final.rfind(",p=");
    if (proof_at == std::string_view::npos) {
        return fail(FailureReason::Malformed, "SCRAM: client-final-message without proof",
                    "other-error");
    }
    const std::string_view without_proof = client_final.substr(0, proof_at);
    const auto proof = base64_decode(client_final.substr(proof_at + 3));
    std::string_view rest = without_proof;
    const auto binding = take_attribute(rest, 'c');
    const bool comma = binding && take_comma(rest);
    const auto nonce = comma ? take_attribute(rest, 'r') : std::nullopt;
    if (!nonce || !is_valid_extension_list(rest)) {
        return fail(FailureReason::Malformed, "SCRAM: malformed client-final-message",
                    "other-error");
    }
    if (!proof || proof->size() != kKeySize) {
        return fail(FailureReason::Malformed, "SCRAM: malformed proof", "invalid-encoding");
    }
    // Without channel binding, c= repeats the GS2 header; a mismatch means tampering.
    const auto header = base64_decode(*binding);
    if (!header || *header != gs2_header_) {
        return fail(FailureReason::Malformed, "SCRAM: channel binding does not match",
                    "channel-bindings-dont-match");
    }
    if (*nonce != nonce_) {
        return fail(FailureReason::Malformed, "SCRAM: nonce does not match", "other-error");
    }

    // RFC 5802 section 3: recover ClientKey from the proof and check it hashes to StoredKey.
    const std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
    const std::string client_signature = hmac_sha256(verifier_.stored_key, auth_message);
    const std::string client_key = xor_bytes(*proof, client_signature);
    const bool proof_ok = constant_time_equal(sha256(client_key), verifier_.stored_key);
    if (unknown_ != nullptr || !proof_ok) {
        return fail(FailureReason::BadCredentials,
                    unknown_ != nullptr ? unknown_ : "SCRAM: wrong password", "invalid-proof");
    }
    state_ = State::Finished;
    const std::string server_signature = hmac_sha256(verifier_.server_key, auth_message);
    return AuthStep::success("v=" + base64_encode(server_signature), username_);
}

}  // namespace

std::string random_server_nonce() {
    return base64_encode(random_bytes(kServerNonceBytes));
}

std::string escape_saslname(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (const char c : name) {
        if (c == ',') {
            out += "=2C";
        } else if (c == '=') {
            out += "=3D";
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::string> unescape_saslname(std::string_view saslname) {
    std::string out;
    out.reserve(saslname.size());
    for (std::size_t i = 0; i < saslname.size(); ++i) {
        const char c = saslname[i];
        if (c == '\0' || c == ',') {
            return std::nullopt;
        }
        if (c != '=') {
            out += c;
            continue;
        }
        // ABNF literals are case-insensitive, so "=2c" is as valid as "=2C".
        const std::string_view code = saslname.substr(i + 1, 2);
        if (code == "2C" || code == "2c") {
            out += ',';
        } else if (code == "3D" || code == "3d") {
            out += '=';
        } else {
            return std::nullopt;  // RFC 5802 section 5.1: MUST fail
        }
        i += 2;
    }
    if (out.empty()) {
        return std::nullopt;
    }
    return out;
}

ScramAuthenticator::ScramAuthenticator(std::shared_ptr<const PasswordFile> users,
                                       NonceGenerator nonce)
    : users_(std::move(users)),
      nonce_(nonce ? std::move(nonce) : NonceGenerator(random_server_nonce)),
      fake_salt_key_(random_bytes(kKeySize)) {}

std::vector<std::string> ScramAuthenticator::methods() const {
    return {std::string(kScramSha256)};
}

std::unique_ptr<AuthExchange> ScramAuthenticator::begin(std::string_view method) const {
    if (method != kScramSha256) {
        return nullptr;
    }
    return std::make_unique<ScramExchange>(users_, nonce_(), fake_salt_key_);
}

}  // namespace petrel::auth
