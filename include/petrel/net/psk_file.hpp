// The pre-shared keys of a TLS-PSK listener, read from a file in Mosquitto's format:
//
//     # comment
//     sensor-17:3a5f0c9e1b2d4f6a8c0e1f2a3b4c5d6e
//
// one `identity:key` per line, the key in hexadecimal; blank lines and lines starting
// with '#' are skipped. The last ':' separates the two (a hex key has none), so an
// identity may itself contain ':'.
//
// Loading is a start-up (or reload) step: a bad line throws std::runtime_error naming
// FILE:LINE, and the keys are kept only once the whole file has been read.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace petrel::net {

class PskFile {
  public:
    // Reads and parses `path`; throws std::runtime_error ("FILE:LINE: why", or
    // "FILE: cannot open ...").
    static PskFile load(const std::string& path);
    // Parses file text; `origin` names it in error messages.
    static PskFile parse(std::string_view text, const std::string& origin);

    PskFile() = default;
    PskFile(PskFile&&) = default;
    PskFile& operator=(PskFile&&) = default;
    PskFile(const PskFile&) = delete;
    PskFile& operator=(const PskFile&) = delete;

    // The binary key of `identity`, or nullptr when the file does not name it. Identities
    // travel in clear in the handshake, so looking them up needs no secrecy; the key
    // itself is only ever handed to OpenSSL, which checks the peer's proof of it.
    const std::string* find(std::string_view identity) const;
    std::size_t size() const { return keys_.size(); }

  private:
    struct Entry {
        explicit Entry(std::size_t defined_on) : line(defined_on) {}
        ~Entry();  // wipes the key from memory
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;
        std::size_t line;  // where the file defines it, for duplicate errors
        std::string key;   // the key bytes
    };
    // Map nodes never move, so no stray copy of a key is left behind by a rehash or a move.
    std::map<std::string, Entry, std::less<>> keys_;
};

}  // namespace petrel::net
