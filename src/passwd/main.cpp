// petrel-passwd: manages the broker's `password_file` with the usage Mosquitto users know
// from mosquitto_passwd (-c create, -b batch, -D delete, -U upgrade plain text). Every line
// it writes holds a PBKDF2-SHA512 hash ($7$, the format Mosquitto writes) and a
// SCRAM-SHA-256 verifier, so the user can log in with a plain CONNECT password or with
// SCRAM (MQTT 5 enhanced authentication). Errors are one "Error: ..." line on stderr and
// exit status 1; a command line that fits no usage also prints the usage.
#include <CLI/CLI.hpp>

#include <charconv>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "passwd_file_edit.hpp"
#include "password_prompt.hpp"
#include "petrel/auth/password_file.hpp"

namespace {

using petrel::passwd::EditError;
using petrel::passwd::PasswordFileText;
namespace auth = petrel::auth;

constexpr std::string_view kHashName = "sha512-pbkdf2";
// Below this, PBKDF2 does little against offline guessing; Mosquitto allows any count, so
// fewer are accepted with a warning.
constexpr unsigned kRecommendedIterations = 100000;
// MQTT strings (user name, password) are at most 65535 bytes [MQTT-1.5.4].
constexpr std::size_t kMaxMqttString = 65535;

constexpr const char* kUsage =
    "petrel-passwd is a tool for managing password files for petrel.\n"
    "\n"
    "Usage: petrel-passwd [-H sha512-pbkdf2] [-I iterations] [-c | -D] passwordfile username\n"
    "       petrel-passwd [-H sha512-pbkdf2] [-I iterations] [-c] -b passwordfile username "
    "password\n"
    "       petrel-passwd -U passwordfile\n"
    " -b : run in batch mode to allow passing passwords on the command line.\n"
    " -c : create a new password file. This will overwrite existing files.\n"
    " -D : delete the username rather than adding/updating its password.\n"
    " -H : specify the hashing algorithm. Only sha512-pbkdf2, the default, is supported.\n"
    " -I : specify the number of PBKDF2 iterations. Defaults to 101000.\n"
    " -U : update a plain text password file to use hashed passwords.\n"
    "\n"
    "Each line written holds a sha512-pbkdf2 hash and a SCRAM-SHA-256 verifier, so the user\n"
    "can log in with a plain password or with SCRAM-SHA-256 (MQTT 5 enhanced authentication).\n";

// A command line that fits none of the usages: the message (if any), then the usage.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct Options {
    bool help = false;
    bool batch = false;
    bool create = false;
    bool remove = false;
    bool upgrade = false;
    std::optional<std::string> hash;
    std::optional<std::string> iterations;
    std::vector<std::string> arguments;  // passwordfile [username [password]]
};

Options parse_command_line(int argc, char** argv) {
    Options options;
    CLI::App app{"petrel-passwd"};
    app.set_help_flag();  // kUsage instead of CLI11's generated help
    app.add_flag("-h,--help", options.help);
    app.add_flag("-b", options.batch);
    app.add_flag("-c", options.create);
    app.add_flag("-D", options.remove);
    app.add_flag("-U", options.upgrade);
    app.add_option("-H", options.hash);
    app.add_option("-I", options.iterations);
    // Options come first; from the first positional on, everything is an argument, so a
    // batch-mode password may start with '-' (as with mosquitto_passwd).
    app.prefix_command();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        throw UsageError(error.what());
    }
    options.arguments = app.remaining();
    if (!options.arguments.empty() && options.arguments.front() == "--") {
        options.arguments.erase(options.arguments.begin());
    } else if (!options.arguments.empty() && options.arguments.front().size() > 1 &&
               options.arguments.front().front() == '-') {
        throw UsageError("Unknown option '" + options.arguments.front() + "'.");
    }
    return options;
}

// Checks the combination of options and the number of arguments.
void check_usage(const Options& options) {
    if (options.create && options.remove) {
        throw EditError("-c and -D cannot be used together.");
    }
    if (options.batch && options.remove) {
        throw EditError("-b and -D cannot be used together.");
    }
    if (options.upgrade && (options.batch || options.create || options.remove)) {
        throw EditError("-U cannot be used with -b, -c or -D.");
    }
    const std::size_t expected = options.upgrade ? 1 : options.batch ? 3 : 2;
    if (options.arguments.size() != expected) {
        throw UsageError("");
    }
}

void check_hash(const Options& options) {
    if (options.hash && *options.hash != kHashName) {
        throw EditError("Unknown hash type '" + *options.hash +
                        "' (choices: " + std::string(kHashName) + ").");
    }
}

unsigned iteration_count(const Options& options) {
    if (!options.iterations) {
        return auth::kDefaultPbkdf2Iterations;
    }
    const std::string& text = *options.iterations;
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value == 0 ||
        value > static_cast<unsigned>(INT_MAX)) {
        throw EditError("-I needs a whole number of iterations from 1 to " +
                        std::to_string(INT_MAX) + ", not '" + text + "'.");
    }
    if (value < kRecommendedIterations) {
        std::fprintf(stderr,
                     "Warning: %u iterations are fewer than the recommended %u; such a hash is "
                     "cheap to attack if the file leaks.\n",
                     value, kRecommendedIterations);
    }
    return value;
}

void check_username(const std::string& username) {
    if (username.find(':') != std::string::npos) {
        throw EditError("Username must not contain the ':' character.");
    }
    if (!auth::is_valid_username(username)) {
        throw EditError("Invalid username '" + username +
                        "': it must not be empty, contain a line break, or start with '#' or "
                        "whitespace.");
    }
    if (username.size() > kMaxMqttString) {
        throw EditError("Username too long (at most 65535 bytes).");
    }
}

void check_password(const std::string& password) {
    if (password.size() > kMaxMqttString) {
        throw EditError("Password too long (at most 65535 bytes).");
    }
}

// "username:$7$...:SCRAM-SHA-256$..." with fresh salts.
std::string user_line(const std::string& username, const std::string& password,
                      unsigned iterations) {
    return auth::format_user_line(auth::UserRecord{username,
                                                   auth::make_password_hash(password, iterations),
                                                   auth::make_scram_verifier(password)});
}

std::string prompt_new_password() {
    const auto first = petrel::passwd::read_password("Password: ");
    if (!first) {
        throw EditError("Unable to read password.");
    }
    if (first->empty()) {
        throw EditError("Empty password.");
    }
    const auto second = petrel::passwd::read_password("Reenter password: ");
    if (!second || *second != *first) {
        throw EditError("Passwords do not match.");
    }
    return *first;
}

int run(const Options& options) {
    check_usage(options);
    check_hash(options);
    const unsigned iterations = iteration_count(options);
    const std::string& path = options.arguments[0];

    if (options.upgrade) {
        PasswordFileText file = PasswordFileText::load(path);
        const auto rewritten =
            file.upgrade_plain_text([&](const std::string& username, const std::string& password) {
                check_password(password);
                return user_line(username, password, iterations);
            });
        if (rewritten > 0) {
            petrel::passwd::save_atomically(path, file.text());
        }
        return 0;
    }

    const std::string& username = options.arguments[1];
    check_username(username);
    if (options.remove) {
        PasswordFileText file = PasswordFileText::load(path);
        if (!file.remove_user(username)) {
            throw EditError("User " + username + " not found in password file.");
        }
        petrel::passwd::save_atomically(path, file.text());
        return 0;
    }

    // Without -c the file must exist; read it before asking for a password.
    PasswordFileText file = options.create ? PasswordFileText{} : PasswordFileText::load(path);
    const std::string password = options.batch ? options.arguments[2] : prompt_new_password();
    check_password(password);
    file.set_user(username, user_line(username, password, iterations));
    petrel::passwd::save_atomically(path, file.text());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options options = parse_command_line(argc, argv);
        if (options.help) {
            std::fputs(kUsage, stdout);
            return 0;
        }
        return run(options);
    } catch (const UsageError& error) {
        if (*error.what() != '\0') {
            std::fprintf(stderr, "Error: %s\n\n", error.what());
        }
        std::fputs(kUsage, stderr);
    } catch (const std::exception& error) {  // EditError, and what the auth layer throws
        std::fprintf(stderr, "Error: %s\n", error.what());
    }
    return 1;
}
