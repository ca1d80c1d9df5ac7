// Host names to socket addresses for outgoing connections, without blocking the loop.
//
// getaddrinfo() may wait seconds for a DNS server, which would stall every connection of
// the worker's loop; so a name is looked up on a short-lived helper thread and the answer
// comes back through an eventfd the loop watches. IP literals ("127.0.0.1", "::1") never
// touch DNS and are converted on the spot.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "petrel/net/event_loop.hpp"

namespace petrel::net {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    std::string text;  // "127.0.0.1" or "::1", for messages
};

struct Resolution {
    std::vector<SocketAddress> addresses;  // in getaddrinfo's order, without duplicates
    std::string error;                     // why there are none
};

// The addresses of an IP literal, or nullopt when `host` is not one.
std::optional<Resolution> resolve_numeric(const std::string& host, std::uint16_t port);

// One lookup in flight. `done` runs on the loop thread, once, unless this object is
// destroyed first (the helper thread then finishes on its own and its answer is dropped).
class AsyncResolve {
  public:
    // Loop-thread only. Throws std::system_error when no eventfd or thread can be had.
    AsyncResolve(EventLoop& loop, std::string host, std::uint16_t port,
                 std::function<void(Resolution)> done);
    ~AsyncResolve();
    AsyncResolve(const AsyncResolve&) = delete;
    AsyncResolve& operator=(const AsyncResolve&) = delete;

  private:
    struct Shared;
    void on_ready();

    EventLoop& loop_;
    std::shared_ptr<Shared> shared_;
    std::function<void(Resolution)> done_;
    bool watching_ = false;
};

}  // namespace petrel::net
