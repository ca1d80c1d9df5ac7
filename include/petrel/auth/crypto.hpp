// The few cryptographic primitives the auth layer needs, as thin wrappers over OpenSSL 3
// (libcrypto) that take and return byte strings.
//
// Byte strings are std::string because OpenSSL, the password file and SCRAM's wire format
// all speak bytes-in-a-string; nothing here interprets them as text. Keeping every OpenSSL
// call in one file means one place to audit for length and error handling.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::auth {

// Standard base64 (RFC 4648 section 4) with '=' padding, no line breaks.
std::string base64_encode(std::string_view bytes);

// Strict decoding: the length is a multiple of 4, only the base64 alphabet, '=' only as one
// or two trailing pad characters. nullopt otherwise. Unlike bare EVP_DecodeBlock, padding
// is not returned as trailing zero bytes and surrounding whitespace is not tolerated.
std::optional<std::string> base64_decode(std::string_view text);

// `count` bytes from OpenSSL's CSPRNG. Throws std::runtime_error when the generator fails,
// which means the process cannot do any cryptography at all.
std::string random_bytes(std::size_t count);

std::string sha256(std::string_view data);
std::string sha512(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);

// PBKDF2 (RFC 8018) with HMAC-SHA-256 / HMAC-SHA-512. `iterations` must be at least 1 and
// fit an int (OpenSSL's limit); callers validate that when parsing.
std::string pbkdf2_sha256(std::string_view password, std::string_view salt, unsigned iterations,
                          std::size_t length);
std::string pbkdf2_sha512(std::string_view password, std::string_view salt, unsigned iterations,
                          std::size_t length);

// Compares in time that depends on the lengths only, never on where the bytes differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace petrel::auth
