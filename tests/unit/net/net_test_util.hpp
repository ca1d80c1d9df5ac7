// Helpers for the net unit tests: a loop on its own thread, loopback TCP pairs, and
// blocking reads with deadlines so a broken test fails instead of hanging.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "petrel/net/event_loop.hpp"
#include "petrel/net/listener.hpp"

namespace petrel::net::test {

using namespace std::chrono_literals;

// An EventLoop running on its own thread; call() runs a function there and waits.
class LoopThread {
  public:
    LoopThread() : thread_([this] { loop.run(); }) {}
    ~LoopThread() { stop(); }

    void stop() {
        if (thread_.joinable()) {
            loop.stop();
            thread_.join();
        }
    }

    template <typename F>
    auto call(F&& f) -> std::invoke_result_t<F> {
        using R = std::invoke_result_t<F>;
        std::promise<R> done;
        auto result = done.get_future();
        loop.post([&] {
            if constexpr (std::is_void_v<R>) {
                f();
                done.set_value();
            } else {
                done.set_value(f());
            }
        });
        return result.get();
    }

    EventLoop loop;

  private:
    std::thread thread_;
};

// Polls `pred` until it holds or `timeout` passes; returns its last value.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return pred();
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// Connects a blocking client socket to the loopback address of `family`.
inline int connect_loopback(std::uint16_t port, int family = AF_INET) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket");
    }
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&addr);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        in6->sin6_addr = in6addr_loopback;
        len = sizeof(sockaddr_in6);
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
        ::close(fd);
        throw std::runtime_error("connect");
    }
    return fd;
}

// Waits for one connection on `listener` and accepts it.
inline AcceptedSocket accept_one(Listener& listener, std::chrono::milliseconds timeout = 5s) {
    pollfd p{listener.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
        throw std::runtime_error("no connection to accept");
    }
    int error = 0;
    auto accepted = listener.accept(&error);
    if (!accepted) {
        throw std::runtime_error("accept failed: " + std::to_string(error));
    }
    return *accepted;
}

// A connected loopback TCP pair: `server` non-blocking (as accepted), `client` blocking.
struct TcpPair {
    int server = -1;
    int client = -1;
    std::string peer;
};

inline TcpPair tcp_pair() {
    Listener listener("127.0.0.1", 0);
    TcpPair pair;
    pair.client = connect_loopback(listener.port());
    auto accepted = accept_one(listener);
    pair.server = accepted.fd;
    pair.peer = accepted.peer;
    const int on = 1;
    ::setsockopt(pair.client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return pair;
}

// Reads exactly `n` bytes, or fewer if EOF/error/timeout comes first.
inline std::string read_exact(int fd, std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[65536];
    while (out.size() < n) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            break;
        }
        const ssize_t r = ::read(fd, buffer, std::min(sizeof buffer, n - out.size()));
        if (r <= 0) {
            break;
        }
        out.append(buffer, static_cast<std::size_t>(r));
    }
    return out;
}

// Reads until EOF; returns the bytes and sets `eof` (false on timeout or error).
inline std::string read_to_eof(int fd, bool& eof, std::chrono::milliseconds timeout = 10s) {
    std::string out;
    eof = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[65536];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            return out;
        }
        const ssize_t r = ::read(fd, buffer, sizeof buffer);
        if (r == 0) {
            eof = true;
            return out;
        }
        if (r < 0) {
            return out;
        }
        out.append(buffer, static_cast<std::size_t>(r));
    }
}

inline void write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t w = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (w <= 0) {
            throw std::runtime_error("write failed");
        }
        bytes.remove_prefix(static_cast<std::size_t>(w));
    }
}

}  // namespace petrel::net::test
