// The listener-scoped TLS keys, TLS-PSK among them: which listener they belong to, and the
// combinations that are errors, each naming the file and line.
#include <gtest/gtest.h>

#include <string>

#include "petrel/broker/config.hpp"

namespace petrel::broker {
namespace {

// The ConfigError message parsing `text` gives ("" if it parses).
std::string config_error(const std::string& text) {
    try {
        parse_config(text, "test.conf");
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

TEST(ConfigTls, PskKeysBelongToTheListenerAboveThem) {
    const Config config = parse_config(
        "listener 1883 127.0.0.1\n"
        "listener 8883\ncertfile s.crt\nkeyfile s.key\n"
        "listener 8884\npsk_hint petrel\npsk_file /etc/petrel/psk\nuse_identity_as_username true\n",
        "test.conf");
    ASSERT_EQ(config.listeners.size(), 3U);
    EXPECT_FALSE(config.listeners[0].tls);
    ASSERT_TRUE(config.listeners[1].tls);
    EXPECT_TRUE(config.listeners[1].tls->uses_certificate());
    EXPECT_FALSE(config.listeners[1].tls->uses_psk());
    ASSERT_TRUE(config.listeners[2].tls);
    const net::TlsSettings& psk = *config.listeners[2].tls;
    EXPECT_FALSE(psk.uses_certificate());
    EXPECT_TRUE(psk.uses_psk());
    EXPECT_EQ(psk.psk_hint, "petrel");
    EXPECT_EQ(psk.psk_file, "/etc/petrel/psk");
    EXPECT_TRUE(psk.use_identity_as_username);
}

// Mosquitto's psk_file is a general option: written before any listener, it holds the keys
// of every listener with a psk_hint that has no psk_file of its own.
TEST(ConfigTls, AGlobalPskFileServesPskListenersWithoutTheirOwn) {
    const Config config = parse_config(
        "psk_file /etc/petrel/all.psk\n"
        "listener 8884\npsk_hint a\n"
        "listener 8885\npsk_hint b\npsk_file /etc/petrel/b.psk\n"
        "listener 1883 127.0.0.1\n",
        "test.conf");
    ASSERT_TRUE(config.listeners[0].tls);
    EXPECT_EQ(config.listeners[0].tls->psk_file, "/etc/petrel/all.psk");
    ASSERT_TRUE(config.listeners[1].tls);
    EXPECT_EQ(config.listeners[1].tls->psk_file, "/etc/petrel/b.psk");
    EXPECT_FALSE(config.listeners[2].tls);  // no psk_hint: not a PSK listener
    EXPECT_EQ(config_error("psk_file psk\n"), "");
}

TEST(ConfigTls, CertificateAndPskOnOneListener) {
    const Config config = parse_config(
        "listener 8883\ncertfile s.crt\nkeyfile s.key\npsk_hint petrel\npsk_file psk\n",
        "test.conf");
    ASSERT_TRUE(config.listeners[0].tls);
    EXPECT_TRUE(config.listeners[0].tls->uses_certificate());
    EXPECT_TRUE(config.listeners[0].tls->uses_psk());
}

TEST(ConfigTls, IncompleteOrContradictoryListenersAreErrors) {
    EXPECT_EQ(config_error("listener 1\nlistener 8884\npsk_hint petrel\n"),
              "test.conf:2: TLS-PSK listener 8884 needs both psk_hint and psk_file");
    EXPECT_EQ(config_error("listener 8884\npsk_file psk\n"),
              "test.conf:1: TLS-PSK listener 8884 needs both psk_hint and psk_file");
    EXPECT_EQ(config_error("listener 8884\npsk_hint petrel\npsk_file psk\ncertfile s.crt\n"),
              "test.conf:1: TLS listener 8884 needs both certfile and keyfile");
    EXPECT_EQ(config_error("listener 8883\ncafile ca.crt\n"),
              "test.conf:1: TLS listener 8883 needs certfile and keyfile, or psk_hint and "
              "psk_file");
    EXPECT_EQ(config_error("listener 8884\npsk_hint petrel\npsk_file psk\ncafile ca.crt\n"
                           "require_certificate true\n"),
              "test.conf:1: require_certificate and psk_hint on listener 8884: PSK clients "
              "present no certificate (use two listeners)");
    EXPECT_EQ(config_error("listener 8884\npsk_hint two words\n"),
              "test.conf:2: 'psk_hint' takes 1 value(s), got 2");
}

}  // namespace
}  // namespace petrel::broker
