#include "petrel/auth/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

namespace petrel::auth {
namespace {

const unsigned char* bytes_of(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes_of(std::string& s) {
    return reinterpret_cast<unsigned char*>(s.data());
}

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

// The OpenSSL calls below only fail on allocation failure or a broken provider set-up: no
// caller could recover, and returning an empty digest would be a silent security hole.
[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

std::string digest(const EVP_MD* md, std::string_view data) {
    std::string out(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), bytes_of(out), &length, md, nullptr) != 1) {
        fail("EVP_Digest");
    }
    out.resize(length);
    return out;
}

std::string pbkdf2(const EVP_MD* md, std::string_view password, std::string_view salt,
                   unsigned iterations, std::size_t length) {
    if (iterations == 0 || iterations > static_cast<unsigned>(INT_MAX) ||
        password.size() > static_cast<std::size_t>(INT_MAX) ||
        salt.size() > static_cast<std::size_t>(INT_MAX) ||
        length > static_cast<std::size_t>(INT_MAX)) {
        throw std::invalid_argument("PBKDF2 parameters out of range");
    }
    std::string out(length, '\0');
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes_of(salt),
                          static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                          static_cast<int>(length), bytes_of(out)) != 1) {
        fail("PKCS5_PBKDF2_HMAC");
    }
    return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // +1: EVP writes a NUL
    const int written =
        EVP_EncodeBlock(bytes_of(out), bytes_of(bytes), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') {
        padding = text[text.size() - 2] == '=' ? 2 : 1;
    }
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        if (!is_base64_char(text[i])) {
            return std::nullopt;
        }
    }
    std::string out(3 * (text.size() / 4) + 1, '\0');
    const int written =
        EVP_DecodeBlock(bytes_of(out), bytes_of(text), static_cast<int>(text.size()));
    if (written < 0 || static_cast<std::size_t>(written) < padding) {
        return std::nullopt;
    }
    // EVP_DecodeBlock decodes the pad characters as zero bits and counts them as output.
    out.resize(static_cast<std::size_t>(written) - padding);
    return out;
}

std::string random_bytes(std::size_t count) {
    std::string out(count, '\0');
    if (count > static_cast<std::size_t>(INT_MAX) ||
        RAND_bytes(bytes_of(out), static_cast<int>(count)) != 1) {
        fail("RAND_bytes");
    }
    return out;
}

std::string sha256(std::string_view data) {
    return digest(EVP_sha256(), data);
}
std::string sha512(std::string_view data) {
    return digest(EVP_sha512(), data);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::string out(EVP_MAX_MD_SIZE, '\0');
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data), data.size(),
             bytes_of(out), &length) == nullptr) {
        fail("HMAC");
    }
    out.resize(length);
    return out;
}

std::string pbkdf2_sha256(std::string_view password, std::string_view salt, unsigned iterations,
                          std::size_t length) {
    return pbkdf2(EVP_sha256(), password, salt, iterations, length);
}

std::string pbkdf2_sha512(std::string_view password, std::string_view salt, unsigned iterations,
                          std::size_t length) {
    return pbkdf2(EVP_sha512(), password, salt, iterations, length);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace petrel::auth
