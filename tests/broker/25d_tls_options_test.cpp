// The TLS listener options not covered by 25_tls_test, through the real broker: capath (a
// hashed CA directory) for client certificates, ciphers (TLS 1.2), ciphersuites and its
// Mosquitto name ciphers_tls1.3 (TLS 1.3), and tls_version tlsv1.2 accepting 1.2 and 1.3.
// openssl s_client pins the client's version and suites, and reports what was agreed.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_support.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class TlsOptionsTest : public CertificateTest {
  protected:
    std::vector<std::string> verify_server() const {
        return {"-CAfile", (certs() / "ca.crt").string(), "-verify_return_error"};
    }
    // s_client trusting our CA, with `options` added.
    CommandResult handshake(std::uint16_t port, std::vector<std::string> options) const {
        const auto trust = verify_server();
        options.insert(options.end(), trust.begin(), trust.end());
        return s_client(port, options);
    }
    std::vector<std::string> client_certificate(const fs::path& from) const {
        return {"--cafile", (certs() / "ca.crt").string(), "--cert", (from / "client.crt").string(),
                "--key",    (from / "client.key").string()};
    }
    // A listener with the server certificate and `extra`, but no cafile.
    std::string listener(const std::string& extra) const {
        return "persistence false\nlistener 0 127.0.0.1\ncertfile " +
               (certs() / "server.crt").string() + "\nkeyfile " +
               (certs() / "server.key").string() + "\n" + extra;
    }
};

TEST_F(TlsOptionsTest, CapathVerifiesClientCertificatesThroughHashedNames) {
    // The CA under its subject-hash name (NNNNNNNN.0), as `openssl rehash` makes it.
    const fs::path hashed = dir_.path() / "capath";
    fs::create_directories(hashed);
    fs::copy_file(certs() / "ca.crt", hashed / "petrel-ca.pem");
    const CommandResult rehash = run_command({find_program("openssl"), "rehash", hashed.string()});
    ASSERT_EQ(rehash.status, 0) << rehash.out << rehash.err;
    bool has_hash_link = false;
    for (const auto& entry : fs::directory_iterator(hashed)) {
        const std::string name = entry.path().filename().string();
        has_hash_link = has_hash_link || (name.size() == 10 && name.substr(8) == ".0" &&
                                          name.find_first_not_of("0123456789abcdef") == 8);
    }
    ASSERT_TRUE(has_hash_link) << "openssl rehash made no NNNNNNNN.0 link";

    const fs::path other_ca = dir_.path() / "other";
    generate_certificates(other_ca);
    {
        BrokerProcess broker(
            only(listener("capath " + hashed.string() + "\nrequire_certificate true\n")));
        const CommandResult ours = publish(broker.port(), client_certificate(certs()));
        EXPECT_EQ(ours.status, 0) << ours.err;
        // A certificate from a CA that is not in the directory, and none at all.
        EXPECT_NE(publish(broker.port(), client_certificate(other_ca)).status, 0);
        EXPECT_NE(publish(broker.port(), {"--cafile", (certs() / "ca.crt").string()}).status, 0);
        EXPECT_TRUE(broker.wait_for_log("TLS handshake failed"));
    }
    {
        // The same CA file without its hash name is not found: capath is looked up by hash.
        const fs::path unhashed = dir_.path() / "unhashed";
        fs::create_directories(unhashed);
        fs::copy_file(certs() / "ca.crt", unhashed / "petrel-ca.pem");
        BrokerProcess broker(
            only(listener("capath " + unhashed.string() + "\nrequire_certificate true\n")));
        EXPECT_NE(publish(broker.port(), client_certificate(certs())).status, 0);
    }
}

TEST_F(TlsOptionsTest, CiphersLimitTheTls12Suites) {
    // The server key is EC P-256, so ECDSA suites.
    BrokerProcess broker(only(listener("ciphers ECDHE-ECDSA-AES256-GCM-SHA384\n")));
    const std::uint16_t port = broker.port();
    const CommandResult excluded =
        handshake(port, {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"});
    EXPECT_NE(excluded.status, 0) << excluded.out;
    EXPECT_EQ(negotiated(excluded), "");
    const CommandResult allowed =
        handshake(port, {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"});
    EXPECT_EQ(negotiated(allowed), "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384")
        << allowed.out << allowed.err;
    // A client offering both gets the allowed one.
    EXPECT_EQ(negotiated(handshake(port, {"-tls1_2", "-cipher",
                                          "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                          "ECDHE-ECDSA-AES256-GCM-SHA384"})),
              "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384");
    // TLS 1.3 suites are a separate list, untouched.
    EXPECT_EQ(negotiated(handshake(port, {"-tls1_3"})), "TLSv1.3 TLS_AES_256_GCM_SHA384");
    const CommandResult mqtt = publish(port, {"--cafile", (certs() / "ca.crt").string()});
    EXPECT_EQ(mqtt.status, 0) << mqtt.err;
}

TEST_F(TlsOptionsTest, CiphersuitesLimitTheTls13Suites) {
    {
        BrokerProcess broker(only(listener("ciphersuites TLS_CHACHA20_POLY1305_SHA256\n")));
        const std::uint16_t port = broker.port();
        const CommandResult excluded =
            handshake(port, {"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"});
        EXPECT_NE(excluded.status, 0) << excluded.out;
        const CommandResult allowed =
            handshake(port, {"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"});
        EXPECT_EQ(negotiated(allowed), "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256")
            << allowed.out << allowed.err;
        // A client offering every suite (OpenSSL's default order) gets the allowed one.
        EXPECT_EQ(negotiated(handshake(port, {"-tls1_3"})), "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256");
        const CommandResult mqtt = publish(port, {"--cafile", (certs() / "ca.crt").string()});
        EXPECT_EQ(mqtt.status, 0) << mqtt.err;
    }
    {
        // Mosquitto's name for the same keyword.
        BrokerProcess broker(only(listener("ciphers_tls1.3 TLS_AES_128_GCM_SHA256\n")));
        EXPECT_EQ(negotiated(handshake(broker.port(), {"-tls1_3"})),
                  "TLSv1.3 TLS_AES_128_GCM_SHA256");
    }
}

TEST_F(TlsOptionsTest, TlsVersion12AcceptsTls12And13ButNothingOlder) {
    BrokerProcess broker(only(listener("tls_version tlsv1.2\n")));
    const std::uint16_t port = broker.port();
    const CommandResult tls12 = handshake(port, {"-tls1_2"});
    EXPECT_EQ(negotiated(tls12).rfind("TLSv1.2 ", 0), 0U) << tls12.out << tls12.err;
    const CommandResult tls13 = handshake(port, {"-tls1_3"});
    EXPECT_EQ(negotiated(tls13).rfind("TLSv1.3 ", 0), 0U) << tls13.out << tls13.err;
    // TLS 1.1 (the client must lower its own security level to even offer it).
    const CommandResult tls11 = handshake(port, {"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
    EXPECT_NE(tls11.status, 0) << tls11.out;
    EXPECT_EQ(negotiated(tls11), "");
    EXPECT_TRUE(
        broker.wait_for_log("TLS handshake failed; error:0A000102:SSL routines::"
                            "unsupported protocol"));
    // An MQTT client that allows 1.2 and up.
    const CommandResult mqtt =
        publish(port, {"--cafile", (certs() / "ca.crt").string(), "--tls-version", "tlsv1.2"});
    EXPECT_EQ(mqtt.status, 0) << mqtt.err;
}

}  // namespace
}  // namespace petrel::test
