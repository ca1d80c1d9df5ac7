// A thousand TLS handshakes at once against the real broker. The test process opens 1 000
// TCP connections to a TLS listener in one go and starts a handshake on each with
// non-blocking OpenSSL clients: half complete it and then MQTT CONNECT; the other half
// send their ClientHello and stall. Meanwhile a TLS client (Paho) and a plain one keep
// publishing to each other and must get every message. Afterwards every completed
// client has its CONNACK, every stalled one was dropped at connect_timeout (not before),
// and the broker still serves.
//
// 1 000 descriptors on each side is beyond the usual soft limit of 1 024: the test raises
// its own to the hard limit, and starts the broker with a soft limit of 1 024 so that it
// must raise its own too (Petrel does so at start-up).
#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "petrel/protocol/codec.hpp"
#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_support.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kConnections = 1000;  // every second one stalls after its ClientHello

#if defined(__SANITIZE_ADDRESS__) || defined(PETREL_SANITIZED_BROKER)
constexpr int kSlowdown = 3;  // the broker is built the same way as this test
#else
constexpr int kSlowdown = 1;
#endif
// Long enough for 500 handshakes and CONNECTs on a loaded two-core machine.
constexpr int kConnectTimeoutSeconds = 4 * kSlowdown;

std::chrono::milliseconds ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// RLIMIT_NOFILE's soft limit, set to `soft`; false with the reason in `error`.
bool set_soft_file_limit(rlim_t soft, std::string& error) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = std::min(soft, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        error = std::strerror(errno);
        return false;
    }
    return true;
}

rlim_t hard_file_limit() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_max;
}

// "Max open files" soft limit of `pid`, from /proc.
std::string soft_file_limit_of(pid_t pid) {
    std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(limits, line);) {
        if (line.rfind("Max open files", 0) == 0) {
            std::istringstream fields(line.substr(std::string("Max open files").size()));
            std::string soft;
            fields >> soft;
            return soft;
        }
    }
    return "";
}

// One of the thousand: a non-blocking socket and, on top of it, an OpenSSL client.
struct FloodConnection {
    enum class State {
        Connecting,   // TCP connect in progress
        Handshaking,  // completing kind: SSL_connect until done
        Sending,      // CONNECT being written
        Awaiting,     // waiting for the CONNACK
        Connected,    // CONNACK received; stays open until the end
        Stalled,      // stalling kind: ClientHello sent, nothing more; waits for the close
        Dropped,      // stalled, and closed by the broker (as it should)
        Failed,       // anything else: `error` says what
    };

    int fd = -1;
    SSL* ssl = nullptr;
    bool stalls = false;
    State state = State::Connecting;
    bool wants_write = false;  // the last SSL call wanted the socket writable
    std::string connect;       // the CONNECT it sends once its handshake is done
    std::string hello;         // a stalling connection's ClientHello
    std::size_t hello_sent = 0;
    std::string in;  // CONNACK bytes so far
    Clock::time_point opened;
    Clock::time_point finished;  // CONNACK received, or dropped
    std::string error;

    ~FloodConnection() {
        SSL_free(ssl);
        if (fd >= 0) {
            ::close(fd);
        }
    }
    bool active() const {
        return state != State::Connected && state != State::Dropped && state != State::Failed;
    }
    short events() const {
        if (state == State::Connecting) {
            return POLLOUT;
        }
        return wants_write ? POLLOUT : POLLIN;
    }
    void fail(std::string why) {
        state = State::Failed;
        error = std::move(why);
        ERR_clear_error();
    }
    // Classifies an SSL call's result: true to carry on later, false when it failed.
    bool waits(int result, const char* what) {
        const int code = SSL_get_error(ssl, result);
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
            wants_write = code == SSL_ERROR_WANT_WRITE;
            return true;
        }
        char reason[256] = "";
        ERR_error_string_n(ERR_peek_error(), reason, sizeof reason);
        fail(std::string(what) + " failed (" + std::to_string(code) + ") " + reason);
        return false;
    }
    // A stalling connection's ClientHello, made by OpenSSL into memory and written to the
    // socket by hand: with the socket itself under it, OpenSSL would read the broker's
    // answer straight away and might finish the handshake.
    void send_hello_and_stall() {
        if (hello.empty()) {
            BIO* input = BIO_new(BIO_s_mem());
            BIO* output = BIO_new(BIO_s_mem());
            BIO_set_mem_eof_return(input, -1);  // empty: "try again", not end of stream
            SSL_set_bio(ssl, input, output);
            ERR_clear_error();
            if (SSL_connect(ssl) == 1 || BIO_pending(output) <= 0) {
                fail("no ClientHello");
                return;
            }
            char* bytes = nullptr;
            const long size = BIO_get_mem_data(output, &bytes);
            hello.assign(bytes, static_cast<std::size_t>(size));
        }
        const ssize_t sent =
            ::send(fd, hello.data() + hello_sent, hello.size() - hello_sent, MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN && errno != EINTR) {
            fail(std::string("ClientHello: ") + std::strerror(errno));
            return;
        }
        hello_sent += sent > 0 ? static_cast<std::size_t>(sent) : 0;
        wants_write = hello_sent < hello.size();
        if (!wants_write) {
            state = State::Stalled;
        }
    }

    // Advances on a socket event.
    void step() {
        switch (state) {
            case State::Connecting: {
                int error_code = 0;
                socklen_t length = sizeof error_code;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error_code, &length);
                if (error_code != 0) {
                    fail(std::string("TCP connect: ") + std::strerror(error_code));
                    return;
                }
                state = State::Handshaking;
                [[fallthrough]];
            }
            case State::Handshaking: {
                if (stalls) {
                    send_hello_and_stall();
                    return;
                }
                ERR_clear_error();
                const int result = SSL_connect(ssl);
                if (result != 1) {
                    waits(result, "handshake");
                    return;
                }
                state = State::Sending;
                [[fallthrough]];
            }
            case State::Sending: {
                ERR_clear_error();
                std::size_t written = 0;
                // A write that waited is retried with the same bytes, as OpenSSL requires.
                const int result = SSL_write_ex(ssl, connect.data(), connect.size(), &written);
                if (result != 1) {
                    waits(result, "CONNECT write");
                    return;
                }
                wants_write = false;
                state = State::Awaiting;
                return;
            }
            case State::Awaiting: {
                char buffer[64];
                ERR_clear_error();
                std::size_t got = 0;
                const int result = SSL_read_ex(ssl, buffer, sizeof buffer, &got);
                if (result != 1) {
                    waits(result, "CONNACK read");
                    return;
                }
                in.append(buffer, got);
                if (in.size() >= 4) {
                    if (in.substr(0, 4) != std::string("\x20\x02\x00\x00", 4)) {
                        fail("not a successful CONNACK");
                        return;
                    }
                    state = State::Connected;
                    finished = Clock::now();
                }
                return;
            }
            case State::Stalled: {
                // The broker's handshake answer, then its close: read raw and discard.
                char buffer[8192];
                const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    state = State::Dropped;
                    finished = Clock::now();
                }
                return;
            }
            default:
                return;
        }
    }
};

// A non-blocking TCP connect to 127.0.0.1:`port`; -1 on failure.
int start_connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
        errno != EINPROGRESS) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A TLS client (Paho) and a plain one (RawClient), each subscribed to good/#, publishing in
// turn: every round both must receive both messages.
class WellBehavedTraffic {
  public:
    WellBehavedTraffic(std::uint16_t plain_port, std::uint16_t tls_port, const fs::path& ca)
        : plain_(plain_port, ProtocolVersion::V311), tls_(tls_paho(tls_port, "tls-good")) {
        EXPECT_TRUE(plain_.connect("plain-good"));
        EXPECT_TRUE(plain_.subscribe("good/#", 1));
        tls_->connect(tls_paho_options(ca))->wait();
        tls_->start_consuming();
        tls_->subscribe("good/#", 1)->wait();
    }
    ~WellBehavedTraffic() {
        stop();
        try {
            tls_->disconnect()->wait();
        } catch (const std::exception&) {
        }
    }

    // One round; false (with `failure_`) when a message is missing.
    bool round() {
        const auto started = Clock::now();
        const std::chrono::milliseconds patience = 10s * kSlowdown;
        const std::string n = std::to_string(rounds_);
        const std::set<std::string> expected = {"plain " + n, "tls " + n};
        if (!plain_.publish("good/plain", "plain " + n, 1)) {
            return failed("the plain client's publish " + n + " was not acknowledged");
        }
        try {
            if (!tls_->publish(mqtt::make_message("good/tls", "tls " + n, 1, false))
                     ->wait_for(patience)) {
                return failed("the TLS client's publish " + n + " was not acknowledged");
            }
        } catch (const std::exception& error) {
            return failed(std::string("the TLS client's publish failed: ") + error.what());
        }
        std::set<std::string> plain_got;
        for (int i = 0; i < 2; ++i) {
            auto got = plain_.receive_publish(patience);
            if (!got) {
                return failed("the plain client missed a message of round " + n);
            }
            plain_got.insert(payload_of(*got));
        }
        std::set<std::string> tls_got;
        for (int i = 0; i < 2; ++i) {
            const mqtt::const_message_ptr got = tls_->try_consume_message_for(patience);
            if (!got) {
                return failed("the TLS client missed a message of round " + n);
            }
            tls_got.insert(got->to_string());
        }
        if (plain_got != expected || tls_got != expected) {
            return failed("round " + n + ": wrong messages");
        }
        ++rounds_;
        worst_ = std::max(worst_, ms_since(started));
        return true;
    }

    // Rounds on a thread of their own until stop().
    void start() {
        thread_ = std::thread([this] {
            while (!stopping_ && round()) {
            }
        });
    }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    int rounds() const { return rounds_; }
    std::chrono::milliseconds worst_round() const { return worst_; }
    const std::string& failure() const { return failure_; }

  private:
    bool failed(std::string why) {
        failure_ = std::move(why);
        return false;
    }

    RawClient plain_;
    std::unique_ptr<mqtt::async_client> tls_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    int rounds_ = 0;  // written by the thread, read after stop()
    std::chrono::milliseconds worst_{0};
    std::string failure_;
};

TEST(TlsFloodTest, AThousandSimultaneousHandshakesWhileOthersKeepTalking) {
    ignore_sigpipe();
    const rlim_t hard = hard_file_limit();
    constexpr rlim_t kNeeded = 2 * kConnections + 200;  // theirs and ours, plus the rest
    ASSERT_GE(hard, kNeeded) << "the hard RLIMIT_NOFILE (" << hard << ") is too low for "
                             << kConnections << " connections (ulimit -Hn)";
    TempDir dir;
    generate_certificates(dir.path() / "certs");
    const fs::path certs = dir.path() / "certs";

    // The broker starts with the common soft limit of 1 024 and must raise it itself.
    std::string error;
    ASSERT_TRUE(set_soft_file_limit(1024, error)) << error;
    BrokerProcess broker(only("persistence false\nthreads 2\nconnect_timeout " +
                              std::to_string(kConnectTimeoutSeconds) + "\nlistener 0 127.0.0.1\n" +
                              tls_block(certs)));
    ASSERT_TRUE(set_soft_file_limit(hard, error)) << error;
    EXPECT_TRUE(
        broker.wait_for_log("open file limit " + std::to_string(hard) + " (raised from 1024"))
        << broker.log();
    EXPECT_EQ(soft_file_limit_of(broker.pid()), std::to_string(hard));
    ASSERT_EQ(broker.ports().size(), 2U);
    const std::uint16_t plain_port = broker.ports()[0];
    const std::uint16_t tls_port = broker.ports()[1];

    WellBehavedTraffic traffic(plain_port, tls_port, certs / "ca.crt");
    ASSERT_TRUE(traffic.round()) << traffic.failure();

    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()),
                                                              SSL_CTX_free);
    ASSERT_EQ(SSL_CTX_load_verify_locations(context.get(), (certs / "ca.crt").c_str(), nullptr), 1);
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);

    traffic.start();
    const auto flood_start = Clock::now();
    std::vector<std::unique_ptr<FloodConnection>> flood;
    flood.reserve(kConnections);
    for (int i = 0; i < kConnections; ++i) {
        auto connection = std::make_unique<FloodConnection>();
        connection->fd = start_connect(tls_port);
        ASSERT_GE(connection->fd, 0) << "connection " << i << ": " << std::strerror(errno);
        connection->stalls = i % 2 == 1;
        connection->opened = Clock::now();
        protocol::Connect connect;
        connect.client_id = "flood-" + std::to_string(i);
        connect.keep_alive = 120;
        protocol::encode(connect, ProtocolVersion::V311, connection->connect);
        connection->ssl = SSL_new(context.get());
        SSL_set_fd(connection->ssl, connection->fd);
        SSL_set_connect_state(connection->ssl);
        flood.push_back(std::move(connection));
    }
    const auto all_opened = ms_since(flood_start);

    // Drive every connection until the completing ones have their CONNACK and the stalled
    // ones have been dropped (or the deadline passes).
    const auto deadline =
        flood_start + std::chrono::seconds(kConnectTimeoutSeconds) + 10s * kSlowdown;
    std::chrono::milliseconds all_connected{-1};
    std::vector<pollfd> polled;
    std::vector<FloodConnection*> owners;
    for (;;) {
        polled.clear();
        owners.clear();
        for (auto& connection : flood) {
            if (connection->active()) {
                polled.push_back({connection->fd, connection->events(), 0});
                owners.push_back(connection.get());
            }
        }
        if (all_connected.count() < 0 &&
            std::none_of(flood.begin(), flood.end(),
                         [](const auto& c) { return !c->stalls && c->active(); })) {
            all_connected = ms_since(flood_start);
        }
        if (polled.empty() || Clock::now() > deadline) {
            break;
        }
        if (::poll(polled.data(), polled.size(), 20) < 0 && errno != EINTR) {
            FAIL() << "poll: " << std::strerror(errno);
        }
        for (std::size_t i = 0; i < polled.size(); ++i) {
            if (polled[i].revents != 0) {
                owners[i]->step();
            }
        }
    }
    const auto flood_done = ms_since(flood_start);
    traffic.stop();

    // Every completing client got its CONNACK and is still connected; every stalled one
    // was dropped at the connect timeout, not before.
    int connected = 0;
    int dropped = 0;
    std::chrono::milliseconds first_drop = std::chrono::hours(1);
    std::chrono::milliseconds last_drop{0};
    std::chrono::milliseconds slowest_connack{0};
    for (std::size_t i = 0; i < flood.size(); ++i) {
        const FloodConnection& c = *flood[i];
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(c.finished - c.opened);
        if (c.state == FloodConnection::State::Connected) {
            ++connected;
            slowest_connack = std::max(slowest_connack, took);
        } else if (c.state == FloodConnection::State::Dropped) {
            ++dropped;
            first_drop = std::min(first_drop, took);
            last_drop = std::max(last_drop, took);
        } else {
            ADD_FAILURE() << "connection " << i << (c.stalls ? " (stalling)" : "")
                          << " ended in state " << static_cast<int>(c.state) << ": " << c.error;
        }
    }
    EXPECT_EQ(connected, kConnections / 2);
    EXPECT_EQ(dropped, kConnections / 2);
    EXPECT_GE(first_drop, std::chrono::seconds(kConnectTimeoutSeconds) - 200ms);
    EXPECT_LE(last_drop, std::chrono::seconds(kConnectTimeoutSeconds) + 3s * kSlowdown);
    // The connected ones were not dropped meanwhile: no end of stream is pending.
    for (const auto& c : flood) {
        if (c->state == FloodConnection::State::Connected) {
            pollfd p{c->fd, POLLRDHUP, 0};
            ::poll(&p, 1, 0);
            EXPECT_EQ(p.revents & (POLLRDHUP | POLLHUP | POLLERR), 0)
                << "a connected client was dropped";
        }
    }
    EXPECT_EQ(traffic.failure(), "");
    EXPECT_GE(traffic.rounds(), 3);  // the well-behaved pair kept talking throughout

    std::cout << "[   TIME   ] " << kConnections << " connections opened in " << all_opened.count()
              << " ms; " << connected << " handshakes + CONNACKs done after "
              << all_connected.count() << " ms (slowest " << slowest_connack.count() << " ms); "
              << dropped << " stalled handshakes dropped " << first_drop.count() << ".."
              << last_drop.count() << " ms after opening (connect_timeout "
              << kConnectTimeoutSeconds << " s); flood over after " << flood_done.count()
              << " ms; well-behaved pair: " << traffic.rounds() << " rounds, slowest "
              << traffic.worst_round().count() << " ms\n";
    RecordProperty("handshakes_done_ms", static_cast<int>(all_connected.count()));
    RecordProperty("flood_over_ms", static_cast<int>(flood_done.count()));

    // Afterwards the broker still serves: the flood leaves, new clients come.
    flood.clear();
    EXPECT_TRUE(traffic.round()) << traffic.failure();
    const CommandResult late = publish(tls_port, {"--cafile", (certs / "ca.crt").string()});
    EXPECT_EQ(late.status, 0) << late.err;
    EXPECT_TRUE(broker.running());
    EXPECT_EQ(broker.log().find("pausing accepts"), std::string::npos)
        << "the broker ran out of descriptors";
}

}  // namespace
}  // namespace petrel::test
