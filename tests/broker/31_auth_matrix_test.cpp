// Who gets in, through the real binary: every combination of allow_anonymous, a password
// file, the user name and password a client sends, and the protocol version, with the
// settings global and per listener; then enhanced authentication (SCRAM) where anonymous
// clients are refused, and listeners whose TLS handshake names the user (certificate
// identity, PSK).
//
// Each cell's expected CONNACK is written in the tables below, derived from the
// specification ([MQTT-3.1.4-2], 3.2.2.2 / 3.2.2.3: 3.1.1 return codes 4 and 5, v5 0x86
// and 0x87) and Mosquitto's documented behaviour (mosquitto.conf(5): allow_anonymous
// false and no password file refuses every client; a user name given is checked against
// the password file even where anonymous clients are allowed), not from what Petrel did.
// The CONNACK's reason byte is read off the wire, so the 3.1 and 3.1.1 codes are checked
// as sent.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "petrel/auth/password_file.hpp"
#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/raw_client.hpp"
#include "support/scram_client.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_support.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Connect;
using protocol::PropertyId;

constexpr const char* kUser = "alice";
constexpr const char* kPassword = "wonderland";
constexpr const char* kScram = "SCRAM-SHA-256";

enum class User { None, Known, Unknown };
enum class Password { Right, Wrong, Missing };
enum class Outcome { Accepted, NotAuthorized, BadCredentials, BadMethod };

struct Cell {
    bool allow_anonymous;
    bool password_file;
    User user;
    Password password;
    Outcome expected;
};

using enum User;
using enum Password;
using enum Outcome;

// Plain CONNECTs (no Authentication Method). A password without a user name is sent by
// MQTT 5 clients only: 3.1 and 3.1.1 forbid it [MQTT-3.1.2-22].
constexpr Cell kMatrix[] = {
    // allow_anonymous true, no password file: nothing can check a password, so a user name
    // is taken as given (Mosquitto does the same).
    {true, false, None, Missing, Accepted},
    {true, false, None, Right, Accepted},
    {true, false, Known, Right, Accepted},
    {true, false, Known, Wrong, Accepted},
    {true, false, Known, Missing, Accepted},
    {true, false, Unknown, Right, Accepted},
    {true, false, Unknown, Wrong, Accepted},
    {true, false, Unknown, Missing, Accepted},
    // allow_anonymous true, password file: no user name is anonymous and welcome; a user
    // name is a claim the file must confirm.
    {true, true, None, Missing, Accepted},
    {true, true, None, Right, Accepted},
    {true, true, Known, Right, Accepted},
    {true, true, Known, Wrong, BadCredentials},
    {true, true, Known, Missing, BadCredentials},
    {true, true, Unknown, Right, BadCredentials},
    {true, true, Unknown, Wrong, BadCredentials},
    {true, true, Unknown, Missing, BadCredentials},
    // allow_anonymous false, no password file: nobody gets in, whatever they send (the
    // authentication bypass of issue 11 admitted any user name here).
    {false, false, None, Missing, NotAuthorized},
    {false, false, None, Right, NotAuthorized},
    {false, false, Known, Right, NotAuthorized},
    {false, false, Known, Wrong, NotAuthorized},
    {false, false, Known, Missing, NotAuthorized},
    {false, false, Unknown, Right, NotAuthorized},
    {false, false, Unknown, Wrong, NotAuthorized},
    {false, false, Unknown, Missing, NotAuthorized},
    // allow_anonymous false, password file: only a user the file confirms.
    {false, true, None, Missing, NotAuthorized},
    {false, true, None, Right, NotAuthorized},
    {false, true, Known, Right, Accepted},
    {false, true, Known, Wrong, BadCredentials},
    {false, true, Known, Missing, BadCredentials},
    {false, true, Unknown, Right, BadCredentials},
    {false, true, Unknown, Wrong, BadCredentials},
    {false, true, Unknown, Missing, BadCredentials},
};

constexpr ProtocolVersion kVersions[] = {ProtocolVersion::V31, ProtocolVersion::V311,
                                         ProtocolVersion::V5};

// The reason byte of CONNACK (its fourth byte) for `outcome` in `version`.
std::uint8_t wire_code(Outcome outcome, ProtocolVersion version) {
    const bool v5 = version == ProtocolVersion::V5;
    switch (outcome) {
        case Accepted:
            return 0x00;
        case NotAuthorized:
            return v5 ? 0x87 : 5;
        case BadCredentials:
            return v5 ? 0x86 : 4;
        case BadMethod:
            return 0x8C;
    }
    return 0xFF;
}

std::string describe_cell(const Cell& cell, ProtocolVersion version, const std::string& scope) {
    static constexpr const char* kUsers[] = {"no user name", "known user", "unknown user"};
    static constexpr const char* kPasswords[] = {"right password", "wrong password", "no password"};
    return scope + ", MQTT " + std::string(version_name(version)) + ", allow_anonymous " +
           (cell.allow_anonymous ? "true" : "false") +
           (cell.password_file ? ", password file" : ", no password file") + ", " +
           kUsers[static_cast<int>(cell.user)] + ", " + kPasswords[static_cast<int>(cell.password)];
}

// Sends the cell's CONNECT on a fresh connection and returns the CONNACK frame's reason
// byte; nullopt when no CONNACK came.
std::optional<std::uint8_t> connack_code(std::uint16_t port, const Cell& cell,
                                         ProtocolVersion version, int serial) {
    RawClient client(port, version);
    Connect connect = client.connect_packet("matrix-" + std::to_string(serial));
    if (cell.user != None) {
        connect.username = cell.user == Known ? kUser : "mallory";
    }
    if (cell.password != Missing) {
        connect.password = cell.password == Right ? kPassword : "guess";
    }
    if (!client.send(connect)) {
        return std::nullopt;
    }
    const auto frame = client.receive_frame(10s);
    if (!frame || frame->size() < 4 || static_cast<std::uint8_t>((*frame)[0]) != 0x20) {
        return std::nullopt;
    }
    if (version != ProtocolVersion::V5 && (*frame)[2] != 0) {
        ADD_FAILURE() << "CONNACK's first byte must be 0 on a new session";
    }
    const auto code = static_cast<std::uint8_t>((*frame)[3]);
    if (code == 0) {
        client.disconnect();
    }
    return code;
}

class AuthMatrixTest : public ::testing::Test {
  protected:
    AuthMatrixTest() {
        // 1 000 PBKDF2 iterations instead of 101 000: the matrix checks ~80 passwords.
        const auth::UserRecord alice{kUser, auth::make_password_hash(kPassword, 1000),
                                     auth::make_scram_verifier(kPassword)};
        write_file(users(), auth::format_user_line(alice) + "\n");
    }

    std::string users() const { return (dir_.path() / "users").string(); }

    // The security lines of one combination.
    std::string security_lines(bool allow_anonymous, bool password_file) const {
        return std::string("allow_anonymous ") + (allow_anonymous ? "true" : "false") + "\n" +
               (password_file ? "password_file " + users() + "\n" : "");
    }

    // Runs every cell of kMatrix with these settings against `port` in every version.
    void check_cells(std::uint16_t port, bool allow_anonymous, bool password_file,
                     const std::string& scope) {
        for (const Cell& cell : kMatrix) {
            if (cell.allow_anonymous != allow_anonymous || cell.password_file != password_file) {
                continue;
            }
            for (const ProtocolVersion version : kVersions) {
                if (cell.user == None && cell.password != Missing &&
                    version != ProtocolVersion::V5) {
                    continue;
                }
                const auto code = connack_code(port, cell, version, ++serial_);
                const std::uint8_t expected = wire_code(cell.expected, version);
                ++checked_;
                EXPECT_EQ(code, std::optional<std::uint8_t>(expected))
                    << describe_cell(cell, version, scope);
            }
        }
    }

    TempDir dir_;
    int serial_ = 0;
    int checked_ = 0;
};

TEST_F(AuthMatrixTest, GlobalSettings) {
    for (const bool allow_anonymous : {true, false}) {
        for (const bool password_file : {false, true}) {
            BrokerOptions options;
            options.extra_config =
                "persistence false\n" + security_lines(allow_anonymous, password_file);
            BrokerProcess broker(options);
            check_cells(broker.port(), allow_anonymous, password_file, "global settings");
        }
    }
    // Per combination: 7 cells in three versions, and a password without a user name in v5.
    EXPECT_EQ(checked_, 4 * (7 * 3 + 1));
}

TEST_F(AuthMatrixTest, PerListenerSettings) {
    // Four listeners, one per combination; the global lines before them set the opposite
    // of the first listener, which must not leak into it.
    std::string config = "persistence false\nper_listener_settings true\nallow_anonymous true\n";
    struct Combination {
        bool allow_anonymous;
        bool password_file;
    };
    const std::vector<Combination> combinations = {
        {false, false}, {false, true}, {true, false}, {true, true}};
    for (const Combination& combination : combinations) {
        config += "listener 0 127.0.0.1\n" +
                  security_lines(combination.allow_anonymous, combination.password_file);
    }
    BrokerProcess broker(only(config));
    ASSERT_EQ(broker.ports().size(), combinations.size());
    for (std::size_t i = 0; i < combinations.size(); ++i) {
        check_cells(broker.ports()[i], combinations[i].allow_anonymous,
                    combinations[i].password_file,
                    "per-listener settings, listener " + std::to_string(i + 1));
    }
    // The listener where nobody can log in is named at start-up.
    EXPECT_TRUE(broker.wait_for_log("nobody can log in"));
    EXPECT_EQ(checked_, 4 * (7 * 3 + 1));
}

TEST_F(AuthMatrixTest, NobodyCanLogInIsWarnedAtStartUp) {
    BrokerOptions options;
    options.extra_config = "persistence false\nallow_anonymous false\n";
    BrokerProcess broker(options);
    EXPECT_TRUE(broker.wait_for_log("nobody can log in"));
}

// The reproduction of issue 11 with the command-line client a user would try:
// `mosquitto_sub -u anyone -t '#'` against allow_anonymous false and no password file.
TEST_F(AuthMatrixTest, AnyUserNameWithoutAPasswordFileIsRefused) {
    BrokerOptions options;
    options.extra_config = "persistence false\nallow_anonymous false\n";
    BrokerProcess broker(options);
    for (const char* version : {"31", "311", "5"}) {
        const CommandResult result = run_command(
            {find_program("mosquitto_sub"), "-h", "127.0.0.1", "-p", std::to_string(broker.port()),
             "-V", version, "-u", "anyone", "-P", "anything", "-t", "#", "-C", "1", "-W", "3"},
            15s);
        EXPECT_NE(result.status, 0) << "MQTT " << version << ": " << result.out << result.err;
        EXPECT_NE(result.err.find("ot authori"), std::string::npos)
            << "MQTT " << version << ": " << result.err;
    }
    EXPECT_TRUE(broker.wait_for_log("CONNECT refused: Not authorized"));
    EXPECT_EQ(broker.log().find(" connected (MQTT"), std::string::npos) << broker.log();
}

// ---- enhanced authentication where anonymous clients are refused ----

// A SCRAM exchange as `user` with `password`; the final CONNACK's reason.
std::optional<ReasonCode> scram_login(std::uint16_t port, const std::string& id,
                                      const std::string& user, const std::string& password) {
    RawClient client(port, ProtocolVersion::V5);
    ScramClient scram(user, password);
    if (!client.send(method_connect(id, kScram, scram.client_first()))) {
        return std::nullopt;
    }
    auto first = client.receive();
    if (!first) {
        return std::nullopt;
    }
    if (const auto* connack = std::get_if<protocol::Connack>(&*first)) {
        return connack->reason;  // refused at once
    }
    const auto* challenge = std::get_if<protocol::Auth>(&*first);
    if (challenge == nullptr) {
        ADD_FAILURE() << "expected AUTH or CONNACK, got " << describe(*first);
        return std::nullopt;
    }
    const auto final_message = scram.client_final(
        std::string(challenge->properties.text(PropertyId::AuthenticationData).value_or("")));
    if (!final_message) {
        ADD_FAILURE() << "bad server-first";
        return std::nullopt;
    }
    protocol::Auth answer;
    answer.reason = ReasonCode::ContinueAuthentication;
    answer.properties.add_text(PropertyId::AuthenticationMethod, kScram);
    answer.properties.add_text(PropertyId::AuthenticationData, *final_message);
    client.send(answer);
    const auto connack = client.expect<protocol::Connack>();
    if (!connack) {
        return std::nullopt;
    }
    return connack->reason;
}

TEST_F(AuthMatrixTest, ScramWhereAnonymousClientsAreRefused) {
    BrokerOptions options;
    options.extra_config = "persistence false\n" + security_lines(false, true);
    BrokerProcess broker(options);
    EXPECT_EQ(scram_login(broker.port(), "scram-right", kUser, kPassword), ReasonCode::Success);
    EXPECT_EQ(scram_login(broker.port(), "scram-wrong", kUser, "guess"),
              ReasonCode::BadUserNameOrPassword);
    EXPECT_EQ(scram_login(broker.port(), "scram-unknown", "mallory", kPassword),
              ReasonCode::BadUserNameOrPassword);
}

TEST_F(AuthMatrixTest, ScramWithoutAPasswordFileIsAnUnknownMethod) {
    // Nothing to authenticate against: 0x8C whether or not anonymous clients are welcome
    // (admitting the client would leave it believing it had authenticated).
    for (const bool allow_anonymous : {false, true}) {
        BrokerOptions options;
        options.extra_config = "persistence false\n" + security_lines(allow_anonymous, false);
        BrokerProcess broker(options);
        EXPECT_EQ(scram_login(broker.port(), "scram-none", kUser, kPassword),
                  ReasonCode::BadAuthenticationMethod)
            << "allow_anonymous " << allow_anonymous;
    }
}

// ---- listeners whose TLS handshake names the user ----

class TlsIdentityMatrixTest : public CertificateTest {
  protected:
    std::vector<std::string> trust() const { return {"--cafile", (certs() / "ca.crt").string()}; }
    std::vector<std::string> with_client_cert() const {
        auto options = trust();
        options.insert(options.end(), {"--cert", (certs() / "client.crt").string(), "--key",
                                       (certs() / "client.key").string()});
        return options;
    }
};

TEST_F(TlsIdentityMatrixTest, CertificateIdentityWithoutAPasswordFile) {
    // allow_anonymous false and no password file: only the verified certificate is a
    // credential. require_certificate false, so the broker asks for a certificate but a
    // client may connect without one, and is then refused at CONNECT.
    BrokerProcess broker(only("persistence false\nallow_anonymous false\n" +
                              tls_block(certs(), "use_identity_as_username true\n")));
    const CommandResult with_cert = publish(broker.port(), with_client_cert());
    EXPECT_EQ(with_cert.status, 0) << with_cert.err;
    EXPECT_TRUE(broker.wait_for_log("user name 'petrel-client' from the TLS client certificate"));
    for (const bool claims_a_user : {false, true}) {
        auto options = trust();
        if (claims_a_user) {
            options.insert(options.end(), {"-u", "petrel-client", "-P", "x"});
        }
        const CommandResult without_cert = publish(broker.port(), options);
        EXPECT_NE(without_cert.status, 0) << "claims a user " << claims_a_user;
    }
    EXPECT_TRUE(broker.wait_for_log("no PSK identity or verified client certificate"));
}

TEST_F(TlsIdentityMatrixTest, TlsListenerWithoutIdentityRefusesEveryone) {
    // A TLS listener is no credential by itself: without use_identity_as_username, no
    // password file and anonymous refused, a client certificate does not let anyone in.
    BrokerProcess broker(only("persistence false\nallow_anonymous false\n" +
                              tls_block(certs(), "require_certificate true\n")));
    auto claiming = with_client_cert();
    claiming.insert(claiming.end(), {"-u", "anyone", "-P", "anything"});
    EXPECT_NE(publish(broker.port(), with_client_cert()).status, 0);
    EXPECT_NE(publish(broker.port(), claiming).status, 0);
    EXPECT_TRUE(broker.wait_for_log("nobody can log in"));
}

TEST_F(TlsIdentityMatrixTest, CertificateSubjectAsUserName) {
    // use_subject_as_username: the whole subject, RFC 2253, is the user name the ACL sees.
    const std::string acl = (dir_.path() / "acl").string();
    write_file(acl, "user CN=petrel-client,O=Petrel test\ntopic write tls/#\n");
    BrokerProcess broker(only("persistence false\nallow_anonymous false\nacl_file " + acl + "\n" +
                              tls_block(certs(), "use_subject_as_username true\n")));
    const CommandResult with_cert = publish(broker.port(), with_client_cert());
    EXPECT_EQ(with_cert.status, 0) << with_cert.err;
    EXPECT_TRUE(broker.wait_for_log(
        "user name 'CN=petrel-client,O=Petrel test' from the TLS client certificate subject"));
    EXPECT_EQ(broker.log().find("not authorized by the ACL"), std::string::npos) << broker.log();
    auto claiming = trust();
    claiming.insert(claiming.end(), {"-u", "CN=petrel-client,O=Petrel test", "-P", "x"});
    EXPECT_NE(publish(broker.port(), claiming).status, 0);
    EXPECT_TRUE(broker.wait_for_log("no verified client certificate for the user name"));
}

TEST_F(TlsIdentityMatrixTest, RevokedCertificateIsRefusedByTheCrl) {
    BrokerProcess broker(only("persistence false\nallow_anonymous false\n" +
                              tls_block(certs(),
                                        "require_certificate true\n"
                                        "use_identity_as_username true\ncrlfile " +
                                            (certs() / "ca.crl").string() + "\n")));
    const CommandResult good = publish(broker.port(), with_client_cert());
    EXPECT_EQ(good.status, 0) << good.err;
    auto revoked = trust();
    revoked.insert(revoked.end(), {"--cert", (certs() / "revoked.crt").string(), "--key",
                                   (certs() / "revoked.key").string()});
    EXPECT_NE(publish(broker.port(), revoked).status, 0);
    EXPECT_TRUE(broker.wait_for_log("certificate revoked"));
    EXPECT_EQ(broker.log().find("user name 'petrel-revoked'"), std::string::npos) << broker.log();
}

TEST_F(TlsIdentityMatrixTest, PskListeners) {
    const std::string keys = (dir_.path() / "psk").string();
    write_file(keys, "device1:0123456789abcdef0123456789abcdef\n");
    const auto psk_block = [&](const std::string& extra) {
        return "listener 0 127.0.0.1\npsk_hint petrel\npsk_file " + keys + "\n" + extra;
    };
    const std::vector<std::string> right = {"--psk-identity", "device1", "--psk",
                                            "0123456789abcdef0123456789abcdef"};
    const std::vector<std::string> wrong = {"--psk-identity", "device1", "--psk",
                                            "00000000000000000000000000000000"};
    {
        // The PSK identity is the user name and its proof.
        BrokerProcess broker(only("persistence false\nallow_anonymous false\n" +
                                  psk_block("use_identity_as_username true\n")));
        const CommandResult ok = publish(broker.port(), right);
        EXPECT_EQ(ok.status, 0) << ok.err;
        EXPECT_TRUE(broker.wait_for_log("user name 'device1' from the TLS-PSK identity"));
        EXPECT_NE(publish(broker.port(), wrong).status, 0);
    }
    {
        // Without use_identity_as_username the PSK only opens the TLS session: with
        // anonymous refused and no password file, the CONNECT is refused, user name or not.
        BrokerProcess broker(only("persistence false\nallow_anonymous false\n" + psk_block("")));
        EXPECT_NE(publish(broker.port(), right).status, 0);
        auto claiming = right;
        claiming.insert(claiming.end(), {"-u", "device1", "-P", "x"});
        EXPECT_NE(publish(broker.port(), claiming).status, 0);
        EXPECT_TRUE(broker.wait_for_log("CONNECT refused: Not authorized"));
        EXPECT_EQ(broker.log().find(" connected (MQTT"), std::string::npos);
    }
}

}  // namespace
}  // namespace petrel::test
