// The password file: who may connect, and the secrets that prove it.
//
// One line per user, `username:HASH[:SCRAM]`; blank lines and lines starting with '#' are
// ignored. HASH is Mosquitto-compatible, so a Mosquitto password file works unchanged:
//   $7$ITERATIONS$SALT_B64$HASH_B64   PBKDF2-HMAC-SHA512, 64-byte key (what we write)
//   $6$SALT_B64$HASH_B64              SHA512(password + salt), Mosquitto < 2.0 (read only)
// The optional SCRAM field is an RFC 5803-style verifier for SCRAM-SHA-256 (RFC 7677):
//   SCRAM-SHA-256$ITERATIONS:SALT_B64$STOREDKEY_B64:SERVERKEY_B64
// It contains ':', so a line splits at the first two ':' only. The format is final: the
// `petrel-passwd` tool writes it with make_password_hash/make_scram_verifier/format_user_line.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace petrel::auth {

// Mosquitto writes 101 iterations; PBKDF2 needs ~100000 to mean something today. One
// verification costs ~0.1 s of CPU at this count, paid per CONNECT with a password.
inline constexpr unsigned kDefaultPbkdf2Iterations = 101000;
// RFC 7677 section 4: at least 4096. The client pays this cost, not the broker.
inline constexpr unsigned kDefaultScramIterations = 4096;
// Mosquitto reads exactly 12-byte salts; writing 12 keeps our files readable by it.
inline constexpr std::size_t kPasswordSaltSize = 12;
inline constexpr std::size_t kScramSaltSize = 16;

// Start-up failure: the file cannot be read or a line is wrong. what() names the place,
// "users.txt:3: malformed SCRAM verifier", so main() prints it as one clear line.
class PasswordFileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct PasswordHash {
    enum class Algorithm { Pbkdf2Sha512, Sha512Salted };
    Algorithm algorithm = Algorithm::Pbkdf2Sha512;
    unsigned iterations = 0;  // Pbkdf2Sha512 only
    std::string salt;         // raw bytes
    std::string hash;         // raw bytes, 64
};

// What SCRAM needs of a password (RFC 5802 section 3) without the password itself.
struct ScramVerifier {
    unsigned iterations = 0;
    std::string salt;        // raw bytes
    std::string stored_key;  // H(ClientKey), 32 bytes
    std::string server_key;  // HMAC(SaltedPassword, "Server Key"), 32 bytes
};

struct UserRecord {
    std::string username;
    PasswordHash hash;
    std::optional<ScramVerifier> scram;
};

// Text forms of the two fields; parse_* return nullopt for anything malformed (unknown
// prefix, bad base64, wrong key length, salt under 12 bytes for $7$/$6$, zero iterations).
std::optional<PasswordHash> parse_password_hash(std::string_view text);
std::string format_password_hash(const PasswordHash& hash);
std::optional<ScramVerifier> parse_scram_verifier(std::string_view text);
std::string format_scram_verifier(const ScramVerifier& verifier);

// A fresh random salt each call.
PasswordHash make_password_hash(std::string_view password,
                                unsigned iterations = kDefaultPbkdf2Iterations);
ScramVerifier make_scram_verifier(std::string_view password,
                                  unsigned iterations = kDefaultScramIterations);
// The deterministic part of make_scram_verifier, for known-answer tests (RFC 7677).
ScramVerifier derive_scram_verifier(std::string_view password, std::string_view salt,
                                    unsigned iterations);

// A username the file can hold: non-empty, no ':' (the separator), no line break, and not
// starting with '#' or whitespace (which would read back as a comment or be trimmed).
bool is_valid_username(std::string_view username);

// "username:HASH[:SCRAM]" without a line break. Throws std::invalid_argument when
// !is_valid_username(record.username).
std::string format_user_line(const UserRecord& record);

// Whether `password` matches `hash`, compared in constant time.
bool verify_password_hash(const PasswordHash& hash, std::string_view password);

class PasswordFile {
  public:
    PasswordFile() = default;  // nobody may log in

    // Reads and parses `path`; throws PasswordFileError naming "path:line" on any error.
    static PasswordFile load(const std::string& path);
    // `origin` names the text in error messages (normally the file's path).
    static PasswordFile parse(std::string_view text, const std::string& origin);

    const UserRecord* find(std::string_view username) const;

    // False for a wrong password and for an unknown user alike, in about the same time: an
    // unknown user costs a PBKDF2 run at the default count, so timing does not tell a
    // prober which usernames exist.
    bool verify_password(std::string_view username, std::string_view password) const;

    std::size_t size() const { return users_.size(); }

  private:
    std::map<std::string, UserRecord, std::less<>> users_;
};

}  // namespace petrel::auth
