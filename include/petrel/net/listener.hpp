// A listening TCP socket. Several event loops may watch one listener; each accepts with
// accept4(), and EPOLLEXCLUSIVE keeps a new connection from waking them all.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace petrel::net {

class TlsContext;

struct AcceptedSocket {
    int fd = -1;
    std::string peer;     // "127.0.0.1:51234" or "[::1]:51234"
    std::string address;  // the peer's address alone: "127.0.0.1" or "::1"
};

class Listener {
  public:
    // Binds and listens (non-blocking, SO_REUSEADDR). Port 0 picks an ephemeral port.
    // Throws std::system_error naming the address on failure (a start-up error).
    Listener(const std::string& address, std::uint16_t port, int backlog = 1024);
    ~Listener();
    Listener(Listener&& other) noexcept;
    Listener& operator=(Listener&&) = delete;
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    int fd() const { return fd_; }
    std::uint16_t port() const { return port_; }  // the real port, also when 0 was asked
    const std::string& address() const { return address_; }

    // A TLS listener: every accepted socket gets a session from this context.
    void set_tls(std::shared_ptr<TlsContext> tls) { tls_ = std::move(tls); }
    TlsContext* tls() const { return tls_.get(); }

    // A non-blocking accepted socket, or nullopt when none is waiting (EAGAIN) or the
    // accept failed transiently (ECONNABORTED, EMFILE …; `error` then holds errno).
    std::optional<AcceptedSocket> accept(int* error = nullptr);

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::string address_;
    std::shared_ptr<TlsContext> tls_;
};

}  // namespace petrel::net
