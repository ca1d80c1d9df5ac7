// TLS listeners through the real broker and real clients (mosquitto_pub/sub, Paho C++):
// a plain and a TLS listener side by side, client certificates (required, and as the user
// name), the minimum TLS version, handshakes that stall or are garbage, connections moved
// between workers after CONNECT, SIGHUP reloading certificates under live connections, and
// config errors. Certificates come from tls/gen-certs.sh in a temporary directory.
#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_support.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A raw TCP connection that sends `bytes` and then reports whether the broker closed it
// within `within`.
class RawSocket {
  public:
    explicit RawSocket(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~RawSocket() { ::close(fd_); }
    bool connected() const { return connected_; }
    void send(const std::string& bytes) {
        [[maybe_unused]] const auto sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }
    bool closed_by_peer(std::chrono::milliseconds within) {
        const auto deadline = std::chrono::steady_clock::now() + within;
        char buffer[4096];
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
                if (n <= 0) {
                    return true;  // EOF or reset
                }
            }
        }
        return false;
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
};

class TlsTest : public CertificateTest {
  protected:
    std::vector<std::string> trust() const { return {"--cafile", (certs() / "ca.crt").string()}; }
    std::vector<std::string> with_client_cert() const {
        return {"--cafile", (certs() / "ca.crt").string(),
                "--cert",   (certs() / "client.crt").string(),
                "--key",    (certs() / "client.key").string()};
    }
};

TEST_F(TlsTest, PlainAndTlsListenersInOneConfig) {
    BrokerProcess broker("persistence false\nlog_level debug\n" + tls_block(certs()));
    ASSERT_EQ(broker.ports().size(), 2U);
    const std::uint16_t plain = broker.ports()[0];
    const std::uint16_t tls = broker.ports()[1];
    EXPECT_TRUE(broker.wait_for_log(":" + std::to_string(tls) + " (TLS)"));

    // A TLS subscriber gets what a plain client publishes, and the other way round.
    std::vector<std::string> sub = {find_program("mosquitto_sub"),
                                    "-h",
                                    "127.0.0.1",
                                    "-p",
                                    std::to_string(tls),
                                    "-t",
                                    "tls/test",
                                    "-C",
                                    "2",
                                    "-W",
                                    "10",
                                    "-q",
                                    "1",
                                    "-i",
                                    "tls-sub"};
    const auto ca = trust();
    sub.insert(sub.end(), ca.begin(), ca.end());
    std::optional<CommandResult> received;
    std::thread subscriber([&] { received = run_command(sub, 15s); });
    // Subscribed, not only connected: a publish before that would not reach it.
    ASSERT_TRUE(broker.wait_for_log("'tls-sub' (127.0.0.1:", 10s));
    ASSERT_TRUE(broker.wait_for_log("SUBSCRIBE 'tls/test'", 10s));
    EXPECT_EQ(publish(plain, {}, "from-plain").status, 0);
    const CommandResult over_tls = publish(tls, trust(), "from-tls");
    EXPECT_EQ(over_tls.status, 0) << over_tls.err;
    subscriber.join();
    ASSERT_TRUE(received);
    EXPECT_EQ(received->status, 0) << received->err;
    EXPECT_EQ(received->out, "from-plain\nfrom-tls\n");

    // A TLS client on the plain port, or a plain one on the TLS port, gets nowhere.
    EXPECT_NE(publish(plain, trust()).status, 0);
    EXPECT_NE(publish(tls, {}).status, 0);
}

TEST_F(TlsTest, RequireCertificateRefusesClientsWithoutOne) {
    BrokerProcess broker(
        only("persistence false\n" + tls_block(certs(), "require_certificate true\n")));
    EXPECT_NE(publish(broker.port(), trust()).status, 0);
    EXPECT_TRUE(broker.wait_for_log("TLS handshake failed"));
    const CommandResult with_cert = publish(broker.port(), with_client_cert());
    EXPECT_EQ(with_cert.status, 0) << with_cert.err;
}

TEST_F(TlsTest, IdentityAsUsernameLetsACertificateStandForTheUser) {
    BrokerProcess broker(only("persistence false\nallow_anonymous false\n" +
                              tls_block(certs(),
                                        "require_certificate true\n"
                                        "use_identity_as_username true\n")));
    // No user name sent: the certificate's CN (petrel-client) is taken instead.
    const CommandResult published = publish(broker.port(), with_client_cert());
    EXPECT_EQ(published.status, 0) << published.err;
    EXPECT_TRUE(broker.wait_for_log("user name 'petrel-client' from the TLS client certificate"));
    // What the client claims is overridden.
    auto claiming = with_client_cert();
    claiming.insert(claiming.end(), {"-u", "admin", "-P", "secret"});
    EXPECT_EQ(publish(broker.port(), claiming).status, 0);
}

TEST_F(TlsTest, AnonymousTlsClientsAreRefusedWithoutIdentityAsUsername) {
    BrokerProcess broker(only("persistence false\nallow_anonymous false\n" +
                              tls_block(certs(), "require_certificate true\n")));
    EXPECT_NE(publish(broker.port(), with_client_cert()).status, 0);
    EXPECT_TRUE(broker.wait_for_log("anonymous clients are not allowed"));
}

TEST_F(TlsTest, Tls13OnlyRefusesATls12Client) {
    BrokerProcess broker(only("persistence false\n" + tls_block(certs(), "tls_version tlsv1.3\n")));
    // mosquitto_pub --tls-version tlsv1.2 still offers 1.3 (it sets a minimum), so the
    // TLS 1.2-only client is openssl s_client.
    const auto handshake = [&](const char* version) {
        return run_command({find_program("openssl"), "s_client", "-connect",
                            "127.0.0.1:" + std::to_string(broker.port()), version, "-CAfile",
                            (certs() / "ca.crt").string(), "-verify_return_error"},
                           15s);
    };
    EXPECT_NE(handshake("-tls1_2").status, 0);
    const CommandResult tls13 = handshake("-tls1_3");
    EXPECT_EQ(tls13.status, 0) << tls13.out << tls13.err;
    const CommandResult current = publish(broker.port(), trust());
    EXPECT_EQ(current.status, 0) << current.err;
}

TEST_F(TlsTest, StalledHandshakeNeitherBlocksOthersNorLivesPastConnectTimeout) {
    BrokerProcess broker(
        only("persistence false\nthreads 1\nconnect_timeout 1\n" + tls_block(certs())));
    RawSocket stalled(broker.port());  // TCP only, never a ClientHello
    ASSERT_TRUE(stalled.connected());
    // One worker thread, shared with the stalled connection.
    const CommandResult other = publish(broker.port(), trust());
    EXPECT_EQ(other.status, 0) << other.err;
    EXPECT_TRUE(stalled.closed_by_peer(5s));
}

TEST_F(TlsTest, GarbageInsteadOfAClientHelloClosesOnlyThatConnection) {
    BrokerProcess broker(only("persistence false\nthreads 1\n" + tls_block(certs())));
    auto paho = tls_paho(broker.port(), "bystander");
    ASSERT_NO_THROW(paho->connect(tls_paho_options(certs() / "ca.crt"))->wait());
    paho->start_consuming();
    paho->subscribe("tls/test", 1)->wait();

    RawSocket garbage(broker.port());
    ASSERT_TRUE(garbage.connected());
    garbage.send("GET / HTTP/1.1\r\nHost: petrel\r\n\r\n");
    EXPECT_TRUE(garbage.closed_by_peer(3s));
    EXPECT_TRUE(broker.wait_for_log("TLS handshake failed"));

    EXPECT_EQ(publish(broker.port(), trust(), "still here").status, 0);
    const mqtt::const_message_ptr got = paho->try_consume_message_for(5s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->to_string(), "still here");
    paho->disconnect()->wait();
}

TEST_F(TlsTest, ConnectionsMovedBetweenWorkersKeepTheirTlsSession) {
    constexpr unsigned kThreads = 2;
    BrokerProcess broker(only("persistence false\nthreads 2\n" + tls_block(certs())));
    // Several clients homed on each worker: whichever worker accepts them, some move.
    std::vector<std::unique_ptr<mqtt::async_client>> clients;
    // (Paho takes about 2 s for each TLS connect after its first; four clients suffice.)
    for (unsigned i = 0; i < 4; ++i) {
        const std::string id =
            client_id_on_worker("tls-" + std::to_string(i), i % kThreads, kThreads);
        auto client = tls_paho(broker.port(), id);
        ASSERT_NO_THROW(client->connect(tls_paho_options(certs() / "ca.crt"))->wait()) << id;
        expect_on_worker(broker, id, i % kThreads);
        client->start_consuming();
        client->subscribe("moved/" + id, 1)->wait();
        clients.push_back(std::move(client));
    }
    // Each one publishes to the next one's topic over its (moved) TLS session.
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const auto& next = clients[(i + 1) % clients.size()];
        clients[i]
            ->publish(mqtt::make_message("moved/" + next->get_client_id(),
                                         "from " + clients[i]->get_client_id(), 1, false))
            ->wait();
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const auto& previous = clients[(i + clients.size() - 1) % clients.size()];
        const mqtt::const_message_ptr got = clients[i]->try_consume_message_for(5s);
        ASSERT_TRUE(got) << clients[i]->get_client_id();
        EXPECT_EQ(got->to_string(), "from " + previous->get_client_id());
    }
    for (auto& client : clients) {
        client->disconnect()->wait();
    }
}

TEST_F(TlsTest, SighupReloadsCertificatesWithoutDroppingLiveConnections) {
    // The broker reads the files at fixed paths; new material is copied over them.
    const fs::path live = dir_.path() / "live";
    fs::create_directories(live);
    for (const char* name : {"ca.crt", "server.crt", "server.key"}) {
        fs::copy_file(certs() / name, live / name);
    }
    BrokerProcess broker(only("persistence false\n" + tls_block(live)));
    auto old_client = tls_paho(broker.port(), "long-lived");
    ASSERT_NO_THROW(old_client->connect(tls_paho_options(certs() / "ca.crt"))->wait());
    old_client->start_consuming();
    old_client->subscribe("tls/test", 1)->wait();

    const fs::path renewed = dir_.path() / "renewed";
    generate_certificates(renewed);  // a new CA: the old one no longer verifies the server
    for (const char* name : {"ca.crt", "server.crt", "server.key"}) {
        fs::copy_file(renewed / name, live / name, fs::copy_options::overwrite_existing);
    }
    ::kill(broker.pid(), SIGHUP);
    ASSERT_TRUE(broker.wait_for_log("certificate, key and CA reloaded"));

    EXPECT_NE(publish(broker.port(), trust()).status, 0);  // trusts only the old CA
    const CommandResult renewed_client =
        publish(broker.port(), {"--cafile", (renewed / "ca.crt").string()}, "after reload");
    EXPECT_EQ(renewed_client.status, 0) << renewed_client.err;

    // The connection made before the reload carries on.
    const mqtt::const_message_ptr got = old_client->try_consume_message_for(5s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->to_string(), "after reload");
    EXPECT_NO_THROW(old_client->publish(mqtt::make_message("tls/test", "old", 1, false))->wait());
    old_client->disconnect()->wait();

    // A broken file on reload keeps the current certificate.
    write_file(live / "server.key", "not a key\n");
    ::kill(broker.pid(), SIGHUP);
    ASSERT_TRUE(broker.wait_for_log("reload failed, keeping the current certificate"));
    EXPECT_EQ(publish(broker.port(), {"--cafile", (renewed / "ca.crt").string()}).status, 0);
}

// A config that should not start: petrel exits 1 naming FILE:LINE.
CommandResult start_with(const TempDir& dir, const std::string& config) {
    const fs::path path = dir.path() / "bad.conf";
    write_file(path, config);
    return run_command({PETREL_BINARY, "-c", path.string()}, 10s);
}

TEST_F(TlsTest, ListenerKeywordsOutsideAListenerOrIncompleteAreConfigErrors) {
    const std::string cert = (certs() / "server.crt").string();
    const std::string key = (certs() / "server.key").string();
    CommandResult result = start_with(dir_, "persistence false\ncertfile " + cert + "\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("bad.conf:2: 'certfile' applies to a listener"), std::string::npos)
        << result.err;

    result = start_with(dir_, "listener 0 127.0.0.1\ncertfile " + cert + "\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("bad.conf:1: TLS listener 0 needs both certfile and keyfile"),
              std::string::npos)
        << result.err;

    result = start_with(dir_, "listener 0 127.0.0.1\ncertfile " + cert + "\nkeyfile " + key +
                                  "\nrequire_certificate true\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("needs cafile or capath"), std::string::npos) << result.err;

    result = start_with(dir_, "listener 0 127.0.0.1\ncertfile " + cert + "\nkeyfile " + key +
                                  "\ntls_version tlsv1.0\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("bad.conf:4: bad value for 'tls_version'"), std::string::npos)
        << result.err;

    // A key that does not belong to the certificate stops start-up, naming the file.
    result = start_with(dir_, "persistence false\nlistener 0 127.0.0.1\ncertfile " + cert +
                                  "\nkeyfile " + (certs() / "client.key").string() + "\n");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("cannot load keyfile " + (certs() / "client.key").string()),
              std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace petrel::test
