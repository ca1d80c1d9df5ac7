// TLS-PSK listeners through the real broker and real clients (mosquitto_pub/sub --psk,
// openssl s_client -psk): the right key works in TLS 1.2 and 1.3, a wrong key or an
// unknown identity fails the handshake and the log names the peer, the identity as the
// user name reaches the ACL, certificates and PSKs on one listener, SIGHUP re-reading the
// PSK file under a live connection, and config errors.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_support.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kSensor1Key = "5e9f0a1b2c3d4e5f60718293a4b5c6d7";
constexpr const char* kSensor2Key = "00112233445566778899aabbccddeeff0011223344556677";

std::vector<std::string> psk(const std::string& identity, const std::string& key) {
    return {"--psk", key, "--psk-identity", identity};
}

// mosquitto_sub over TLS-PSK: `count` messages from `topic`, within 10 s.
std::vector<std::string> psk_subscriber(std::uint16_t port, const std::string& identity,
                                        const std::string& key, const std::string& topic, int count,
                                        const std::string& client_id) {
    std::vector<std::string> argv = {find_program("mosquitto_sub"),
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "-t",
                                     topic,
                                     "-C",
                                     std::to_string(count),
                                     "-W",
                                     "10",
                                     "-q",
                                     "1",
                                     "-i",
                                     client_id};
    const auto credentials = psk(identity, key);
    argv.insert(argv.end(), credentials.begin(), credentials.end());
    return argv;
}

class TlsPskTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (find_program("mosquitto_pub").empty() || find_program("openssl").empty()) {
            FAIL() << "mosquitto clients or openssl not installed (scripts/install-deps.sh "
                      "installs them)";
        }
        write_file(psk_file(), std::string("# test devices\n\nsensor-1:") + kSensor1Key +
                                   "\nsensor-2:" + kSensor2Key + "\n");
    }
    fs::path psk_file() const { return dir_.path() / "devices.psk"; }
    std::string psk_block(const std::string& extra = {}) const {
        return "listener 0 127.0.0.1\npsk_hint petrel-test\npsk_file " + psk_file().string() +
               "\n" + extra;
    }
    // s_client with a PSK in TLS `version` ("-tls1_2" or "-tls1_3").
    CommandResult s_client_psk(std::uint16_t port, const std::string& identity,
                               const std::string& key, const char* version) const {
        return s_client(port, {"-psk", key, "-psk_identity", identity, version});
    }

    TempDir dir_;
};

TEST_F(TlsPskTest, RightKeyWorksInTls12And13WrongKeyAndUnknownIdentityFail) {
    BrokerProcess broker(only("persistence false\nlog_level debug\n" + psk_block()));
    EXPECT_TRUE(broker.wait_for_log("TLS-PSK with 2 identities from " + psk_file().string()));
    const std::uint16_t port = broker.port();

    // mosquitto_sub and mosquitto_pub, each with its own identity.
    std::optional<CommandResult> received;
    std::thread subscriber([&] {
        received = run_command(
            psk_subscriber(port, "sensor-2", kSensor2Key, "tls/test", 1, "psk-sub"), 15s);
    });
    // Subscribed, not only connected: a publish before that would not reach it.
    ASSERT_TRUE(broker.wait_for_log("'psk-sub' (127.0.0.1:", 10s));
    ASSERT_TRUE(broker.wait_for_log("SUBSCRIBE 'tls/test'", 10s));
    const CommandResult published = publish(port, psk("sensor-1", kSensor1Key), "over psk");
    EXPECT_EQ(published.status, 0) << published.err;
    subscriber.join();
    ASSERT_TRUE(received);
    EXPECT_EQ(received->status, 0) << received->err;
    EXPECT_EQ(received->out, "over psk\n");

    // Both protocol versions, with the suites a PSK allows.
    const CommandResult tls12 = s_client_psk(port, "sensor-1", kSensor1Key, "-tls1_2");
    EXPECT_EQ(negotiated(tls12).rfind("TLSv1.2 ", 0), 0U) << tls12.out << tls12.err;
    EXPECT_NE(negotiated(tls12).find("PSK"), std::string::npos) << negotiated(tls12);
    const CommandResult tls13 = s_client_psk(port, "sensor-1", kSensor1Key, "-tls1_3");
    EXPECT_EQ(negotiated(tls13).rfind("TLSv1.3 ", 0), 0U) << tls13.out << tls13.err;

    // A wrong key: the handshake fails, and the log names the peer and the identity.
    std::string wrong = kSensor1Key;
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    EXPECT_NE(publish(port, psk("sensor-1", wrong)).status, 0);
    EXPECT_TRUE(broker.wait_for_log("TLS handshake failed (PSK identity 'sensor-1')"));
    EXPECT_NE(s_client_psk(port, "sensor-1", wrong, "-tls1_2").status, 0);
    EXPECT_NE(s_client_psk(port, "sensor-1", wrong, "-tls1_3").status, 0);

    // An unknown identity, in both versions.
    EXPECT_NE(publish(port, psk("intruder", kSensor1Key)).status, 0);
    EXPECT_TRUE(broker.wait_for_log(": TLS handshake failed: unknown PSK identity 'intruder'"));
    EXPECT_NE(s_client_psk(port, "nobody", kSensor1Key, "-tls1_2").status, 0);
    EXPECT_NE(s_client_psk(port, "nobody", kSensor1Key, "-tls1_3").status, 0);
    const std::string log = broker.log();
    const std::size_t line = log.find("unknown PSK identity 'nobody'");
    ASSERT_NE(line, std::string::npos) << log;
    const std::size_t start = log.rfind('\n', line) + 1;
    EXPECT_NE(log.substr(start, line - start).find("connection 127.0.0.1:"), std::string::npos)
        << log.substr(start, line - start);

    // Without a PSK (a certificate-only client) there is nothing to agree on.
    EXPECT_NE(s_client(port, {"-tls1_3"}).status, 0);
    // And the broker still serves.
    EXPECT_EQ(publish(port, psk("sensor-2", kSensor2Key)).status, 0);
}

// A Mosquitto config with psk_file among the general options, before the listener.
TEST_F(TlsPskTest, AGlobalPskFileServesTheListenersHint) {
    BrokerProcess broker(only("persistence false\nlog_level debug\npsk_file " +
                              psk_file().string() +
                              "\nlistener 0 127.0.0.1\npsk_hint petrel-test\n"));
    EXPECT_TRUE(broker.wait_for_log("TLS-PSK with 2 identities from " + psk_file().string()));
    EXPECT_EQ(publish(broker.port(), psk("sensor-1", kSensor1Key)).status, 0);
    std::string wrong = kSensor1Key;
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    EXPECT_NE(publish(broker.port(), psk("sensor-1", wrong)).status, 0);
}

TEST_F(TlsPskTest, IdentityAsUsernameIsWhatTheAclSees) {
    write_file(dir_.path() / "acl",
               "user sensor-1\ntopic write sensors/1/#\n"
               "user sensor-2\ntopic read sensors/#\n");
    BrokerProcess broker(
        only("persistence false\nlog_level debug\nallow_anonymous false\nacl_file " +
             (dir_.path() / "acl").string() + "\n" + psk_block("use_identity_as_username true\n")));
    const std::uint16_t port = broker.port();
    std::optional<CommandResult> received;
    std::thread subscriber([&] {
        received = run_command(
            psk_subscriber(port, "sensor-2", kSensor2Key, "sensors/#", 1, "acl-sub"), 15s);
    });
    // Subscribed, not only connected: a publish before that would not reach it.
    ASSERT_TRUE(broker.wait_for_log("'acl-sub' (127.0.0.1:", 10s));
    ASSERT_TRUE(broker.wait_for_log("SUBSCRIBE 'sensors/#'", 10s));
    EXPECT_TRUE(broker.wait_for_log("user name 'sensor-2' from the TLS-PSK identity"));

    // sensor-1 may not write to sensors/2: dropped, and what it claims to be is ignored.
    std::vector<std::string> claims = psk("sensor-1", kSensor1Key);
    claims.insert(claims.end(), {"-u", "sensor-2", "-P", "whatever"});
    // QoS 1 in 3.1.1: acknowledged even when dropped.
    EXPECT_EQ(publish(port, claims, "denied", "sensors/2/t").status, 0);
    EXPECT_TRUE(broker.wait_for_log("PUBLISH to 'sensors/2/t' not authorized by the ACL"));
    EXPECT_TRUE(broker.wait_for_log("user name 'sensor-1' from the TLS-PSK identity"));
    EXPECT_EQ(publish(port, claims, "allowed", "sensors/1/t").status, 0);
    subscriber.join();
    ASSERT_TRUE(received);
    EXPECT_EQ(received->status, 0) << received->err;
    EXPECT_EQ(received->out, "allowed\n");  // the denied one never arrived first
}

TEST_F(TlsPskTest, CertificateAndPskClientsOnOneListener) {
    const fs::path certs = dir_.path() / "certs";
    generate_certificates(certs);
    BrokerProcess broker(only("persistence false\nlog_level debug\nallow_anonymous false\n" +
                              tls_block(certs,
                                        "use_identity_as_username true\npsk_hint petrel-test\n"
                                        "psk_file " +
                                            psk_file().string() + "\n")));
    const std::uint16_t port = broker.port();
    // mosquitto_pub --psk offers TLS 1.3: the PSK, not the certificate, carries it.
    const CommandResult over_psk = publish(port, psk("sensor-1", kSensor1Key));
    EXPECT_EQ(over_psk.status, 0) << over_psk.err;
    EXPECT_TRUE(broker.wait_for_log("user name 'sensor-1' from the TLS-PSK identity"));
    // A client certificate on the same port.
    const CommandResult over_certificate =
        publish(port, {"--cafile", (certs / "ca.crt").string(), "--cert",
                       (certs / "client.crt").string(), "--key", (certs / "client.key").string()});
    EXPECT_EQ(over_certificate.status, 0) << over_certificate.err;
    EXPECT_TRUE(broker.wait_for_log("user name 'petrel-client' from the TLS client certificate"));
    // TLS 1.2 PSK suites too (a 1.2 client offering certificate suites as well would get
    // one of those, by the server's preference: libmosquitto offers only PSK suites).
    const CommandResult tls12 = s_client(
        port, {"-psk", kSensor2Key, "-psk_identity", "sensor-2", "-tls1_2", "-cipher", "PSK"});
    EXPECT_NE(negotiated(tls12).find("PSK"), std::string::npos) << tls12.out;
    // A certificate handshake keeps its usual suite.
    const CommandResult certificate_only =
        s_client(port, {"-CAfile", (certs / "ca.crt").string(), "-verify_return_error"});
    EXPECT_EQ(negotiated(certificate_only), "TLSv1.3 TLS_AES_256_GCM_SHA384")
        << certificate_only.out;
    // Neither a PSK nor a client certificate: nothing names the user.
    EXPECT_NE(publish(port, {"--cafile", (certs / "ca.crt").string()}).status, 0);
    EXPECT_TRUE(
        broker.wait_for_log("no PSK identity or verified client certificate for the user name"));
}

TEST_F(TlsPskTest, SighupRereadsThePskFileUnderALiveConnection) {
    BrokerProcess broker(only("persistence false\nlog_level debug\n" + psk_block()));
    const std::uint16_t port = broker.port();
    std::optional<CommandResult> received;
    std::thread subscriber([&] {
        received = run_command(
            psk_subscriber(port, "sensor-1", kSensor1Key, "tls/test", 2, "long-lived"), 20s);
    });
    // Subscribed, not only connected: a publish before that would not reach it.
    ASSERT_TRUE(broker.wait_for_log("'long-lived' (127.0.0.1:", 10s));
    ASSERT_TRUE(broker.wait_for_log("SUBSCRIBE 'tls/test'", 10s));

    // sensor-1 gets a new key, sensor-2 is gone, sensor-3 is new.
    constexpr const char* kNewKey = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
    write_file(psk_file(), std::string("sensor-1:") + kNewKey + "\nsensor-3:" + kSensor2Key + "\n");
    ::kill(broker.pid(), SIGHUP);
    ASSERT_TRUE(broker.wait_for_log("PSK file " + psk_file().string() + " reloaded, 2 identities"));
    EXPECT_NE(publish(port, psk("sensor-1", kSensor1Key)).status, 0);  // the old key
    EXPECT_NE(publish(port, psk("sensor-2", kSensor2Key)).status, 0);  // removed
    EXPECT_TRUE(broker.wait_for_log("unknown PSK identity 'sensor-2'"));
    EXPECT_EQ(publish(port, psk("sensor-3", kSensor2Key), "from sensor-3").status, 0);
    // The subscriber that connected with the old key carries on and gets both.
    const CommandResult renewed = publish(port, psk("sensor-1", kNewKey), "after reload");
    EXPECT_EQ(renewed.status, 0) << renewed.err;
    subscriber.join();
    ASSERT_TRUE(received);
    EXPECT_EQ(received->status, 0) << received->err;
    EXPECT_EQ(received->out, "from sensor-3\nafter reload\n");

    // A broken file: logged with its line, and the keys in force stay.
    write_file(psk_file(), std::string("sensor-1:") + kNewKey + "\nsensor-9\n");
    ::kill(broker.pid(), SIGHUP);
    ASSERT_TRUE(broker.wait_for_log("reload failed, keeping the current PSK keys: " +
                                    psk_file().string() + ":2: expected identity:hexkey"));
    EXPECT_EQ(publish(port, psk("sensor-1", kNewKey)).status, 0);
}

// A config that should not start: petrel exits 1 naming FILE:LINE.
CommandResult start_with(const TempDir& dir, const std::string& config) {
    const fs::path path = dir.path() / "bad.conf";
    write_file(path, config);
    return run_command({PETREL_BINARY, "-c", path.string()}, 10s);
}

TEST_F(TlsPskTest, ConfigErrors) {
    const std::string file = psk_file().string();
    CommandResult result = start_with(dir_, "persistence false\npsk_hint petrel\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("bad.conf:2: 'psk_hint' applies to a listener"), std::string::npos)
        << result.err;

    result = start_with(dir_, "persistence false\nlistener 0 127.0.0.1\npsk_hint petrel\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("bad.conf:2: TLS-PSK listener 0 needs both psk_hint and psk_file"),
              std::string::npos)
        << result.err;

    result = start_with(dir_, "persistence false\nlistener 0 127.0.0.1\npsk_file " + file + "\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("needs both psk_hint and psk_file"), std::string::npos) << result.err;

    result =
        start_with(dir_, "persistence false\nlistener 0 127.0.0.1\npsk_hint petrel\npsk_file " +
                             file + "\nrequire_certificate true\ncafile " + file + "\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("require_certificate and psk_hint on listener 0"), std::string::npos)
        << result.err;

    // A bad line in the PSK file stops start-up, naming that file and line.
    write_file(psk_file(), "sensor-1:0011\n\n# next one is bad\nsensor-2:0x0011\n");
    result = start_with(
        dir_, "persistence false\nlistener 0 127.0.0.1\npsk_hint petrel\npsk_file " + file + "\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find(file + ":4: the key is not hexadecimal"), std::string::npos)
        << result.err;

    write_file(psk_file(), "sensor-1:0011\n");
    result =
        start_with(dir_, "persistence false\nlistener 0 127.0.0.1\npsk_hint petrel\npsk_file " +
                             (dir_.path() / "missing.psk").string() + "\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("missing.psk: cannot open the PSK file"), std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace petrel::test
