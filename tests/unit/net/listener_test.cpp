#include "petrel/net/listener.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <system_error>

#include "net_test_util.hpp"

namespace petrel::net {
namespace {

using namespace std::chrono_literals;
using test::accept_one;
using test::connect_loopback;

std::uint16_t local_port(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(addr).sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in&>(addr).sin_port);
}

TEST(Listener, PortZeroReportsTheRealPortAndAcceptsANonBlockingNoDelaySocket) {
    Listener listener("127.0.0.1", 0);
    ASSERT_NE(listener.port(), 0);
    EXPECT_EQ(listener.address(), "127.0.0.1");
    EXPECT_TRUE(::fcntl(listener.fd(), F_GETFL) & O_NONBLOCK);

    const int client = connect_loopback(listener.port());
    const AcceptedSocket accepted = accept_one(listener);
    ASSERT_GE(accepted.fd, 0);
    EXPECT_EQ(accepted.peer, "127.0.0.1:" + std::to_string(local_port(client)));
    EXPECT_EQ(accepted.address, "127.0.0.1");  // what max_connection_rate counts by
    EXPECT_TRUE(::fcntl(accepted.fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(accepted.fd, F_GETFD) & FD_CLOEXEC);
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    ::getsockopt(accepted.fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
    EXPECT_NE(nodelay, 0);
    ::close(accepted.fd);
    ::close(client);
}

TEST(Listener, AcceptWithNothingWaitingReturnsNulloptAndNoError) {
    Listener listener("127.0.0.1", 0);
    int error = -1;
    EXPECT_FALSE(listener.accept(&error).has_value());
    EXPECT_EQ(error, 0);
    EXPECT_FALSE(listener.accept().has_value());  // error pointer is optional
}

TEST(Listener, AcceptErrorsComeBackThroughErrorWithoutThrowing) {
    Listener listener("127.0.0.1", 0);
    // Turn the listening fd into one accept() rejects: shut it down (EINVAL).
    ::shutdown(listener.fd(), SHUT_RDWR);
    int error = 0;
    EXPECT_NO_THROW(EXPECT_FALSE(listener.accept(&error).has_value()));
    EXPECT_NE(error, 0);
}

TEST(Listener, Ipv6LoopbackListensOrReportsWhy) {
    // No skip: on a host without ::1 the constructor must fail with an error that names
    // the address and port.
    std::optional<Listener> listener;
    try {
        listener.emplace("::1", 0);
    } catch (const std::system_error& e) {
        EXPECT_NE(e.code().value(), 0);
        EXPECT_NE(std::string(e.what()).find("[::1]:0"), std::string::npos) << e.what();
        return;
    }
    ASSERT_NE(listener->port(), 0);
    const int client = connect_loopback(listener->port(), AF_INET6);
    const AcceptedSocket accepted = accept_one(*listener);
    EXPECT_EQ(accepted.peer, "[::1]:" + std::to_string(local_port(client)));
    EXPECT_EQ(accepted.address, "::1");
    ::close(accepted.fd);
    ::close(client);
}

TEST(Listener, BracketedIpv6LiteralIsAccepted) {
    try {
        Listener listener("[::1]", 0);
        EXPECT_NE(listener.port(), 0);
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("::1"), std::string::npos) << e.what();
    }
}

TEST(Listener, LocalhostResolvesAndListens) {
    Listener listener("localhost", 0);
    EXPECT_NE(listener.port(), 0);
    EXPECT_EQ(listener.address(), "localhost");
}

TEST(Listener, AddressNotOnThisHostThrowsNamingAddressAndPort) {
    // 192.0.2.1 is TEST-NET-1: never assigned locally, so bind fails without any traffic.
    try {
        Listener listener("192.0.2.1", 1883);
        FAIL() << "bind to a foreign address succeeded";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EADDRNOTAVAIL);
        EXPECT_NE(std::string(e.what()).find("192.0.2.1:1883"), std::string::npos) << e.what();
    }
}

TEST(Listener, PortInUseThrowsNamingAddressAndPort) {
    Listener first("127.0.0.1", 0);
    try {
        Listener second("127.0.0.1", first.port());
        FAIL() << "two listeners on one port";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EADDRINUSE);
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
                  std::string::npos)
            << e.what();
    }
}

TEST(Listener, MoveTransfersTheSocket) {
    Listener first("127.0.0.1", 0);
    const int fd = first.fd();
    const std::uint16_t port = first.port();
    Listener second(std::move(first));
    EXPECT_EQ(second.fd(), fd);
    EXPECT_EQ(second.port(), port);
    EXPECT_EQ(first.fd(), -1);  // NOLINT(bugprone-use-after-move): checking the moved-from state
}

TEST(Listener, SeveralLoopsShareOneListenerWithEpollExclusive) {
    Listener listener("127.0.0.1", 0);
    constexpr int kLoops = 3;
    constexpr int kConnections = 60;
    std::mutex mutex;
    std::set<std::string> peers;  // guarded by mutex
    std::atomic<int> accepted{0};
    std::vector<std::unique_ptr<test::LoopThread>> loops;
    for (int i = 0; i < kLoops; ++i) {
        loops.push_back(std::make_unique<test::LoopThread>());
        auto& lt = *loops.back();
        lt.call([&] {
            lt.loop.watch(listener.fd(), EPOLLIN | EPOLLEXCLUSIVE, [&](std::uint32_t) {
                // Another loop may win the race: nullopt with no error is normal.
                while (auto socket = listener.accept()) {
                    {
                        std::lock_guard lock(mutex);
                        peers.insert(socket->peer);
                    }
                    ::close(socket->fd);
                    ++accepted;
                }
            });
        });
    }
    std::vector<int> clients;
    for (int i = 0; i < kConnections; ++i) {
        clients.push_back(connect_loopback(listener.port()));
    }
    ASSERT_TRUE(test::wait_until([&] { return accepted == kConnections; }));
    std::this_thread::sleep_for(20ms);
    for (auto& lt : loops) {
        lt->call([&] { lt->loop.unwatch(listener.fd()); });
        lt->stop();
    }
    EXPECT_EQ(accepted, kConnections);  // each connection accepted exactly once
    EXPECT_EQ(peers.size(), static_cast<std::size_t>(kConnections));
    for (int fd : clients) {
        ::close(fd);
    }
}

}  // namespace
}  // namespace petrel::net
