// TlsContext and TlsSession without the broker: what stops a listener from loading (each
// message naming the file at fault), and real handshakes over a socketpair between a
// server session and an OpenSSL client — certificates, TLS-PSK in TLS 1.2 and 1.3, wrong
// keys and unknown identities, and a reload that changes the keys.
#include "petrel/net/tls_context.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "tls_session.hpp"
#include "tls_test_util.hpp"

namespace petrel::net {
namespace {

using test::ClientOptions;
using test::ScratchDir;
using test::TlsPair;

const std::string kKey =
    std::string("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
const char* const kKeyHex = "00112233445566778899aabbccddeeff";

// The message of the std::runtime_error that building a context throws ("" if none).
std::string load_error(const TlsSettings& settings) {
    try {
        TlsContext context(settings);
    } catch (const std::runtime_error& error) {
        return error.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class TlsContextTest : public ::testing::Test {
  protected:
    void SetUp() override {
        test::make_self_signed(dir_.file("server.crt"), dir_.file("server.key"));
        test::make_self_signed(dir_.file("other.crt"), dir_.file("other.key"), "other");
    }
    TlsSettings certificate() const {
        TlsSettings s;
        s.certfile = dir_.file("server.crt");
        s.keyfile = dir_.file("server.key");
        return s;
    }
    TlsSettings psk_only(const std::string& lines) const {
        TlsSettings s;
        s.psk_hint = "petrel";
        s.psk_file = dir_.write("keys.psk", lines);
        return s;
    }
    ClientOptions psk_client(std::string identity, std::string key, int max_version = 0) const {
        ClientOptions o;
        o.psk_identity = std::move(identity);
        o.psk_key = std::move(key);
        o.max_version = max_version;
        if (max_version == TLS1_2_VERSION) {
            o.ciphers = "PSK";  // what libmosquitto offers with --psk
        }
        return o;
    }

    ScratchDir dir_;
};

// --- loading ---------------------------------------------------------------------------

TEST_F(TlsContextTest, MissingFilesAreNamed) {
    TlsSettings s = certificate();
    s.certfile = dir_.file("absent.crt");
    EXPECT_TRUE(contains(load_error(s), "cannot load certfile " + s.certfile)) << load_error(s);
    s = certificate();
    s.keyfile = dir_.file("absent.key");
    EXPECT_TRUE(contains(load_error(s), "cannot load keyfile " + s.keyfile)) << load_error(s);
    s = certificate();
    s.cafile = dir_.file("absent-ca.crt");
    EXPECT_TRUE(contains(load_error(s), "cannot load CA certificates from " + s.cafile))
        << load_error(s);
    s = psk_only("a:00\n");
    s.psk_file = dir_.file("absent.psk");
    EXPECT_EQ(load_error(s), s.psk_file + ": cannot open the PSK file");
}

TEST_F(TlsContextTest, KeyThatDoesNotMatchTheCertificateIsRefused) {
    TlsSettings s = certificate();
    s.keyfile = dir_.file("other.key");
    const std::string error = load_error(s);
    EXPECT_TRUE(contains(error, "cannot load keyfile " + s.keyfile)) << error;
    EXPECT_TRUE(contains(error, "key values mismatch")) << error;
}

TEST_F(TlsContextTest, BadPskFileLineNamesFileAndLine) {
    const TlsSettings s = psk_only("# devices\nsensor-1:0011\nsensor-2:nothex\n");
    EXPECT_EQ(load_error(s),
              s.psk_file + ":3: the key is not hexadecimal (no 0x prefix, digits 0-9a-f)");
}

TEST_F(TlsContextTest, BadCipherListsAreRefused) {
    TlsSettings s = certificate();
    s.ciphers = "NO-SUCH-CIPHER";
    EXPECT_TRUE(contains(load_error(s), "ciphers 'NO-SUCH-CIPHER' selects no cipher"));
    s = certificate();
    s.ciphersuites = "TLS_NO_SUCH_SUITE";
    EXPECT_TRUE(
        contains(load_error(s), "ciphersuites 'TLS_NO_SUCH_SUITE' selects no cipher suite"));
    // TLS 1.3 PSKs set up the classic way are bound to SHA-256.
    s = psk_only("a:00\n");
    s.ciphersuites = "TLS_AES_256_GCM_SHA384";
    EXPECT_TRUE(contains(load_error(s), "has no SHA-256 suite")) << load_error(s);
}

TEST_F(TlsContextTest, NeitherCertificateNorPskIsRefused) {
    EXPECT_TRUE(contains(load_error(TlsSettings{}), "needs certfile and keyfile, or psk_hint"));
}

// --- handshakes ------------------------------------------------------------------------

TEST_F(TlsContextTest, CertificateHandshakeThenRecordsBothWays) {
    const TlsContext context(certificate());
    ClientOptions client;
    client.ca_file = dir_.file("server.crt");  // self-signed: its own CA
    TlsPair pair(context, client);
    ASSERT_TRUE(pair.handshake()) << pair.server().error();
    EXPECT_TRUE(pair.server().established());
    EXPECT_EQ(SSL_version(pair.client()), TLS1_3_VERSION);
    EXPECT_FALSE(pair.server().psk_identity());
    EXPECT_FALSE(pair.server().peer_common_name());  // no client certificate

    ASSERT_EQ(SSL_write(pair.client(), "ping", 4), 4);
    char buffer[16];
    TlsSession::Step wait = TlsSession::Step::WantRead;
    long got = -1;
    for (int i = 0; i < 100 && got < 0; ++i) {
        got = pair.server().read(buffer, sizeof buffer, wait);
    }
    ASSERT_EQ(got, 4);
    EXPECT_EQ(std::string(buffer, 4), "ping");
    ASSERT_EQ(pair.server().write("pong", 4, wait), 4);
    int read = -1;
    for (int i = 0; i < 100 && read <= 0; ++i) {
        read = SSL_read(pair.client(), buffer, sizeof buffer);
    }
    ASSERT_EQ(read, 4);
    EXPECT_EQ(std::string(buffer, 4), "pong");
}

TEST_F(TlsContextTest, PskOnlyListenerTls13) {
    const TlsContext context(psk_only("other:0102\nsensor-1:" + std::string(kKeyHex) + "\n"));
    EXPECT_EQ(context.psk_identities(), 2U);
    TlsPair pair(context, psk_client("sensor-1", kKey));
    ASSERT_TRUE(pair.handshake()) << pair.server().error();
    EXPECT_EQ(SSL_version(pair.client()), TLS1_3_VERSION);
    EXPECT_EQ(pair.server().psk_identity(), "sensor-1");
}

TEST_F(TlsContextTest, PskOnlyListenerTls12SendsTheHint) {
    const TlsContext context(psk_only("sensor-1:" + std::string(kKeyHex) + "\n"));
    TlsPair pair(context, psk_client("sensor-1", kKey, TLS1_2_VERSION));
    ASSERT_TRUE(pair.handshake()) << pair.server().error();
    EXPECT_EQ(SSL_version(pair.client()), TLS1_2_VERSION);
    EXPECT_EQ(pair.hint_seen(), "petrel");
    EXPECT_EQ(pair.server().psk_identity(), "sensor-1");
}

TEST_F(TlsContextTest, WrongKeyFailsTheHandshakeNamingTheIdentity) {
    const TlsContext context(psk_only("sensor-1:" + std::string(kKeyHex) + "\n"));
    std::string wrong = kKey;
    wrong[0] = '\x01';
    for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        TlsPair pair(context, psk_client("sensor-1", wrong, version));
        EXPECT_FALSE(pair.handshake()) << version;
        EXPECT_FALSE(pair.server().psk_identity());
        EXPECT_TRUE(contains(pair.server().error(), "(PSK identity 'sensor-1')"))
            << pair.server().error();
    }
}

TEST_F(TlsContextTest, UnknownIdentityFailsTheHandshakeAndIsLoggedSafely) {
    const TlsContext context(psk_only("sensor-1:" + std::string(kKeyHex) + "\n"));
    for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        TlsPair pair(context, psk_client("intruder\x1b[2J", kKey, version));
        EXPECT_FALSE(pair.handshake()) << version;
        // A terminal escape in the identity is shown, not obeyed.
        EXPECT_TRUE(contains(pair.server().error(), "unknown PSK identity 'intruder\\x1b[2J'"))
            << pair.server().error();
    }
}

TEST_F(TlsContextTest, CertificateAndPskOnOneListener) {
    TlsSettings s = certificate();
    s.psk_hint = "petrel";
    s.psk_file = dir_.write("keys.psk", "sensor-1:" + std::string(kKeyHex) + "\n");
    const TlsContext context(s);
    // A TLS 1.3 PSK client gets a PSK handshake although the listener has a certificate
    // (OpenSSL alone would choose a SHA-384 suite and ignore the PSK).
    TlsPair psk(context, psk_client("sensor-1", kKey));
    ASSERT_TRUE(psk.handshake()) << psk.server().error();
    EXPECT_EQ(SSL_version(psk.client()), TLS1_3_VERSION);
    EXPECT_EQ(psk.server().psk_identity(), "sensor-1");
    EXPECT_EQ(SSL_get0_peer_certificate(psk.client()), nullptr);  // no certificate was sent
    // A certificate client next to it.
    ClientOptions plain;
    plain.ca_file = dir_.file("server.crt");
    TlsPair certified(context, plain);
    ASSERT_TRUE(certified.handshake()) << certified.server().error();
    EXPECT_FALSE(certified.server().psk_identity());
    EXPECT_STREQ(SSL_get_cipher_name(certified.client()), "TLS_AES_256_GCM_SHA384");
}

TEST_F(TlsContextTest, ReloadReadsTheChangedPskFileAndKeepsItWhenBroken) {
    const TlsSettings s = psk_only("sensor-1:" + std::string(kKeyHex) + "\n");
    TlsContext context(s);
    const std::string new_key("\x42\x42\x42\x42", 4);
    dir_.write("keys.psk", "sensor-1:42424242\nsensor-2:0102\n");
    context.reload();
    EXPECT_EQ(context.psk_identities(), 2U);
    {
        TlsPair old_key(context, psk_client("sensor-1", kKey));
        EXPECT_FALSE(old_key.handshake());
        TlsPair current(context, psk_client("sensor-1", new_key));
        EXPECT_TRUE(current.handshake()) << current.server().error();
    }
    // A broken file: the reload throws naming the line, and the keys stay as they were.
    dir_.write("keys.psk", "sensor-1:42424242\nsensor-2\n");
    try {
        context.reload();
        FAIL() << "a broken PSK file must not load";
    } catch (const std::runtime_error& error) {
        EXPECT_EQ(std::string(error.what()), s.psk_file + ":2: expected identity:hexkey");
    }
    EXPECT_EQ(context.psk_identities(), 2U);
    TlsPair still(context, psk_client("sensor-1", new_key));
    EXPECT_TRUE(still.handshake()) << still.server().error();
}

}  // namespace
}  // namespace petrel::net
