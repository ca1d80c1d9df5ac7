// Real Mosquitto configs start Petrel (issue 11, item 7): the mosquitto.conf Debian
// installs, the commented example config Mosquitto ships (as it is, and with its example
// values uncommented), and production configs written as a Mosquitto user writes them —
// a TLS listener with a CRL, per-listener password and ACL files, persistence, limits.
// Ports become ephemeral, paths temporary, certificates the throw-away ones of tls/; the
// rest stays as written. A libmosquitto (or, over TLS, Paho) client then connects,
// subscribes, publishes and receives through each.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_support.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Debian 12's /etc/mosquitto/mosquitto.conf, used when the package is not installed.
constexpr const char* kDebianConfig =
    "# Place your local configuration in /etc/mosquitto/conf.d/\n"
    "#\n"
    "# A full description of the configuration file is at\n"
    "# /usr/share/doc/mosquitto/examples/mosquitto.conf.example\n"
    "\n"
    "pid_file /run/mosquitto/mosquitto.pid\n"
    "\n"
    "persistence true\n"
    "persistence_location /var/lib/mosquitto/\n"
    "\n"
    "log_dest file /var/log/mosquitto/mosquitto.log\n"
    "\n"
    "include_dir /etc/mosquitto/conf.d\n";

std::string replaced(std::string text, const std::vector<std::pair<std::string, std::string>>& by) {
    for (const auto& [from, to] : by) {
        for (std::size_t at = text.find(from); at != std::string::npos;
             at = text.find(from, at + to.size())) {
            text.replace(at, from.size(), to);
        }
    }
    return text;
}

// Mosquitto's commented example config, as the package ships it ("" when absent).
std::string shipped_example() {
    const fs::path plain = "/usr/share/doc/mosquitto/examples/mosquitto.conf";
    if (fs::exists(plain)) {
        return read_file(plain);
    }
    const fs::path gzipped = plain.string() + ".gz";
    if (fs::exists(gzipped)) {
        return run_command({find_program("gzip"), "-dc", gzipped.string()}).out;
    }
    return "";
}

BrokerOptions config_only(std::string text) {
    BrokerOptions options;
    options.extra_config = std::move(text);
    options.default_listener = false;
    return options;
}

// Connects, subscribes to `topic`, publishes to it at QoS 1 and receives the message.
void round_trip(std::uint16_t port, MosquittoOptions options, const std::string& topic) {
    MosquittoClient client(std::move(options));
    ASSERT_EQ(client.connect(port), 0);
    ASSERT_TRUE(client.subscribe(topic, 1));
    const int mid = client.publish(topic, "through a Mosquitto config", 1);
    ASSERT_GE(mid, 0);
    ASSERT_TRUE(client.wait_published(mid));
    ASSERT_TRUE(client.wait_for(1));
    EXPECT_EQ(client.messages().at(0).topic, topic);
    EXPECT_EQ(client.messages().at(0).payload, "through a Mosquitto config");
}

MosquittoOptions client_named(std::string id) {
    MosquittoOptions options;
    options.client_id = std::move(id);
    return options;
}

TEST(MosquittoConfigTest, DebiansInstalledConfigWithAConfDListener) {
    const fs::path installed = "/etc/mosquitto/mosquitto.conf";
    const std::string original = fs::exists(installed) ? read_file(installed) : kDebianConfig;
    TempDir dir;
    fs::create_directories(dir.path() / "conf.d");
    fs::create_directories(dir.path() / "lib");
    // What a Debian user adds: a local config in conf.d.
    write_file(dir.path() / "conf.d" / "local.conf",
               "listener 0 127.0.0.1\nallow_anonymous true\n");
    BrokerProcess broker(config_only(
        replaced(original, {{"/run/mosquitto/", (dir.path() / "run").string() + "/"},
                            {"/var/lib/mosquitto/", (dir.path() / "lib").string() + "/"},
                            {"/var/log/mosquitto/", (dir.path() / "log").string() + "/"},
                            {"/etc/mosquitto/conf.d", (dir.path() / "conf.d").string()}})));
    round_trip(broker.port(), client_named("debian-default"), "debian/test");
    EXPECT_NE(broker.log().find("'pid_file' has no effect"), std::string::npos) << broker.log();
    EXPECT_NE(broker.log().find("'log_dest' has no effect"), std::string::npos);
    EXPECT_FALSE(fs::is_empty(dir.path() / "lib"));  // the store went to persistence_location
}

TEST(MosquittoConfigTest, TheShippedExampleConfigAsItIs) {
    const std::string example = shipped_example();
    // scripts/install-deps.sh installs Debian's mosquitto, which ships it.
    ASSERT_FALSE(example.empty()) << "Mosquitto's example config is not installed";
    // Every line is a comment: the broker runs on its defaults, on an ephemeral port.
    BrokerProcess broker(example);
    round_trip(broker.port(), client_named("example-as-is"), "example/test");
    EXPECT_EQ(broker.log().find("warning /"), std::string::npos) << broker.log();
}

// The example with every "#keyword value" line of its broker part uncommented, as a user
// who starts from it would: the listener gets its port, the rest keeps the example values.
TEST(MosquittoConfigTest, TheShippedExampleWithItsValuesUncommented) {
    const std::string example = shipped_example();
    // scripts/install-deps.sh installs Debian's mosquitto, which ships it.
    ASSERT_FALSE(example.empty()) << "Mosquitto's example config is not installed";
    // Left commented: values Mosquitto itself refuses (max_packet_size 0), WebSocket,
    // 'user' (the tests may run as root), and allow_anonymous false (no password file).
    const std::vector<std::string> kept_commented = {"max_packet_size", "websockets_log_level",
                                                     "user", "allow_anonymous"};
    std::string config;
    std::istringstream lines(example);
    bool bridges = false;
    for (std::string line; std::getline(lines, line);) {
        bridges = bridges || line.starts_with("#connection ");
        const std::size_t space = line.find(' ');
        const std::string keyword =
            line.size() > 1 ? line.substr(1, space == std::string::npos ? 0 : space - 1) : "";
        const bool setting = !bridges && line.size() > 1 && line[0] == '#' &&
                             std::islower(static_cast<unsigned char>(line[1])) &&
                             space != std::string::npos && line.find('<') == std::string::npos;
        if (line == "#listener") {
            config += "listener 0 127.0.0.1\n";
        } else if (setting && std::find(kept_commented.begin(), kept_commented.end(), keyword) ==
                                  kept_commented.end()) {
            config += line.substr(1) + "\n";
        } else {
            config += line + "\n";
        }
    }
    BrokerProcess broker(config_only(config));
    round_trip(broker.port(), client_named("example-uncommented"), "example/values");
    for (const char* warned :
         {"'autosave_interval' has no effect", "'log_type' has no effect",
          "'sys_interval' has no effect", "'persistence_file' has no effect"}) {
        EXPECT_NE(broker.log().find(warned), std::string::npos) << warned << "\n" << broker.log();
    }
}

class MosquittoProductionConfigTest : public CertificateTest {};

TEST_F(MosquittoProductionConfigTest, TlsListenerWithCrlAndClientCertificates) {
    // An empty revocation list from the test CA, as `openssl ca -gencrl` makes it.
    const fs::path ca = dir_.path() / "ca";
    fs::create_directories(ca);
    write_file(ca / "index.txt", "");
    write_file(ca / "crlnumber", "01\n");
    write_file(ca / "ca.cnf",
               "[ca]\ndefault_ca = d\n[d]\ndatabase = " + (ca / "index.txt").string() +
                   "\ncrlnumber = " + (ca / "crlnumber").string() +
                   "\ndefault_md = sha256\ndefault_crl_days = 30\n");
    const CommandResult crl =
        run_command({find_program("openssl"), "ca", "-config", (ca / "ca.cnf").string(), "-gencrl",
                     "-keyfile", (certs() / "ca.key").string(), "-cert",
                     (certs() / "ca.crt").string(), "-out", (ca / "crl.pem").string()});
    ASSERT_EQ(crl.status, 0) << crl.err;

    BrokerProcess broker(
        config_only("# /etc/mosquitto/conf.d/tls.conf\n"
                    "per_listener_settings false\n"
                    "allow_anonymous false\n"
                    "\n"
                    "listener 0 127.0.0.1\n"
                    "cafile " +
                    (certs() / "ca.crt").string() +
                    "\n"
                    "certfile " +
                    (certs() / "server.crt").string() +
                    "\n"
                    "keyfile " +
                    (certs() / "server.key").string() +
                    "\n"
                    "crlfile " +
                    (ca / "crl.pem").string() +
                    "\n"
                    "require_certificate true\n"
                    "use_identity_as_username true\n"
                    "tls_version tlsv1.2\n"));
    auto client = tls_paho(broker.port(), "tls-production");
    ASSERT_NO_THROW(client
                        ->connect(tls_paho_options(certs() / "ca.crt", certs() / "client.crt",
                                                   certs() / "client.key"))
                        ->wait());
    client->start_consuming();
    client->subscribe("plant/line1", 1)->wait();
    client->publish(mqtt::make_message("plant/line1", "over TLS", 1, false))->wait();
    const mqtt::const_message_ptr got = client->try_consume_message_for(5s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->get_payload_str(), "over TLS");
    client->disconnect()->wait();
}

TEST_F(MosquittoProductionConfigTest, PerListenerPasswordAndAclFiles) {
    const fs::path passwords = dir_.path() / "passwd";
    const CommandResult made = run_command(
        {find_program("mosquitto_passwd"), "-b", "-c", passwords.string(), "alice", "s3cret"});
    ASSERT_EQ(made.status, 0) << made.err;
    write_file(dir_.path() / "acl", "user alice\ntopic readwrite sensors/#\n");
    write_file(dir_.path() / "guest.acl", "# guests may only read\ntopic read sensors/#\n");
    BrokerProcess broker(
        config_only("per_listener_settings true\n"
                    "\n"
                    "# internal clients\n"
                    "listener 0 127.0.0.1\n"
                    "allow_anonymous false\n"
                    "password_file " +
                    passwords.string() +
                    "\n"
                    "acl_file " +
                    (dir_.path() / "acl").string() +
                    "\n"
                    "\n"
                    "# dashboards\n"
                    "listener 0 127.0.0.1\n"
                    "allow_anonymous true\n"
                    "acl_file " +
                    (dir_.path() / "guest.acl").string() + "\n"));
    ASSERT_EQ(broker.ports().size(), 2U);
    MosquittoClient guest(client_named("dashboard"));
    ASSERT_EQ(guest.connect(broker.ports()[1]), 0);
    ASSERT_TRUE(guest.subscribe("sensors/#", 1));
    MosquittoClient anonymous(client_named("no-password"));
    EXPECT_NE(anonymous.connect(broker.ports()[0]), 0);  // refused on the internal listener

    MosquittoOptions alice = client_named("alice-client");
    alice.username = "alice";
    alice.password = "s3cret";
    round_trip(broker.ports()[0], alice, "sensors/temperature");
    ASSERT_TRUE(guest.wait_for(1));
    EXPECT_EQ(guest.messages().at(0).topic, "sensors/temperature");
}

TEST(MosquittoConfigTest, PersistenceWithMosquittosAutosaveOptions) {
    TempDir dir;
    const fs::path store = dir.path() / "var-lib-mosquitto";
    fs::create_directories(store);
    BrokerProcess broker(
        config_only("persistence true\n"
                    "persistence_location " +
                    store.string() +
                    "/\n"
                    "persistence_file mosquitto.db\n"
                    "autosave_interval 1800\n"
                    "autosave_on_changes false\n"
                    "\n"
                    "listener 0 127.0.0.1\n"
                    "allow_anonymous true\n"));
    MosquittoOptions durable = client_named("durable-sub");
    durable.clean_session = false;
    {
        MosquittoClient subscriber(durable);
        ASSERT_EQ(subscriber.connect(broker.port()), 0);
        ASSERT_TRUE(subscriber.subscribe("orders/#", 1));
        subscriber.disconnect();
    }
    {
        MosquittoClient publisher(client_named("order-pub"));
        ASSERT_EQ(publisher.connect(broker.port()), 0);
        const int mid = publisher.publish("orders/42", "queued while away", 1);
        ASSERT_TRUE(publisher.wait_published(mid));
    }
    broker.restart();
    MosquittoClient subscriber(durable);
    ASSERT_EQ(subscriber.connect(broker.port()), 0);
    EXPECT_TRUE(subscriber.session_present());
    ASSERT_TRUE(subscriber.wait_for(1));
    EXPECT_EQ(subscriber.messages().at(0).payload, "queued while away");
    EXPECT_FALSE(fs::is_empty(store));
}

TEST(MosquittoConfigTest, LimitsAsMosquittoUsersSetThem) {
    BrokerProcess broker(
        config_only("persistence false\n"
                    "max_queued_messages 200\n"
                    "max_queued_bytes 1000000\n"
                    "max_inflight_messages 10\n"
                    "max_inflight_bytes 65536\n"
                    "message_size_limit 1024\n"
                    "max_keepalive 120\n"
                    "max_connections -1\n"
                    "set_tcp_nodelay true\n"
                    "log_type error\n"
                    "log_type warning\n"
                    "connection_messages true\n"
                    "\n"
                    "listener 0 127.0.0.1\n"
                    "max_connections 100\n"
                    "allow_anonymous true\n"));
    MosquittoClient subscriber(client_named("limits-sub"));
    ASSERT_EQ(subscriber.connect(broker.port()), 0);
    ASSERT_TRUE(subscriber.subscribe("limits/#", 1));
    MosquittoClient publisher(client_named("limits-pub"));
    ASSERT_EQ(publisher.connect(broker.port()), 0);
    const int too_large = publisher.publish("limits/big", std::string(2000, 'x'), 1);
    ASSERT_TRUE(publisher.wait_published(too_large));  // 3.1.1: acknowledged, not forwarded
    const int fits = publisher.publish("limits/small", "fits", 1);
    ASSERT_TRUE(publisher.wait_published(fits));
    ASSERT_TRUE(subscriber.wait_for(1));
    EXPECT_EQ(subscriber.messages().at(0).topic, "limits/small");
    EXPECT_FALSE(subscriber.wait_for(2, 200ms));
}

}  // namespace
}  // namespace petrel::test
