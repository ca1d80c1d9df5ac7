#include "support/scram_client.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>
#include <utility>

#include "petrel/auth/crypto.hpp"
#include "petrel/auth/scram.hpp"

namespace petrel::test {
namespace {

constexpr int kKeySize = 32;
constexpr std::string_view kGs2Header = "n,,";

const unsigned char* bytes_of(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

std::string hmac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data), data.size(),
             out, &length) == nullptr) {
        throw std::runtime_error("HMAC failed");
    }
    return std::string(reinterpret_cast<const char*>(out), length);
}

std::string hash(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_Digest failed");
    }
    return std::string(reinterpret_cast<const char*>(out), length);
}

// Splits "r=..,s=..,i=.." into its three values, in that order (RFC 5802 section 7).
struct ServerFirst {
    std::string_view nonce;
    std::string_view salt_b64;
    std::string_view iterations;
};
std::optional<ServerFirst> parse_server_first(std::string_view text) {
    ServerFirst out;
    std::string_view* fields[] = {&out.nonce, &out.salt_b64, &out.iterations};
    const char keys[] = {'r', 's', 'i'};
    for (int i = 0; i < 3; ++i) {
        if (text.size() < 2 || text[0] != keys[i] || text[1] != '=') {
            return std::nullopt;
        }
        const auto comma = text.find(',');
        *fields[i] = text.substr(2, comma == text.npos ? text.npos : comma - 2);
        text = comma == text.npos ? std::string_view{} : text.substr(comma + 1);
    }
    return out;
}

}  // namespace

ScramClient::ScramClient(std::string user, std::string password, std::string nonce)
    : user_(std::move(user)), password_(std::move(password)), nonce_(std::move(nonce)) {}

std::string ScramClient::random_nonce() {
    unsigned char bytes[18];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return auth::base64_encode(
        std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string ScramClient::client_first_bare() const {
    return "n=" + auth::escape_saslname(user_) + ",r=" + nonce_;
}

std::string ScramClient::client_first() const {
    return std::string(kGs2Header) + client_first_bare();
}

std::optional<std::string> ScramClient::client_final(std::string_view server_first) {
    const auto parsed = parse_server_first(server_first);
    if (!parsed || parsed->nonce.size() <= nonce_.size() || !parsed->nonce.starts_with(nonce_)) {
        return std::nullopt;
    }
    const auto salt = auth::base64_decode(parsed->salt_b64);
    int iterations = 0;
    const auto [end, error] =
        std::from_chars(parsed->iterations.data(),
                        parsed->iterations.data() + parsed->iterations.size(), iterations);
    if (!salt || error != std::errc{} || end != parsed->iterations.end() || iterations < 1) {
        return std::nullopt;
    }

    unsigned char salted[kKeySize];
    if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()), bytes_of(*salt),
                          static_cast<int>(salt->size()), iterations, EVP_sha256(), kKeySize,
                          salted) != 1) {
        return std::nullopt;
    }
    const std::string salted_password(reinterpret_cast<const char*>(salted), kKeySize);
    const std::string client_key = hmac(salted_password, "Client Key");
    const std::string stored_key = hash(client_key);
    const std::string server_key = hmac(salted_password, "Server Key");

    const std::string without_proof =
        "c=" + auth::base64_encode(kGs2Header) + ",r=" + std::string(parsed->nonce);
    const std::string auth_message =
        client_first_bare() + "," + std::string(server_first) + "," + without_proof;
    std::string proof = hmac(stored_key, auth_message);  // ClientSignature, then XOR
    for (std::size_t i = 0; i < proof.size(); ++i) {
        proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
    }
    expected_server_final_ = "v=" + auth::base64_encode(hmac(server_key, auth_message));
    return without_proof + ",p=" + auth::base64_encode(proof);
}

bool ScramClient::verify_server_final(std::string_view server_final) const {
    return !expected_server_final_.empty() && server_final == expected_server_final_;
}

}  // namespace petrel::test
