// The password file: parsing, every error naming FILE:LINE, password verification for
// Mosquitto's $7$ and $6$ hashes (golden lines and, when installed, mosquitto_passwd itself),
// and the generation helpers the petrel-passwd tool will use.
#include "petrel/auth/password_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>

namespace petrel::auth {
namespace {

// Cheap hashes for tests that do not care about the iteration count.
std::string user_line(const std::string& user, const std::string& password, bool scram = false) {
    UserRecord record{user, make_password_hash(password, 101), std::nullopt};
    if (scram) {
        record.scram = make_scram_verifier(password);
    }
    return format_user_line(record);
}

// Written by `mosquitto_passwd -b -c FILE user pass` (Mosquitto 2.0).
constexpr std::string_view kMosquittoLine =
    "user:$7$101$NbbBUhsoGyTMnNm3$Dt6M95jTT5MwFCdIuKyETO3fyl0fVhkmFSlNwYFiReTbIsV9VMf9fAp3maCav"
    "hgmhKlhP26p8dr/IRLmghBQhQ==";
// SHA512("s3cret" + salt) with salt 01..0c: Mosquitto 1.x's format.
constexpr std::string_view kLegacyLine =
    "old:$6$AQIDBAUGBwgJCgsM$e8/aNIeaTyc6CrkSJKbo7jcSqNlKIlzEPjf64chVGkSQ4ppsIPCm6n52W7eTDupzTVq"
    "MbTt+SK1PiiGJHFSXLg==";

class TempFile {
  public:
    TempFile() {
        std::string pattern = (std::filesystem::temp_directory_path() / "petrel-auth-XXXXXX");
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = pattern;
    }
    ~TempFile() { std::filesystem::remove_all(dir_); }
    std::filesystem::path path() const { return dir_ / "passwd"; }

  private:
    std::filesystem::path dir_;
};

TEST(PasswordFile, ParsesUsersSkippingCommentsAndBlankLines) {
    const std::string text = "# users\n\n" + user_line("alice", "a") + "\r\n   \n" +
                             "  # indented comment\n" + user_line("bob", "b", true) + "\n" +
                             std::string(kMosquittoLine);  // no final newline
    const auto file = PasswordFile::parse(text, "users.txt");
    EXPECT_EQ(file.size(), 3u);
    ASSERT_NE(file.find("alice"), nullptr);
    EXPECT_EQ(file.find("alice")->username, "alice");
    EXPECT_FALSE(file.find("alice")->scram);
    ASSERT_NE(file.find("bob"), nullptr);
    ASSERT_TRUE(file.find("bob")->scram);
    EXPECT_EQ(file.find("bob")->scram->iterations, kDefaultScramIterations);
    EXPECT_EQ(file.find("user")->hash.iterations, 101u);
    EXPECT_EQ(file.find("carol"), nullptr);
    EXPECT_EQ(PasswordFile{}.size(), 0u);
    EXPECT_EQ(PasswordFile::parse("", "empty").size(), 0u);
}

TEST(PasswordFile, VerifiesPasswords) {
    const auto file = PasswordFile::parse(
        user_line("alice", "wonderland") + "\n" + user_line("bob", "builder", true) + "\n",
        "users.txt");
    EXPECT_TRUE(file.verify_password("alice", "wonderland"));
    EXPECT_FALSE(file.verify_password("alice", "wonderlanD"));
    EXPECT_FALSE(file.verify_password("alice", ""));
    EXPECT_FALSE(file.verify_password("alice", "builder"));
    EXPECT_TRUE(file.verify_password("bob", "builder"));
    EXPECT_FALSE(file.verify_password("carol", "wonderland"));
    EXPECT_FALSE(file.verify_password("", ""));
}

TEST(PasswordFile, VerifiesMosquittoHashes) {
    const auto file = PasswordFile::parse(
        std::string(kMosquittoLine) + "\n" + std::string(kLegacyLine) + "\n", "mosquitto.pw");
    EXPECT_TRUE(file.verify_password("user", "pass"));
    EXPECT_FALSE(file.verify_password("user", "pas"));
    EXPECT_EQ(file.find("old")->hash.algorithm, PasswordHash::Algorithm::Sha512Salted);
    EXPECT_TRUE(file.verify_password("old", "s3cret"));
    EXPECT_FALSE(file.verify_password("old", "s3cret "));
}

TEST(PasswordFile, ReadsWhatMosquittoPasswdWrites) {
    if (std::system("command -v mosquitto_passwd >/dev/null 2>&1") != 0) {
        FAIL() << "mosquitto_passwd is not installed (scripts/install-deps.sh installs it)";
    }
    TempFile file;
    const std::string command =
        "mosquitto_passwd -b -c '" + file.path().string() + "' mosq 'pa:ss wörd' >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0);
    const auto users = PasswordFile::load(file.path().string());
    ASSERT_EQ(users.size(), 1u);
    EXPECT_TRUE(users.verify_password("mosq", "pa:ss wörd"));
    EXPECT_FALSE(users.verify_password("mosq", "pa:ss word"));
}

TEST(PasswordFile, LoadsFromDiskAndNamesAMissingFile) {
    TempFile file;
    {
        std::ofstream out(file.path());
        out << "# one user\n" << user_line("alice", "a") << "\n";
    }
    EXPECT_TRUE(PasswordFile::load(file.path().string()).verify_password("alice", "a"));

    const std::string missing = (file.path().parent_path() / "nope.txt").string();
    try {
        PasswordFile::load(missing);
        FAIL() << "no exception";
    } catch (const PasswordFileError& error) {
        EXPECT_EQ(std::string(error.what()), missing + ": cannot open password file");
    }
}

struct BadLine {
    std::string line;
    std::string message;
};

TEST(PasswordFile, EachErrorNamesFileAndLine) {
    const std::string hash = format_password_hash(make_password_hash("x", 101));
    const std::string scram = format_scram_verifier(make_scram_verifier("x"));
    const std::string salt16 = "AAAAAAAAAAAAAAAAAAAAAA==";
    const std::string key32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const BadLine cases[] = {
        {"alice:" + hash, "duplicate user 'alice' (first on line 2)"},
        {":" + hash, "empty username"},
        {"carol", "expected username:HASH[:SCRAM]"},
        {"carol:", "unknown password hash type (expected $7$ or $6$)"},
        {"carol:$5$abc$def", "unknown password hash type (expected $7$ or $6$)"},
        {"carol:plaintext", "unknown password hash type (expected $7$ or $6$)"},
        {"carol:$7$0$" + hash.substr(hash.find('$', 3) + 1), "malformed password hash"},
        {"carol:$7$-1$" + hash.substr(hash.find('$', 3) + 1), "malformed password hash"},
        {"carol:$7$abc$" + hash.substr(hash.find('$', 3) + 1), "malformed password hash"},
        {"carol:$7$101$" + salt16, "malformed password hash"},
        {"carol:$7$101$!!!!$" + key32, "malformed password hash"},
        {"carol:$7$101$" + salt16 + "$" + key32, "malformed password hash"},  // 32-byte hash
        {"carol:$7$101$AAAA$" + hash.substr(hash.rfind('$') + 1), "malformed password hash"},
        {"carol:$6$" + salt16 + "$short", "malformed password hash"},
        {"carol:" + hash + ":", "malformed SCRAM verifier"},
        {"carol:" + hash + ":" + scram + "x", "malformed SCRAM verifier"},
        {"carol:" + hash + ":SCRAM-SHA-1$4096:" + salt16 + "$" + key32 + ":" + key32,
         "malformed SCRAM verifier"},
        {"carol:" + hash + ":SCRAM-SHA-256$0:" + salt16 + "$" + key32 + ":" + key32,
         "malformed SCRAM verifier"},
        {"carol:" + hash + ":SCRAM-SHA-256$4096:" + salt16 + "$" + key32,
         "malformed SCRAM verifier"},
        {"carol:" + hash + ":SCRAM-SHA-256$4096:" + salt16 + "$" + key32 + ":" + salt16,
         "malformed SCRAM verifier"},
        {"carol:" + hash + ":SCRAM-SHA-256$4096:$" + key32 + ":" + key32,
         "malformed SCRAM verifier"},
    };
    for (const auto& bad : cases) {
        const std::string text = "# header\nalice:" + hash + "\n" + bad.line + "\n" + "bob:" + hash;
        try {
            PasswordFile::parse(text, "users.txt");
            ADD_FAILURE() << "accepted: " << bad.line;
        } catch (const PasswordFileError& error) {
            EXPECT_EQ(std::string(error.what()), "users.txt:3: " + bad.message) << bad.line;
        }
    }
}

TEST(PasswordFile, UnknownUserCostsAPbkdf2Run) {
    // verify_password for an unknown user runs PBKDF2 at the default count. Measured in this
    // thread's CPU time, which other processes on a busy machine do not inflate as they do
    // wall time; the best of three still smooths cache and frequency effects.
    const auto file = PasswordFile::parse(
        "alice:" + format_password_hash(make_password_hash("a")) + "\n", "users.txt");
    const auto thread_cpu_ns = [] {
        timespec now{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
    };
    const auto best_of_three = [&](std::string_view user) {
        std::int64_t best = std::numeric_limits<std::int64_t>::max();
        for (int i = 0; i < 3; ++i) {
            const std::int64_t start = thread_cpu_ns();
            EXPECT_FALSE(file.verify_password(user, "wrong"));
            best = std::min(best, thread_cpu_ns() - start);
        }
        return best;
    };
    const std::int64_t known = best_of_three("alice");
    const std::int64_t unknown = best_of_three("mallory");
    EXPECT_GT(unknown * 2, known);
    EXPECT_GT(known * 2, unknown);
}

TEST(PasswordHashes, GenerationUsesStrongDefaults) {
    const PasswordHash hash = make_password_hash("secret");
    EXPECT_EQ(hash.algorithm, PasswordHash::Algorithm::Pbkdf2Sha512);
    EXPECT_GE(hash.iterations, 100000u);
    EXPECT_EQ(hash.salt.size(), kPasswordSaltSize);
    EXPECT_EQ(hash.hash.size(), 64u);
    EXPECT_TRUE(verify_password_hash(hash, "secret"));
    EXPECT_FALSE(verify_password_hash(hash, "Secret"));
    EXPECT_NE(make_password_hash("secret", 1).salt, make_password_hash("secret", 1).salt);

    const ScramVerifier scram = make_scram_verifier("secret");
    EXPECT_GE(scram.iterations, 4096u);
    EXPECT_EQ(scram.salt.size(), kScramSaltSize);
    EXPECT_EQ(scram.stored_key.size(), 32u);
    EXPECT_EQ(scram.server_key.size(), 32u);
}

TEST(PasswordHashes, FormatUserLineRoundTrips) {
    UserRecord record{"ann", make_password_hash("pw", 1000), make_scram_verifier("pw", 5000)};
    const std::string line = format_user_line(record);
    EXPECT_TRUE(line.starts_with("ann:$7$1000$")) << line;
    EXPECT_NE(line.find(":SCRAM-SHA-256$5000:"), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);

    const auto file = PasswordFile::parse(line + "\n", "x");
    const UserRecord* back = file.find("ann");
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->hash.iterations, 1000u);
    EXPECT_EQ(back->hash.salt, record.hash.salt);
    EXPECT_EQ(back->hash.hash, record.hash.hash);
    ASSERT_TRUE(back->scram);
    EXPECT_EQ(back->scram->iterations, 5000u);
    EXPECT_EQ(back->scram->salt, record.scram->salt);
    EXPECT_EQ(back->scram->stored_key, record.scram->stored_key);
    EXPECT_EQ(back->scram->server_key, record.scram->server_key);
    EXPECT_EQ(format_user_line(*back), line);

    record.scram.reset();
    EXPECT_EQ(format_user_line(record).find(":SCRAM"), std::string::npos);
    EXPECT_EQ(format_user_line(*PasswordFile::parse(kLegacyLine, "x").find("old")), kLegacyLine);
}

TEST(PasswordHashes, FormatUserLineRefusesUnreadableUsernames) {
    UserRecord record{"", make_password_hash("pw", 1), std::nullopt};
    for (const char* name : {"", "a:b", "#admin", " lead", "a\nb"}) {
        record.username = name;
        EXPECT_FALSE(is_valid_username(name)) << name;
        EXPECT_THROW(format_user_line(record), std::invalid_argument) << name;
    }
    EXPECT_TRUE(is_valid_username("a,b=c d"));
}

}  // namespace
}  // namespace petrel::auth
