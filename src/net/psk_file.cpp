#include "petrel/net/psk_file.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace petrel::net {

namespace {

std::string_view trim(std::string_view text) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Decodes the hex text into `key` (empty on entry), or throws saying what is wrong.
void decode_key(std::string_view hex, std::string& key) {
    if (hex.empty()) {
        throw std::invalid_argument("empty key");
    }
    if (hex.size() % 2 != 0) {
        throw std::invalid_argument("the key has an odd number of hex digits");
    }
    // OpenSSL's limit on what a PSK callback may return.
    if (hex.size() / 2 > PSK_MAX_PSK_LEN) {
        throw std::invalid_argument("the key is longer than " + std::to_string(PSK_MAX_PSK_LEN) +
                                    " bytes");
    }
    // Sized once, so that no reallocation leaves a copy of key bytes behind.
    key.assign(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < key.size(); ++i) {
        const int high = hex_value(hex[2 * i]);
        const int low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0) {
            throw std::invalid_argument("the key is not hexadecimal (no 0x prefix, digits 0-9a-f)");
        }
        key[i] = static_cast<char>(high * 16 + low);
    }
}

void check_identity(std::string_view identity) {
    if (identity.empty()) {
        throw std::invalid_argument("empty identity");
    }
    if (identity.size() > PSK_MAX_IDENTITY_LEN) {
        throw std::invalid_argument("the identity is longer than " +
                                    std::to_string(PSK_MAX_IDENTITY_LEN) + " bytes");
    }
    for (const char c : identity) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            throw std::invalid_argument("the identity contains a control character");
        }
    }
}

}  // namespace

PskFile::Entry::~Entry() {
    OPENSSL_cleanse(key.data(), key.size());
}

PskFile PskFile::load(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw std::runtime_error(path + ": cannot open the PSK file");
    }
    std::ostringstream text;
    text << file.rdbuf();
    return parse(text.str(), path);
}

PskFile PskFile::parse(std::string_view text, const std::string& origin) {
    PskFile parsed;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = text.find('\n');
        const std::string_view line = trim(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const std::string where = origin + ":" + std::to_string(line_number) + ": ";
        const std::size_t colon = line.rfind(':');
        if (colon == std::string_view::npos) {
            throw std::runtime_error(where + "expected identity:hexkey");
        }
        const std::string_view identity = trim(line.substr(0, colon));
        try {
            check_identity(identity);
            const auto [at, inserted] =
                parsed.keys_.try_emplace(std::string(identity), line_number);
            if (!inserted) {
                throw std::invalid_argument("identity '" + std::string(identity) +
                                            "' is already defined on line " +
                                            std::to_string(at->second.line));
            }
            try {
                // Decoded in place: the key bytes are never copied.
                decode_key(trim(line.substr(colon + 1)), at->second.key);
            } catch (...) {
                parsed.keys_.erase(at);  // its destructor wipes what was decoded
                throw;
            }
        } catch (const std::invalid_argument& error) {
            throw std::runtime_error(where + error.what());
        }
    }
    return parsed;
}

const std::string* PskFile::find(std::string_view identity) const {
    const auto found = keys_.find(identity);
    return found == keys_.end() ? nullptr : &found->second.key;
}

}  // namespace petrel::net
