#include "petrel/auth/password_file.hpp"

#include <charconv>
#include <climits>
#include <fstream>
#include <sstream>
#include <utility>

#include "petrel/auth/crypto.hpp"

namespace petrel::auth {
namespace {

constexpr std::size_t kSha512Size = 64;
constexpr std::size_t kSha256Size = 32;
constexpr std::string_view kPbkdf2Prefix = "$7$";
constexpr std::string_view kSha512Prefix = "$6$";
constexpr std::string_view kScramPrefix = "SCRAM-SHA-256$";

// Decimal 1..INT_MAX (OpenSSL's PBKDF2 takes an int); no sign, no leading '+'.
std::optional<unsigned> parse_iterations(std::string_view text) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value == 0 ||
        value > static_cast<unsigned>(INT_MAX)) {
        return std::nullopt;
    }
    return value;
}

// Splits `text` at the first `separator`; nullopt when there is none.
std::optional<std::pair<std::string_view, std::string_view>> split_once(std::string_view text,
                                                                        char separator) {
    const auto at = text.find(separator);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    return std::pair{text.substr(0, at), text.substr(at + 1)};
}

std::optional<std::string> decode_sized(std::string_view text, std::size_t min_size,
                                        std::size_t max_size) {
    auto bytes = base64_decode(text);
    if (!bytes || bytes->size() < min_size || bytes->size() > max_size) {
        return std::nullopt;
    }
    return bytes;
}

std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r";
    const auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// Stands in for a missing user in verify_password so that the work done does not depend on
// whether the user exists. Its hash matches no password that matters: the result is
// discarded anyway.
const PasswordHash& dummy_hash() {
    static const PasswordHash kDummy{PasswordHash::Algorithm::Pbkdf2Sha512,
                                     kDefaultPbkdf2Iterations, std::string(kPasswordSaltSize, 'x'),
                                     std::string(kSha512Size, '\0')};
    return kDummy;
}

}  // namespace

std::optional<PasswordHash> parse_password_hash(std::string_view text) {
    PasswordHash out;
    std::string_view rest;
    if (text.starts_with(kPbkdf2Prefix)) {
        auto fields = split_once(text.substr(kPbkdf2Prefix.size()), '$');
        if (!fields) {
            return std::nullopt;
        }
        auto iterations = parse_iterations(fields->first);
        if (!iterations) {
            return std::nullopt;
        }
        out.algorithm = PasswordHash::Algorithm::Pbkdf2Sha512;
        out.iterations = *iterations;
        rest = fields->second;
    } else if (text.starts_with(kSha512Prefix)) {
        out.algorithm = PasswordHash::Algorithm::Sha512Salted;
        rest = text.substr(kSha512Prefix.size());
    } else {
        return std::nullopt;
    }
    auto parts = split_once(rest, '$');
    if (!parts) {
        return std::nullopt;
    }
    auto salt = decode_sized(parts->first, kPasswordSaltSize, 1024);
    auto hash = decode_sized(parts->second, kSha512Size, kSha512Size);
    if (!salt || !hash) {
        return std::nullopt;
    }
    out.salt = std::move(*salt);
    out.hash = std::move(*hash);
    return out;
}

std::string format_password_hash(const PasswordHash& hash) {
    std::string out;
    if (hash.algorithm == PasswordHash::Algorithm::Pbkdf2Sha512) {
        out = std::string(kPbkdf2Prefix) + std::to_string(hash.iterations) + "$";
    } else {
        out = std::string(kSha512Prefix);
    }
    return out + base64_encode(hash.salt) + "$" + base64_encode(hash.hash);
}

std::optional<ScramVerifier> parse_scram_verifier(std::string_view text) {
    if (!text.starts_with(kScramPrefix)) {
        return std::nullopt;
    }
    // ITERATIONS:SALT $ STOREDKEY:SERVERKEY
    auto halves = split_once(text.substr(kScramPrefix.size()), '$');
    if (!halves) {
        return std::nullopt;
    }
    auto params = split_once(halves->first, ':');
    auto keys = split_once(halves->second, ':');
    if (!params || !keys) {
        return std::nullopt;
    }
    auto iterations = parse_iterations(params->first);
    auto salt = decode_sized(params->second, 1, 1024);
    auto stored_key = decode_sized(keys->first, kSha256Size, kSha256Size);
    auto server_key = decode_sized(keys->second, kSha256Size, kSha256Size);
    if (!iterations || !salt || !stored_key || !server_key) {
        return std::nullopt;
    }
    return ScramVerifier{*iterations, std::move(*salt), std::move(*stored_key),
                         std::move(*server_key)};
}

std::string format_scram_verifier(const ScramVerifier& verifier) {
    return std::string(kScramPrefix) + std::to_string(verifier.iterations) + ":" +
           base64_encode(verifier.salt) + "$" + base64_encode(verifier.stored_key) + ":" +
           base64_encode(verifier.server_key);
}

PasswordHash make_password_hash(std::string_view password, unsigned iterations) {
    PasswordHash out{
        PasswordHash::Algorithm::Pbkdf2Sha512, iterations, random_bytes(kPasswordSaltSize), {}};
    out.hash = pbkdf2_sha512(password, out.salt, iterations, kSha512Size);
    return out;
}

ScramVerifier derive_scram_verifier(std::string_view password, std::string_view salt,
                                    unsigned iterations) {
    // RFC 5802 section 3. Passwords are used as given: no SASLprep, so non-ASCII passwords
    // must reach client and server in the same normalization form.
    const std::string salted = pbkdf2_sha256(password, salt, iterations, kSha256Size);
    const std::string client_key = hmac_sha256(salted, "Client Key");
    return ScramVerifier{iterations, std::string(salt), sha256(client_key),
                         hmac_sha256(salted, "Server Key")};
}

ScramVerifier make_scram_verifier(std::string_view password, unsigned iterations) {
    return derive_scram_verifier(password, random_bytes(kScramSaltSize), iterations);
}

bool is_valid_username(std::string_view username) {
    return !username.empty() && username.find_first_of(":\r\n") == std::string_view::npos &&
           username.front() != '#' && username.front() != ' ' && username.front() != '\t';
}

std::string format_user_line(const UserRecord& record) {
    if (!is_valid_username(record.username)) {
        throw std::invalid_argument("invalid username for the password file");
    }
    std::string line = record.username + ":" + format_password_hash(record.hash);
    if (record.scram) {
        line += ":" + format_scram_verifier(*record.scram);
    }
    return line;
}

bool verify_password_hash(const PasswordHash& hash, std::string_view password) {
    std::string computed;
    if (hash.algorithm == PasswordHash::Algorithm::Pbkdf2Sha512) {
        computed = pbkdf2_sha512(password, hash.salt, hash.iterations, kSha512Size);
    } else {
        std::string salted(password);
        salted += hash.salt;
        computed = sha512(salted);
    }
    return constant_time_equal(computed, hash.hash);
}

PasswordFile PasswordFile::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw PasswordFileError(path + ": cannot open password file");
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw PasswordFileError(path + ": cannot read password file");
    }
    return parse(text.str(), path);
}

PasswordFile PasswordFile::parse(std::string_view text, const std::string& origin) {
    PasswordFile file;
    std::map<std::string_view, std::size_t> first_line;  // for the duplicate message
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const auto end = text.find('\n');
        const std::string_view raw = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);

        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto fail = [&](const std::string& what) {
            return PasswordFileError(origin + ":" + std::to_string(line_number) + ": " + what);
        };
        const auto user_rest = split_once(line, ':');
        if (!user_rest) {
            throw fail("expected username:HASH[:SCRAM]");
        }
        const auto [username, rest] = *user_rest;
        if (username.empty()) {
            throw fail("empty username");
        }
        const auto hash_scram = split_once(rest, ':');
        const std::string_view hash_text = hash_scram ? hash_scram->first : rest;
        auto hash = parse_password_hash(hash_text);
        if (!hash) {
            throw fail(hash_text.starts_with(kPbkdf2Prefix) || hash_text.starts_with(kSha512Prefix)
                           ? "malformed password hash"
                           : "unknown password hash type (expected $7$ or $6$)");
        }
        std::optional<ScramVerifier> scram;
        if (hash_scram) {
            scram = parse_scram_verifier(hash_scram->second);
            if (!scram) {
                throw fail("malformed SCRAM verifier");
            }
        }
        if (const auto seen = first_line.find(username); seen != first_line.end()) {
            throw fail("duplicate user '" + std::string(username) + "' (first on line " +
                       std::to_string(seen->second) + ")");
        }
        first_line.emplace(username, line_number);
        std::string name(username);
        file.users_.emplace(name, UserRecord{name, std::move(*hash), std::move(scram)});
    }
    return file;
}

const UserRecord* PasswordFile::find(std::string_view username) const {
    const auto it = users_.find(username);
    return it == users_.end() ? nullptr : &it->second;
}

bool PasswordFile::verify_password(std::string_view username, std::string_view password) const {
    const UserRecord* user = find(username);
    if (user == nullptr) {
        (void)verify_password_hash(dummy_hash(), password);
        return false;
    }
    return verify_password_hash(user->hash, password);
}

}  // namespace petrel::auth
