// The petrel-passwd tool: its mosquitto_passwd-style usage (-c, -b, -D, -U, -H, -I, the
// interactive prompt), the files it writes (mode 0600, other lines kept, both a $7$ hash and
// a SCRAM-SHA-256 verifier per user), its errors; then the broker logging in users the tool
// created, with a plain password (mosquitto_pub, libmosquitto) and with SCRAM, and a file
// written by mosquitto_passwd.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "petrel/auth/password_file.hpp"
#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/raw_client.hpp"
#include "support/scram_client.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using protocol::Auth;
using protocol::Connack;
using protocol::Connect;
using protocol::PropertyId;

constexpr const char* kScram = "SCRAM-SHA-256";

// Runs petrel-passwd with `args`.
CommandResult run_passwd(std::vector<std::string> args) {
    args.insert(args.begin(), PETREL_PASSWD_BINARY);
    return run_command(args);
}

// Runs petrel-passwd with `args` and `input` piped into its standard input.
CommandResult passwd_with_input(const std::string& input, std::vector<std::string> args) {
    std::vector<std::string> argv = {find_program("sh"), "-c", R"(printf '%s' "$0" | "$@")", input,
                                     PETREL_PASSWD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
}

std::string describe_run(const CommandResult& result) {
    return "status " + std::to_string(result.status) + "\nstdout: " + result.out +
           "\nstderr: " + result.err;
}

// Lines of `text` that are neither blank nor comments.
std::vector<std::string> user_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        std::string line = text.substr(at, end - at);
        if (!line.empty() && line.front() != '#') {
            lines.push_back(std::move(line));
        }
        at = end + 1;
    }
    return lines;
}

// The line of `username` in `text`, or "".
std::string line_of(const std::string& text, const std::string& username) {
    for (const std::string& line : user_lines(text)) {
        if (line.starts_with(username + ":")) {
            return line;
        }
    }
    return {};
}

class PasswdToolTest : public ::testing::Test {
  protected:
    std::string file() const { return (dir_.path() / "users.txt").string(); }
    std::string text() const { return read_file(file()); }
    auth::PasswordFile load() const { return auth::PasswordFile::load(file()); }
    bool verifies(const std::string& username, const std::string& password) const {
        return load().verify_password(username, password);
    }
    // No temporary file was left behind next to the password file.
    void expect_only_the_file() const {
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
            names.push_back(entry.path().filename().string());
        }
        EXPECT_EQ(names, std::vector<std::string>{"users.txt"});
    }

    TempDir dir_{"petrel-passwd-"};
};

// -c -b: a new file, mode 0600, whose one line holds a $7$ hash at the default count and a
// SCRAM-SHA-256 verifier, both for the given password.
TEST_F(PasswdToolTest, CreateInBatchModeWritesAPrivateFileThatVerifies) {
    const auto result = run_passwd({"-c", "-b", file(), "alice", "right"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_EQ(result.err, "");

    struct stat info {};
    ASSERT_EQ(::stat(file().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    expect_only_the_file();

    const auto users = load();
    EXPECT_EQ(users.size(), 1u);
    EXPECT_TRUE(users.verify_password("alice", "right"));
    EXPECT_FALSE(users.verify_password("alice", "wrong"));
    const auth::UserRecord* alice = users.find("alice");
    ASSERT_NE(alice, nullptr);
    EXPECT_EQ(alice->hash.algorithm, auth::PasswordHash::Algorithm::Pbkdf2Sha512);
    EXPECT_EQ(alice->hash.iterations, auth::kDefaultPbkdf2Iterations);
    ASSERT_TRUE(alice->scram);
    const auto expected =
        auth::derive_scram_verifier("right", alice->scram->salt, alice->scram->iterations);
    EXPECT_EQ(alice->scram->stored_key, expected.stored_key);
    EXPECT_EQ(alice->scram->server_key, expected.server_key);
    EXPECT_TRUE(line_of(text(), "alice").find(":SCRAM-SHA-256$") != std::string::npos) << text();
}

// -c on an existing file starts it afresh.
TEST_F(PasswdToolTest, CreateOverwritesAnExistingFile) {
    write_file(file(), "# old\nold:plain\n");
    const auto result = run_passwd({"-c", "-b", file(), "alice", "right"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_EQ(user_lines(text()).size(), 1u) << text();
    EXPECT_TRUE(verifies("alice", "right"));
}

// -b adds a user and replaces an existing one in place; comments, blank lines and the other
// users' lines stay byte for byte, as does the file's mode.
TEST_F(PasswdToolTest, BatchAddsAndReplacesUsersKeepingTheOtherLines) {
    const std::string bob_line = auth::format_user_line(
        {"bob", auth::make_password_hash("builder", 1000), auth::make_scram_verifier("builder")});
    const std::string header = "# Petrel users\n\n# bob fixes things\n";
    write_file(file(), header + bob_line + "\n# trailing comment\n");
    ASSERT_EQ(::chmod(file().c_str(), 0640), 0);

    auto result = run_passwd({"-b", file(), "alice", "first"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_EQ(text(),
              header + bob_line + "\n# trailing comment\n" + line_of(text(), "alice") + "\n");
    EXPECT_TRUE(verifies("alice", "first"));
    EXPECT_TRUE(verifies("bob", "builder"));

    // Replacing alice keeps her place, after the trailing comment.
    result = run_passwd({"-b", file(), "alice", "second"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_FALSE(verifies("alice", "first"));
    EXPECT_TRUE(verifies("alice", "second"));
    EXPECT_TRUE(verifies("bob", "builder"));
    EXPECT_EQ(user_lines(text()).size(), 2u) << text();
    EXPECT_TRUE(text().starts_with(header + bob_line + "\n# trailing comment\nalice:")) << text();

    struct stat info {};
    ASSERT_EQ(::stat(file().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0640u);
    expect_only_the_file();
}

// A batch-mode password may start with '-'.
TEST_F(PasswdToolTest, BatchPasswordMayStartWithADash) {
    const auto result = run_passwd({"-c", "-b", file(), "alice", "-not-an-option"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_TRUE(verifies("alice", "-not-an-option"));
}

// -D removes exactly that user; a second -D fails, as does -D of a user never there.
TEST_F(PasswdToolTest, DeleteRemovesOnlyThatUser) {
    ASSERT_EQ(run_passwd({"-c", "-b", file(), "alice", "a"}).status, 0);
    ASSERT_EQ(run_passwd({"-b", file(), "bob", "b"}).status, 0);
    write_file(file(), "# keep me\n" + text());
    const std::string bob_line = line_of(text(), "bob");

    auto result = run_passwd({"-D", file(), "alice"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_EQ(text(), "# keep me\n" + bob_line + "\n");
    EXPECT_EQ(load().find("alice"), nullptr);

    result = run_passwd({"-D", file(), "alice"});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_NE(result.err.find("User alice not found"), std::string::npos) << result.err;
    EXPECT_EQ(text(), "# keep me\n" + bob_line + "\n");
    expect_only_the_file();
}

// -U hashes every `user:plaintext` line (a plain-text password may contain ':') and leaves
// already hashed lines, Mosquitto's $7$-only ones included, and comments alone.
TEST_F(PasswdToolTest, UpgradeHashesPlainTextLinesAndKeepsHashedOnes) {
    const std::string hashed = auth::format_user_line(
        {"bob", auth::make_password_hash("builder", 1000), auth::make_scram_verifier("builder")});
    const std::string hash_only =
        auth::format_user_line({"mike", auth::make_password_hash("mosquitto", 101), std::nullopt});
    write_file(file(), "# plain users\ncarol:plain1\n" + hashed + "\ndave:pass:with:colons\n" +
                           hash_only + "\n");

    const auto result = run_passwd({"-U", file()});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    const std::string upgraded = text();
    EXPECT_TRUE(upgraded.starts_with("# plain users\ncarol:$7$")) << upgraded;
    EXPECT_EQ(line_of(upgraded, "bob"), hashed);
    EXPECT_EQ(line_of(upgraded, "mike"), hash_only);
    const auto users = load();
    EXPECT_EQ(users.size(), 4u);
    EXPECT_TRUE(users.verify_password("carol", "plain1"));
    EXPECT_TRUE(users.verify_password("dave", "pass:with:colons"));
    EXPECT_TRUE(users.verify_password("bob", "builder"));
    EXPECT_TRUE(users.verify_password("mike", "mosquitto"));
    ASSERT_NE(users.find("carol"), nullptr);
    EXPECT_TRUE(users.find("carol")->scram);

    // Nothing left to upgrade: the file stays as it is.
    ASSERT_EQ(run_passwd({"-U", file()}).status, 0);
    EXPECT_EQ(text(), upgraded);
}

TEST_F(PasswdToolTest, UpgradeOfACorruptFileFailsAndChangesNothing) {
    const std::string original = "carol:plain1\nno-separator\n";
    write_file(file(), original);
    const auto result = run_passwd({"-U", file()});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_NE(result.err.find("Corrupt password file at line 2"), std::string::npos) << result.err;
    EXPECT_EQ(text(), original);
    expect_only_the_file();
}

// Without -c the file must exist; it is not created.
TEST_F(PasswdToolTest, MissingFileWithoutCreateIsAnError) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"-b", file(), "alice", "a"},
          std::vector<std::string>{"-D", file(), "alice"},
          std::vector<std::string>{"-U", file()}}) {
        const auto result = run_passwd(args);
        EXPECT_EQ(result.status, 1) << describe_run(result);
        EXPECT_NE(result.err.find("Error: Unable to open password file " + file()),
                  std::string::npos)
            << result.err;
        EXPECT_FALSE(std::filesystem::exists(file()));
    }
}

// Usernames the file cannot hold are refused and the file is left alone.
TEST_F(PasswdToolTest, BadUsernamesAreRefused) {
    ASSERT_EQ(run_passwd({"-c", "-b", file(), "alice", "a"}).status, 0);
    const std::string before = text();
    auto result = run_passwd({"-b", file(), "ali:ce", "a"});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_NE(result.err.find("Username must not contain the ':' character"), std::string::npos)
        << result.err;
    for (const std::string username : {"#comment", " space", "", "line\nbreak"}) {
        result = run_passwd({"-b", file(), username, "a"});
        EXPECT_EQ(result.status, 1) << describe_run(result);
        EXPECT_NE(result.err.find("Invalid username"), std::string::npos) << result.err;
    }
    EXPECT_EQ(text(), before);
}

// -H names the hashing algorithm; only sha512-pbkdf2 is written, and the error lists it.
TEST_F(PasswdToolTest, OnlySha512Pbkdf2IsAcceptedForH) {
    auto result = run_passwd({"-H", "sha512", "-c", "-b", file(), "alice", "a"});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_NE(result.err.find("Unknown hash type 'sha512'"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("sha512-pbkdf2"), std::string::npos) << result.err;
    EXPECT_FALSE(std::filesystem::exists(file()));

    result = run_passwd({"-H", "sha512-pbkdf2", "-c", "-b", file(), "alice", "a"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_TRUE(verifies("alice", "a"));
}

// -I sets the PBKDF2 count; a low one is allowed with a warning, a non-number is an error.
TEST_F(PasswdToolTest, IterationsCanBeChosen) {
    auto result = run_passwd({"-I", "200000", "-c", "-b", file(), "alice", "a"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_EQ(result.err, "");
    EXPECT_EQ(load().find("alice")->hash.iterations, 200000u);

    result = run_passwd({"-I", "1000", "-b", file(), "bob", "b"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_NE(result.err.find("Warning: 1000 iterations"), std::string::npos) << result.err;
    EXPECT_EQ(load().find("bob")->hash.iterations, 1000u);
    EXPECT_TRUE(verifies("bob", "b"));

    for (const std::string bad : {"0", "-5", "many", "99999999999"}) {
        result = run_passwd({"-I", bad, "-b", file(), "carol", "c"});
        EXPECT_EQ(result.status, 1) << bad << ": " << describe_run(result);
        EXPECT_NE(result.err.find("Error: -I"), std::string::npos) << result.err;
    }
    EXPECT_EQ(load().find("carol"), nullptr);
}

// Option combinations and argument counts that fit no usage.
TEST_F(PasswdToolTest, UsageErrorsExitOne) {
    const std::string usage = "Usage: petrel-passwd [-H sha512-pbkdf2] [-I iterations] [-c | -D]";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{}, std::vector<std::string>{file()},
          std::vector<std::string>{"-b", file(), "alice"},
          std::vector<std::string>{file(), "alice", "extra"},
          std::vector<std::string>{"-U", file(), "alice"},
          std::vector<std::string>{"-x", file(), "alice"}, std::vector<std::string>{"-I"}}) {
        const auto result = run_passwd(args);
        EXPECT_EQ(result.status, 1) << describe_run(result);
        EXPECT_NE(result.err.find(usage), std::string::npos) << result.err;
    }
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"-c", "-D", file(), "alice"},
          std::vector<std::string>{"-b", "-D", file(), "alice", "a"},
          std::vector<std::string>{"-U", "-c", file()}}) {
        const auto result = run_passwd(args);
        EXPECT_EQ(result.status, 1) << describe_run(result);
        EXPECT_TRUE(result.err.starts_with("Error: ")) << result.err;
    }
    EXPECT_FALSE(std::filesystem::exists(file()));

    const auto help = run_passwd({"-h"});
    EXPECT_EQ(help.status, 0) << describe_run(help);
    EXPECT_NE(help.out.find(usage), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("petrel-passwd -U passwordfile"), std::string::npos) << help.out;
}

// Without -b the password is asked twice; when standard input is not a terminal it is read
// from there, a line at a time.
TEST_F(PasswdToolTest, PromptReadsThePasswordTwiceFromStdin) {
    auto result = passwd_with_input("typed\ntyped\n", {"-c", file(), "alice"});
    ASSERT_EQ(result.status, 0) << describe_run(result);
    EXPECT_EQ(result.out, "Password: \nReenter password: \n");
    EXPECT_TRUE(verifies("alice", "typed"));
    const std::string before = text();

    result = passwd_with_input("typed\nmistyped\n", {file(), "bob"});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_NE(result.err.find("Error: Passwords do not match."), std::string::npos) << result.err;

    result = passwd_with_input("\n\n", {file(), "bob"});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_NE(result.err.find("Error: Empty password."), std::string::npos) << result.err;

    result = passwd_with_input("only-once\n", {file(), "bob"});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_EQ(text(), before);

    // Without -c the file is checked before the password is asked.
    result = passwd_with_input("typed\ntyped\n", {(dir_.path() / "absent").string(), "bob"});
    EXPECT_EQ(result.status, 1) << describe_run(result);
    EXPECT_EQ(result.out, "");
    EXPECT_NE(result.err.find("Unable to open password file"), std::string::npos) << result.err;
}

// --- the broker with a file the tool wrote ---

// The CONNECT that starts SCRAM, naming the user in the User Name field too, as clients
// commonly do.
Connect scram_connect(const std::string& id, const std::string& username,
                      const ScramClient& scram) {
    Connect connect = method_connect(id, kScram, scram.client_first());
    connect.username = username;
    return connect;
}

std::string auth_data(const protocol::Properties& properties) {
    return std::string(properties.text(PropertyId::AuthenticationData).value_or(""));
}

// mosquitto_pub with a user name and password; its exit status.
int publish_as(std::uint16_t port, ProtocolVersion version, const std::string& username,
               const std::string& password) {
    const auto result =
        run_command({find_program("mosquitto_pub"), "-h", kLoopback, "-p", std::to_string(port),
                     "-V", is_v5(version) ? "mqttv5" : "mqttv311", "-u", username, "-P", password,
                     "-t", "passwd/test", "-m", "hello", "-q", "1"});
    return result.status;
}

class PasswdToolBrokerTest : public ::testing::Test {
  protected:
    static std::string config(const std::string& password_file) {
        return "password_file " + password_file + "\nallow_anonymous false\n";
    }
    static MosquittoOptions login(ProtocolVersion version, std::optional<std::string> username,
                                  std::optional<std::string> password) {
        MosquittoOptions options;
        options.client_id = unique_client_id("passwd-login");
        options.v5 = is_v5(version);
        options.username = std::move(username);
        options.password = std::move(password);
        return options;
    }

    std::string file() const { return (dir_.path() / "users.txt").string(); }

    TempDir dir_{"petrel-passwd-broker-"};
};

// Users created, replaced and deleted by the tool log in (or not) with a plain password,
// from mosquitto_pub and libmosquitto, in MQTT 3.1.1 and 5.
TEST_F(PasswdToolBrokerTest, PlainPasswordLoginWithToolUsers) {
    ASSERT_EQ(run_passwd({"-c", "-b", file(), "alice", "right"}).status, 0);
    ASSERT_EQ(run_passwd({"-b", file(), "bob", "old"}).status, 0);
    ASSERT_EQ(run_passwd({"-b", file(), "bob", "new"}).status, 0);
    ASSERT_EQ(run_passwd({"-b", file(), "carol", "gone"}).status, 0);
    ASSERT_EQ(run_passwd({"-D", file(), "carol"}).status, 0);
    BrokerProcess broker(config(file()));

    for (const ProtocolVersion version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        SCOPED_TRACE(std::string(version_name(version)));
        EXPECT_EQ(publish_as(broker.port(), version, "alice", "right"), 0);
        EXPECT_NE(publish_as(broker.port(), version, "alice", "wrong"), 0);
        EXPECT_EQ(publish_as(broker.port(), version, "bob", "new"), 0);
        EXPECT_NE(publish_as(broker.port(), version, "bob", "old"), 0);

        const int bad_credentials = is_v5(version) ? 0x86 : 4;
        MosquittoClient right(login(version, "alice", "right"));
        EXPECT_EQ(right.connect(broker.port()), 0);
        MosquittoClient wrong(login(version, "alice", "wrong"));
        EXPECT_EQ(wrong.connect(broker.port()), bad_credentials);
        MosquittoClient deleted(login(version, "carol", "gone"));
        EXPECT_EQ(deleted.connect(broker.port()), bad_credentials);
        MosquittoClient anonymous(login(version, std::nullopt, std::nullopt));
        EXPECT_EQ(anonymous.connect(broker.port()), is_v5(version) ? 0x87 : 5);
    }
}

// The verifier the tool writes serves SCRAM-SHA-256 (MQTT 5 enhanced authentication): the
// exchange succeeds, and the server proves it knows the verifier; a wrong password fails.
TEST_F(PasswdToolBrokerTest, ScramLoginWithAToolUser) {
    ASSERT_EQ(passwd_with_input("s3cret\ns3cret\n", {"-c", file(), "alice"}).status, 0);
    BrokerProcess broker(config(file()));

    for (const std::string password : {"s3cret", "wrong"}) {
        SCOPED_TRACE(password);
        const bool right = password == "s3cret";
        RawClient client(broker.port(), ProtocolVersion::V5);
        ScramClient scram("alice", password);
        ASSERT_TRUE(client.send(scram_connect(unique_client_id("passwd-scram"), "alice", scram)));
        auto challenge = client.expect<Auth>();
        ASSERT_TRUE(challenge);
        EXPECT_EQ(challenge->reason, ReasonCode::ContinueAuthentication);
        const auto client_final = scram.client_final(auth_data(challenge->properties));
        ASSERT_TRUE(client_final) << auth_data(challenge->properties);
        Auth answer;
        answer.reason = ReasonCode::ContinueAuthentication;
        answer.properties.add_text(PropertyId::AuthenticationMethod, kScram);
        answer.properties.add_text(PropertyId::AuthenticationData, *client_final);
        ASSERT_TRUE(client.send(answer));
        auto connack = client.expect<Connack>();
        ASSERT_TRUE(connack);
        if (right) {
            EXPECT_EQ(connack->reason, ReasonCode::Success);
            EXPECT_TRUE(scram.verify_server_final(auth_data(connack->properties)));
            EXPECT_TRUE(client.publish("passwd/scram", "hello", 1));
        } else {
            EXPECT_EQ(connack->reason, ReasonCode::BadUserNameOrPassword);
            EXPECT_TRUE(client.wait_closed());
        }
    }
}

// A file written by mosquitto_passwd (a $7$ hash at Mosquitto's 101 iterations, no SCRAM
// verifier) works for plain logins, and petrel-passwd adds to it leaving that line alone.
TEST_F(PasswdToolBrokerTest, MosquittoPasswdFileIsAccepted) {
    const std::string mosquitto_passwd = find_program("mosquitto_passwd");
    if (mosquitto_passwd.empty()) {
        FAIL() << "mosquitto_passwd is not installed (scripts/install-deps.sh installs it)";
    }
    const auto created = run_command({mosquitto_passwd, "-c", "-b", file(), "mike", "mosquitto"});
    ASSERT_EQ(created.status, 0) << describe_run(created);
    const std::string mike_line = line_of(read_file(file()), "mike");
    ASSERT_TRUE(mike_line.starts_with("mike:$7$")) << mike_line;
    ASSERT_EQ(run_passwd({"-b", file(), "nina", "petrel"}).status, 0);
    EXPECT_EQ(line_of(read_file(file()), "mike"), mike_line);
    BrokerProcess broker(config(file()));

    for (const ProtocolVersion version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        SCOPED_TRACE(std::string(version_name(version)));
        EXPECT_EQ(publish_as(broker.port(), version, "mike", "mosquitto"), 0);
        EXPECT_NE(publish_as(broker.port(), version, "mike", "wrong"), 0);
        EXPECT_EQ(publish_as(broker.port(), version, "nina", "petrel"), 0);
    }
}

}  // namespace
}  // namespace petrel::test
