// TLS for broker tests: throw-away certificates from tls/gen-certs.sh, listener blocks for
// the config, and the command-line TLS clients (mosquitto_pub, openssl s_client) and Paho
// over ssl://.
#pragma once

#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace petrel::test {

// A fresh CA with server and client certificates in `dir` (tls/gen-certs.sh -o dir);
// a failure is a fatal test failure.
void generate_certificates(const std::filesystem::path& dir);

// A test with its own throw-away certificates in certs() (under dir_); it fails at once
// when the command-line TLS clients it drives are missing.
class CertificateTest : public ::testing::Test {
  protected:
    void SetUp() override;
    std::filesystem::path certs() const { return dir_.path() / "certs"; }

    TempDir dir_;
};

// "listener 0 127.0.0.1" with the server certificate, key and CA of `certs`, then `extra`.
std::string tls_block(const std::filesystem::path& certs, const std::string& extra = {});

// Broker options for a config whose only listeners are its own.
BrokerOptions only(std::string config);

// mosquitto_pub, QoS 1, to 127.0.0.1:`port` and `topic`, with extra `options` (--cafile …,
// --psk …); plain TCP without them.
CommandResult publish(std::uint16_t port, const std::vector<std::string>& options,
                      const std::string& message = "hello", const std::string& topic = "tls/test");

// `openssl s_client -connect 127.0.0.1:PORT` with `options`, stdin empty: it handshakes,
// prints what was negotiated and exits (status 0 once a handshake completed).
CommandResult s_client(std::uint16_t port, const std::vector<std::string>& options);

// The "Protocol" and "Cipher" s_client reports, e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256";
// "" when no handshake completed.
std::string negotiated(const CommandResult& s_client_result);

// A Paho MQTT 3.1.1 client for ssl://127.0.0.1:`port`, and its connect options trusting
// `ca` (with a client certificate when `cert` is given).
std::unique_ptr<mqtt::async_client> tls_paho(std::uint16_t port, const std::string& id);
mqtt::connect_options tls_paho_options(const std::filesystem::path& ca,
                                       const std::filesystem::path& cert = {},
                                       const std::filesystem::path& key = {});

}  // namespace petrel::test
