// Outgoing connections (Connector, TlsClientContext) against real loopback listeners on
// the same event loop: plain TCP, the TLS client role with the certificates made by
// tls/gen-certs.sh, and every way an attempt can fail. Only loopback addresses are used.
#include "petrel/net/connector.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net_test_util.hpp"
#include "petrel/net/listener.hpp"
#include "petrel/net/tls_client_context.hpp"
#include "petrel/net/tls_context.hpp"
#include "tls_test_util.hpp"

namespace petrel::net {
namespace {

using namespace std::chrono_literals;
using test::LoopThread;
using test::ScratchDir;
using test::wait_until;

// Two independent sets from tls/gen-certs.sh: "a" for the servers, "b" for a wrong CA.
const ScratchDir& certificates() {
    static const ScratchDir dir;
    static const bool made = [] {
        for (const char* set : {"a", "b"}) {
            const std::string command = std::string(PETREL_SOURCE_DIR) + "/tls/gen-certs.sh -o " +
                                        dir.file(set) + " >/dev/null 2>&1";
            if (std::system(command.c_str()) != 0) {
                throw std::runtime_error("tls/gen-certs.sh failed (is openssl installed?)");
            }
        }
        return true;
    }();
    (void)made;
    return dir;
}

std::string cert(const std::string& set, const std::string& name) {
    return certificates().file(set + "/" + name);
}

std::shared_ptr<TlsContext> server_tls(const std::string& certfile, const std::string& keyfile,
                                       bool require_client_certificate = false) {
    TlsSettings settings;
    settings.certfile = certfile;
    settings.keyfile = keyfile;
    if (require_client_certificate) {
        settings.cafile = cert("a", "ca.crt");
        settings.require_certificate = true;
    }
    return std::make_shared<TlsContext>(settings);
}

// A loopback echo server on the test's loop (plain, or TLS with `tls`). What it saw is
// read from the test thread under `mutex`.
class EchoServer {
  public:
    EchoServer(LoopThread& loop, std::shared_ptr<TlsContext> tls = nullptr)
        : loop_(loop), listener_("127.0.0.1", 0), tls_(std::move(tls)) {
        loop_.call([this] {
            loop_.loop.watch(listener_.fd(), EPOLLIN, [this](std::uint32_t) { accept_all(); });
        });
    }
    ~EchoServer() {
        loop_.call([this] {
            loop_.loop.unwatch(listener_.fd());
            streams_.clear();
        });
    }

    std::uint16_t port() const { return listener_.port(); }

    std::mutex mutex;
    std::vector<std::string> client_names;  // verified client certificate CNs ("" for none)
    std::vector<std::string> tls_errors;    // handshakes that failed

  private:
    void accept_all() {
        while (auto accepted = listener_.accept()) {
            TlsSessionPtr session = tls_ ? tls_->new_session(accepted->fd) : nullptr;
            // The callbacks need the stream, which does not exist yet when they are made.
            auto self = std::make_shared<Stream*>(nullptr);
            Stream::Callbacks callbacks;
            callbacks.on_data = [this, self](std::string& input) {
                Stream& stream = **self;
                if (!greeted_.contains(&stream)) {
                    greeted_.insert(&stream);
                    const std::lock_guard lock(mutex);
                    client_names.push_back(stream.tls_peer_common_name().value_or(""));
                }
                stream.send(std::move(input));
                input.clear();
            };
            callbacks.on_close = [this, self](std::error_code) {
                const std::lock_guard lock(mutex);
                if (!(*self)->tls_error().empty()) {
                    tls_errors.push_back((*self)->tls_error());
                }
            };
            auto stream =
                std::make_unique<Stream>(loop_.loop, accepted->fd, accepted->peer,
                                         std::move(callbacks), std::string(), std::move(session));
            *self = stream.get();
            streams_.push_back(std::move(stream));
        }
    }

    LoopThread& loop_;
    Listener listener_;
    std::shared_ptr<TlsContext> tls_;
    std::vector<std::unique_ptr<Stream>> streams_;  // loop thread
    std::set<const Stream*> greeted_;               // loop thread
};

// A port nothing listens on (bound for a moment, then released).
std::uint16_t closed_port() {
    Listener listener("127.0.0.1", 0);
    return listener.port();
}

Endpoint at(const std::string& host, std::uint16_t port) {
    return Endpoint{host, port};
}

// One Connector on the test's loop and what came of it.
class Client {
  public:
    Client(LoopThread& loop, ConnectOptions options) : loop_(loop) {
        loop_.call([&] {
            Stream::Callbacks callbacks;
            callbacks.on_data = [this](std::string& input) {
                const std::lock_guard lock(mutex_);
                data_ += input;
                input.clear();
            };
            callbacks.on_close = [this](std::error_code error) {
                const std::lock_guard lock(mutex_);
                closed_ = error;
            };
            connector_ = std::make_unique<Connector>(
                loop_.loop, std::move(options), std::move(callbacks),
                [this](std::unique_ptr<Stream> stream, std::size_t endpoint) {
                    stream_ = std::move(stream);
                    const std::lock_guard lock(mutex_);
                    ++callbacks_;
                    endpoint_ = endpoint;
                },
                [this](const ConnectError& error) {
                    const std::lock_guard lock(mutex_);
                    ++callbacks_;
                    error_ = error;
                });
            connector_->start();
        });
    }
    ~Client() {
        loop_.call([this] {
            connector_.reset();
            stream_.reset();
        });
    }

    bool wait_done(std::chrono::milliseconds timeout = 10s) {
        return wait_until([this] { return callbacks() > 0; }, timeout);
    }
    int callbacks() {
        const std::lock_guard lock(mutex_);
        return callbacks_;
    }
    std::optional<std::size_t> endpoint() {
        const std::lock_guard lock(mutex_);
        return endpoint_;
    }
    std::optional<ConnectError> error() {
        const std::lock_guard lock(mutex_);
        return error_;
    }
    std::string data() {
        const std::lock_guard lock(mutex_);
        return data_;
    }
    std::optional<std::error_code> closed() {
        const std::lock_guard lock(mutex_);
        return closed_;
    }
    void send(std::string bytes) {
        loop_.call([&] { stream_->send(std::move(bytes)); });
    }
    // Sends `text` and waits for the echo server to return it.
    bool echoes(const std::string& text) {
        send(text);
        return wait_until([&] { return data().find(text) != std::string::npos; });
    }
    std::string peer() {
        return loop_.call([this] { return stream_ ? stream_->peer() : std::string(); });
    }
    bool is_tls() {
        return loop_.call([this] { return stream_ && stream_->is_tls(); });
    }
    void cancel() {
        loop_.call([this] { connector_.reset(); });
    }

  private:
    LoopThread& loop_;
    std::unique_ptr<Connector> connector_;  // loop thread
    std::unique_ptr<Stream> stream_;        // loop thread
    std::mutex mutex_;
    int callbacks_ = 0;
    std::optional<std::size_t> endpoint_;
    std::optional<ConnectError> error_;
    std::string data_;
    std::optional<std::error_code> closed_;
};

ConnectOptions plain(std::vector<Endpoint> endpoints, std::chrono::milliseconds timeout = 5s) {
    ConnectOptions options;
    options.endpoints = std::move(endpoints);
    options.timeout = timeout;
    return options;
}

ConnectOptions secure(std::vector<Endpoint> endpoints, TlsClientSettings settings,
                      std::chrono::milliseconds timeout = 5s) {
    ConnectOptions options = plain(std::move(endpoints), timeout);
    options.tls = std::make_shared<TlsClientContext>(std::move(settings));
    return options;
}

TlsClientSettings trusting(const std::string& cafile) {
    TlsClientSettings settings;
    settings.cafile = cafile;
    return settings;
}

// --- endpoints ----------------------------------------------------------------------

TEST(EndpointTest, ParsesHostAndPort) {
    EXPECT_EQ(parse_endpoint("broker.example:1883")->host, "broker.example");
    EXPECT_EQ(parse_endpoint("broker.example:1883")->port, 1883);
    EXPECT_EQ(parse_endpoint("127.0.0.1:8883")->host, "127.0.0.1");
    EXPECT_EQ(parse_endpoint("[::1]:8883")->host, "::1");
    EXPECT_EQ(parse_endpoint("[::1]:8883")->to_string(), "[::1]:8883");
    EXPECT_EQ(parse_endpoint("localhost:1")->to_string(), "localhost:1");
    for (const char* bad : {"", "host", "host:", ":1883", "host:0", "host:65536", "host:12a",
                            "::1:1883", "[::1]", "[::1]1883", "[]:1883"}) {
        EXPECT_FALSE(parse_endpoint(bad)) << bad;
    }
}

// --- plain TCP ----------------------------------------------------------------------

TEST(ConnectorTest, ConnectsToALoopbackListenerAndExchangesBytes) {
    LoopThread loop;
    EchoServer server(loop);
    Client client(loop, plain({at("127.0.0.1", server.port())}));
    ASSERT_TRUE(client.wait_done());
    ASSERT_FALSE(client.error()) << client.error()->message();
    EXPECT_EQ(client.endpoint(), 0U);
    EXPECT_EQ(client.peer(), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_FALSE(client.is_tls());
    EXPECT_TRUE(client.echoes("hello over TCP"));
}

TEST(ConnectorTest, ResolvesAHostNameOffTheLoop) {
    // "localhost" goes through getaddrinfo (on the helper thread); it may give ::1 first,
    // where nothing listens: that address is refused and 127.0.0.1 is tried next.
    LoopThread loop;
    EchoServer server(loop);
    Client client(loop, plain({at("localhost", server.port())}));
    ASSERT_TRUE(client.wait_done());
    ASSERT_FALSE(client.error()) << client.error()->message();
    EXPECT_TRUE(client.echoes("by name"));
}

TEST(ConnectorTest, ARefusedPortIsReportedWithItsAddress) {
    LoopThread loop;
    const std::uint16_t port = closed_port();
    Client client(loop, plain({at("127.0.0.1", port)}));
    ASSERT_TRUE(client.wait_done());
    ASSERT_TRUE(client.error());
    const ConnectError error = *client.error();
    ASSERT_EQ(error.attempts.size(), 1U);
    EXPECT_EQ(error.attempts[0].failure, ConnectFailure::Refused);
    EXPECT_EQ(error.attempts[0].address, "127.0.0.1:" + std::to_string(port) + " (127.0.0.1)");
    EXPECT_NE(error.message().find("Connection refused"), std::string::npos) << error.message();
}

TEST(ConnectorTest, TriesTheEndpointsInTurn) {
    LoopThread loop;
    EchoServer server(loop);
    const std::uint16_t refused = closed_port();
    Client client(loop, plain({at("127.0.0.1", refused), at("127.0.0.1", server.port())}));
    ASSERT_TRUE(client.wait_done());
    ASSERT_FALSE(client.error()) << client.error()->message();
    EXPECT_EQ(client.endpoint(), 1U);
    EXPECT_TRUE(client.echoes("second one"));
}

TEST(ConnectorTest, ReportsEveryAttemptWhenAllFail) {
    LoopThread loop;
    const std::uint16_t first = closed_port();
    const std::uint16_t second = closed_port();
    // A 64-byte label is not a valid DNS name: the lookup fails before any query is sent,
    // so the test stays off the network.
    const std::string unresolvable = std::string(64, 'a') + ".invalid";
    Client client(loop, plain({at("127.0.0.1", first), at("::1", second), at(unresolvable, 1883)}));
    ASSERT_TRUE(client.wait_done());
    ASSERT_TRUE(client.error());
    const ConnectError error = *client.error();
    ASSERT_EQ(error.attempts.size(), 3U) << error.message();
    EXPECT_EQ(error.attempts[0].failure, ConnectFailure::Refused);
    // ::1 is refused, or unreachable on a host without IPv6.
    EXPECT_NE(error.attempts[1].failure, ConnectFailure::TimedOut);
    EXPECT_EQ(error.attempts[1].address.rfind("[::1]:" + std::to_string(second), 0), 0U);
    EXPECT_EQ(error.attempts[2].failure, ConnectFailure::Resolve);
    EXPECT_EQ(error.attempts[2].address, unresolvable + ":1883");
    EXPECT_EQ(client.callbacks(), 1);
}

TEST(ConnectorTest, ConnectTimesOutOnAFullAcceptQueueWithoutBlockingTheLoop) {
    LoopThread loop;
    // A listener that never accepts, its queue filled: further SYNs are dropped, so a
    // connect stays in progress (loopback's stand-in for a black-holed address).
    Listener full("127.0.0.1", 0, 0);
    std::vector<int> fillers;
    bool stuck = false;
    for (int i = 0; i < 16 && !stuck; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(full.port());
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        fillers.push_back(fd);
        pollfd p{fd, POLLOUT, 0};
        stuck = ::poll(&p, 1, 200) == 0;  // this one did not complete: the queue is full
    }
    ASSERT_TRUE(stuck) << "could not fill the accept queue";

    EchoServer other(loop);
    const auto started = std::chrono::steady_clock::now();
    // A timeout long enough that the neighbour below is served before it, even on a
    // loaded machine.
    Client client(loop, plain({at("127.0.0.1", full.port())}, 1000ms));
    // Meanwhile the loop serves others.
    Client neighbour(loop, plain({at("127.0.0.1", other.port())}));
    ASSERT_TRUE(neighbour.wait_done());
    EXPECT_TRUE(neighbour.echoes("not blocked"));
    EXPECT_EQ(client.callbacks(), 0);

    ASSERT_TRUE(client.wait_done());
    const auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_GE(elapsed, 1000ms);
    EXPECT_LT(elapsed, 6s);
    ASSERT_TRUE(client.error());
    const ConnectError error = *client.error();
    ASSERT_EQ(error.attempts.size(), 1U);
    EXPECT_EQ(error.attempts[0].failure, ConnectFailure::TimedOut);
    EXPECT_NE(error.attempts[0].reason.find("TCP connect timed out after 1000 ms"),
              std::string::npos)
        << error.attempts[0].reason;
    for (const int fd : fillers) {
        ::close(fd);
    }
}

// A listener whose connections the kernel completes but nobody ever reads: the TCP
// connect succeeds and a TLS handshake waits forever.
struct SilentServer {
    Listener listener{"127.0.0.1", 0};
};

TEST(ConnectorTest, TlsHandshakeTimesOutOnASilentServer) {
    LoopThread loop;
    SilentServer silent;
    Client client(loop, secure({at("127.0.0.1", silent.listener.port())},
                               trusting(cert("a", "ca.crt")), 300ms));
    ASSERT_TRUE(client.wait_done());
    ASSERT_TRUE(client.error());
    const ConnectError error = *client.error();
    ASSERT_EQ(error.attempts.size(), 1U);
    EXPECT_EQ(error.attempts[0].failure, ConnectFailure::TimedOut);
    EXPECT_NE(error.attempts[0].reason.find("TLS handshake timed out"), std::string::npos)
        << error.attempts[0].reason;
}

TEST(ConnectorTest, ATimedOutEndpointGivesWayToTheNext) {
    // One second: the second attempt, a real handshake, must fit in it on a loaded machine.
    LoopThread loop;
    SilentServer silent;
    EchoServer server(loop, server_tls(cert("a", "server.crt"), cert("a", "server.key")));
    Client client(loop,
                  secure({at("127.0.0.1", silent.listener.port()), at("127.0.0.1", server.port())},
                         trusting(cert("a", "ca.crt")), 1s));
    ASSERT_TRUE(client.wait_done());
    ASSERT_FALSE(client.error()) << client.error()->message();
    EXPECT_EQ(client.endpoint(), 1U);
    EXPECT_TRUE(client.echoes("after a timeout"));
}

TEST(ConnectorTest, CancellingMidConnectCallsNothing) {
    LoopThread loop;
    SilentServer silent;
    {
        // A timeout far beyond the cancel, so that a slow machine cannot let it fire first.
        Client client(loop, secure({at("127.0.0.1", silent.listener.port())},
                                   trusting(cert("a", "ca.crt")), 1000ms));
        std::this_thread::sleep_for(50ms);  // connected, handshake pending
        client.cancel();
        std::this_thread::sleep_for(1300ms);  // past the timeout
        EXPECT_EQ(client.callbacks(), 0);
    }
    {
        // Cancelled while the name is being resolved on the helper thread: started and
        // destroyed in one turn of the loop, so the lookup's answer cannot have come yet.
        std::atomic<int> calls{0};
        loop.call([&] {
            Connector connector(
                loop.loop, plain({at("localhost", silent.listener.port())}, 200ms),
                Stream::Callbacks{}, [&](std::unique_ptr<Stream>, std::size_t) { ++calls; },
                [&](const ConnectError&) { ++calls; });
            connector.start();
        });
        std::this_thread::sleep_for(400ms);
        EXPECT_EQ(calls.load(), 0);
    }
    // The loop still works.
    EXPECT_EQ(loop.call([] { return 42; }), 42);
}

TEST(ConnectorTest, TheCallbackMayDestroyTheConnector) {
    LoopThread loop;
    EchoServer server(loop);
    const std::uint16_t refused = closed_port();
    std::unique_ptr<Connector> connector;
    std::unique_ptr<Stream> stream;
    std::atomic<int> calls{0};
    for (const std::uint16_t port : {server.port(), refused}) {
        loop.call([&] {
            connector = std::make_unique<Connector>(
                loop.loop, plain({at("127.0.0.1", port)}), Stream::Callbacks{},
                [&](std::unique_ptr<Stream> s, std::size_t) {
                    connector.reset();
                    stream = std::move(s);
                    ++calls;
                },
                [&](const ConnectError&) {
                    connector.reset();
                    ++calls;
                });
            connector->start();
        });
    }
    ASSERT_TRUE(wait_until([&] { return calls == 2; }));
    EXPECT_EQ(loop.call([&] { return connector == nullptr && stream != nullptr; }), true);
    loop.call([&] { stream.reset(); });
}

TEST(ConnectorTest, StartsOverForAReconnect) {
    LoopThread loop;
    EchoServer server(loop);
    std::unique_ptr<Connector> connector;
    std::vector<std::unique_ptr<Stream>> streams;
    std::atomic<int> connected{0};
    loop.call([&] {
        connector = std::make_unique<Connector>(
            loop.loop, plain({at("127.0.0.1", server.port())}), Stream::Callbacks{},
            [&](std::unique_ptr<Stream> s, std::size_t) {
                streams.push_back(std::move(s));
                ++connected;
            },
            nullptr);
        connector->start();
        connector->start();  // ignored while connecting
    });
    ASSERT_TRUE(wait_until([&] { return connected == 1; }));
    EXPECT_FALSE(loop.call([&] { return connector->connecting(); }));
    loop.call([&] { connector->start(); });
    ASSERT_TRUE(wait_until([&] { return connected == 2; }));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(connected, 2);
    loop.call([&] {
        connector.reset();
        streams.clear();
    });
}

// --- TLS ----------------------------------------------------------------------------

TEST(ConnectorTlsTest, VerifiesTheServerWithTheProjectCa) {
    LoopThread loop;
    EchoServer server(loop, server_tls(cert("a", "server.crt"), cert("a", "server.key")));
    // The certificate names localhost and 127.0.0.1: both the DNS and the IP check pass.
    for (const char* host : {"127.0.0.1", "localhost"}) {
        Client client(loop, secure({at(host, server.port())}, trusting(cert("a", "ca.crt"))));
        ASSERT_TRUE(client.wait_done()) << host;
        ASSERT_FALSE(client.error()) << host << ": " << client.error()->message();
        EXPECT_TRUE(client.is_tls());
        EXPECT_TRUE(client.echoes(std::string("secret via ") + host));
    }
}

TEST(ConnectorTlsTest, TlsOneThreeOnly) {
    LoopThread loop;
    EchoServer server(loop, server_tls(cert("a", "server.crt"), cert("a", "server.key")));
    TlsClientSettings settings = trusting(cert("a", "ca.crt"));
    settings.min_version = TlsVersion::Tls13;
    settings.alpn = {"mqtt"};  // offered; this server picks none, which is accepted
    Client client(loop, secure({at("127.0.0.1", server.port())}, settings));
    ASSERT_TRUE(client.wait_done());
    ASSERT_FALSE(client.error()) << client.error()->message();
    EXPECT_TRUE(client.echoes("1.3"));
}

TEST(ConnectorTlsTest, AWrongCaFailsWithOpenSslsReason) {
    LoopThread loop;
    EchoServer server(loop, server_tls(cert("a", "server.crt"), cert("a", "server.key")));
    Client client(loop, secure({at("127.0.0.1", server.port())}, trusting(cert("b", "ca.crt"))));
    ASSERT_TRUE(client.wait_done());
    ASSERT_TRUE(client.error());
    const ConnectError error = *client.error();
    ASSERT_EQ(error.attempts.size(), 1U);
    EXPECT_EQ(error.attempts[0].failure, ConnectFailure::Tls);
    EXPECT_NE(error.attempts[0].reason.find("server certificate: unable to get local issuer"),
              std::string::npos)
        << error.attempts[0].reason;
    EXPECT_NE(error.attempts[0].reason.find("certificate verify failed"), std::string::npos)
        << error.attempts[0].reason;
}

TEST(ConnectorTlsTest, AWrongHostNameFailsUnlessInsecure) {
    LoopThread loop;
    // A certificate for another name, trusted as its own CA: only the name is wrong.
    const ScratchDir dir;
    test::make_self_signed(dir.file("other.crt"), dir.file("other.key"), "other.example");
    EchoServer server(loop, server_tls(dir.file("other.crt"), dir.file("other.key")));
    for (const char* host : {"localhost", "127.0.0.1"}) {
        Client client(loop, secure({at(host, server.port())}, trusting(dir.file("other.crt"))));
        ASSERT_TRUE(client.wait_done()) << host;
        ASSERT_TRUE(client.error()) << host;
        const ConnectError error = *client.error();
        ASSERT_FALSE(error.attempts.empty());
        EXPECT_EQ(error.attempts.back().failure, ConnectFailure::Tls);
        EXPECT_NE(error.attempts.back().reason.find("mismatch"), std::string::npos)
            << error.attempts.back().reason;
    }
    TlsClientSettings insecure = trusting(dir.file("other.crt"));
    insecure.insecure = true;
    Client client(loop, secure({at("127.0.0.1", server.port())}, insecure));
    ASSERT_TRUE(client.wait_done());
    ASSERT_FALSE(client.error()) << client.error()->message();
    EXPECT_TRUE(client.echoes("name not checked"));
}

TEST(ConnectorTlsTest, InsecureStillVerifiesTheChain) {
    LoopThread loop;
    EchoServer server(loop, server_tls(cert("a", "server.crt"), cert("a", "server.key")));
    TlsClientSettings settings = trusting(cert("b", "ca.crt"));
    settings.insecure = true;
    Client client(loop, secure({at("127.0.0.1", server.port())}, settings));
    ASSERT_TRUE(client.wait_done());
    ASSERT_TRUE(client.error());
    EXPECT_EQ(client.error()->attempts[0].failure, ConnectFailure::Tls);
}

TEST(ConnectorTlsTest, PresentsAClientCertificateToAServerRequiringOne) {
    LoopThread loop;
    EchoServer server(loop, server_tls(cert("a", "server.crt"), cert("a", "server.key"),
                                       /*require_client_certificate=*/true));
    TlsClientSettings settings = trusting(cert("a", "ca.crt"));
    settings.certfile = cert("a", "client.crt");
    settings.keyfile = cert("a", "client.key");
    Client client(loop, secure({at("localhost", server.port())}, settings));
    ASSERT_TRUE(client.wait_done());
    ASSERT_FALSE(client.error()) << client.error()->message();
    EXPECT_TRUE(client.echoes("with my certificate"));
    const std::lock_guard lock(server.mutex);
    ASSERT_EQ(server.client_names.size(), 1U);
    EXPECT_EQ(server.client_names[0], "petrel-client");
}

TEST(ConnectorTlsTest, WithoutTheRequiredClientCertificateTheStreamCloses) {
    // TLS 1.3: the client's handshake is over before the server checks, so the refusal
    // arrives as the stream closing with the server's alert.
    LoopThread loop;
    EchoServer server(loop, server_tls(cert("a", "server.crt"), cert("a", "server.key"),
                                       /*require_client_certificate=*/true));
    Client client(loop, secure({at("127.0.0.1", server.port())}, trusting(cert("a", "ca.crt"))));
    ASSERT_TRUE(client.wait_done());
    if (!client.error()) {
        client.send("anyone there?");
        ASSERT_TRUE(wait_until([&] { return client.closed().has_value(); }));
        EXPECT_TRUE(client.data().empty());
    }
    ASSERT_TRUE(wait_until([&] {
        const std::lock_guard lock(server.mutex);
        return !server.tls_errors.empty();
    }));
    const std::lock_guard lock(server.mutex);
    EXPECT_NE(server.tls_errors[0].find("certificate"), std::string::npos) << server.tls_errors[0];
}

// --- client context errors ------------------------------------------------------------

std::string construction_error(const TlsClientSettings& settings) {
    try {
        TlsClientContext context(settings);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

TEST(TlsClientContextTest, ErrorsNameTheFileAtFault) {
    TlsClientSettings settings;
    settings.cafile = "/nonexistent/ca.crt";
    EXPECT_NE(construction_error(settings).find("/nonexistent/ca.crt"), std::string::npos);

    settings = trusting(cert("a", "ca.crt"));
    settings.certfile = "/nonexistent/client.crt";
    settings.keyfile = cert("a", "client.key");
    EXPECT_NE(construction_error(settings).find("certfile /nonexistent/client.crt"),
              std::string::npos);

    settings.certfile = cert("a", "client.crt");
    settings.keyfile = cert("a", "ca.crt");  // not a key
    EXPECT_NE(construction_error(settings).find("keyfile " + cert("a", "ca.crt")),
              std::string::npos);

    settings.keyfile = cert("b", "client.key");  // another certificate's key
    const std::string mismatch = construction_error(settings);
    EXPECT_NE(mismatch.find("keyfile " + cert("b", "client.key")), std::string::npos) << mismatch;
    EXPECT_NE(mismatch.find("mismatch"), std::string::npos) << mismatch;

    settings.keyfile.clear();
    EXPECT_NE(construction_error(settings).find("without a keyfile"), std::string::npos);

    settings = trusting(cert("a", "ca.crt"));
    settings.alpn = {""};
    EXPECT_NE(construction_error(settings).find("ALPN"), std::string::npos);

    EXPECT_EQ(construction_error(trusting(cert("a", "ca.crt"))), "");
}

}  // namespace
}  // namespace petrel::net
