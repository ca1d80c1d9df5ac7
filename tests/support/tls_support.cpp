#include "support/tls_support.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace petrel::test {

void CertificateTest::SetUp() {
    if (find_program("mosquitto_pub").empty() || find_program("openssl").empty()) {
        FAIL() << "mosquitto clients or openssl not installed (scripts/install-deps.sh "
                  "installs them)";
    }
    generate_certificates(certs());
}

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void generate_certificates(const fs::path& dir) {
    const CommandResult made = run_command(
        {std::string(PETREL_SOURCE_DIR) + "/tls/gen-certs.sh", "-o", dir.string()}, 60s);
    ASSERT_EQ(made.status, 0) << made.out << made.err;
}

std::string tls_block(const fs::path& certs, const std::string& extra) {
    return "listener 0 127.0.0.1\n"
           "certfile " +
           (certs / "server.crt").string() + "\n" + "keyfile " + (certs / "server.key").string() +
           "\n" + "cafile " + (certs / "ca.crt").string() + "\n" + extra;
}

BrokerOptions only(std::string config) {
    BrokerOptions options;
    options.extra_config = std::move(config);
    options.default_listener = false;
    return options;
}

CommandResult publish(std::uint16_t port, const std::vector<std::string>& options,
                      const std::string& message, const std::string& topic) {
    std::vector<std::string> argv = {find_program("mosquitto_pub"),
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "-t",
                                     topic,
                                     "-q",
                                     "1",
                                     "-m",
                                     message};
    argv.insert(argv.end(), options.begin(), options.end());
    return run_command(argv, 15s);
}

CommandResult s_client(std::uint16_t port, const std::vector<std::string>& options) {
    std::vector<std::string> argv = {find_program("openssl"), "s_client", "-connect",
                                     "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), options.begin(), options.end());
    return run_command(argv, 15s);
}

std::string negotiated(const CommandResult& result) {
    // "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" (or "Reused, ..." for a PSK).
    if (result.status != 0) {
        return "";
    }
    for (const std::string prefix : {"New, TLSv1.", "Reused, TLSv1."}) {
        const std::size_t at = result.out.find(prefix);
        if (at == std::string::npos) {
            continue;
        }
        std::istringstream words(result.out.substr(at + prefix.find("TLS")));
        std::string version;
        std::string cipher_word;
        std::string is_word;
        std::string cipher;
        words >> version >> cipher_word >> is_word >> cipher;
        if (version.size() < 2 || version.back() != ',' || cipher_word != "Cipher" ||
            is_word != "is") {
            return "";
        }
        version.pop_back();
        return version + " " + cipher;
    }
    return "";
}

std::unique_ptr<mqtt::async_client> tls_paho(std::uint16_t port, const std::string& id) {
    return std::make_unique<mqtt::async_client>("ssl://127.0.0.1:" + std::to_string(port), id,
                                                mqtt::create_options(MQTTVERSION_3_1_1));
}

mqtt::connect_options tls_paho_options(const fs::path& ca, const fs::path& cert,
                                       const fs::path& key) {
    mqtt::ssl_options_builder ssl;
    ssl.trust_store(ca.string()).enable_server_cert_auth(true);
    if (!cert.empty()) {
        ssl.key_store(cert.string()).private_key(key.string());
    }
    return mqtt::connect_options_builder()
        .keep_alive_interval(60s)
        .connect_timeout(5s)
        .clean_session(true)
        .automatic_reconnect(false)
        .ssl(ssl.finalize())
        .finalize();
}

}  // namespace petrel::test
