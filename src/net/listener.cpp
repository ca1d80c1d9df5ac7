#include "petrel/net/listener.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace petrel::net {

namespace {

// "host:port", with brackets around IPv6 hosts so the port stays unambiguous.
std::string endpoint_name(std::string_view host, std::uint16_t port) {
    std::string out;
    if (host.find(':') != std::string_view::npos) {
        out.append("[").append(host).append("]");
    } else {
        out.append(host);
    }
    return out.append(":").append(std::to_string(port));
}

// The peer's "host:port" and its host alone.
std::pair<std::string, std::string> sockaddr_names(const sockaddr_storage& addr) {
    char host[INET6_ADDRSTRLEN] = {};
    std::uint16_t port = 0;
    if (addr.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
        ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
        port = ntohs(in.sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
        ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
        port = ntohs(in6.sin6_port);
    } else {
        return {"unknown", "unknown"};
    }
    return {endpoint_name(host, port), host};
}

struct Candidate {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

// Literal addresses are parsed directly, so "0.0.0.0" or "::" never depend on the resolver;
// anything else (e.g. "localhost") goes through getaddrinfo and may give several candidates.
std::vector<Candidate> resolve(const std::string& address, std::uint16_t port,
                               const std::string& name) {
    std::string host = address;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    Candidate c;
    auto* in = reinterpret_cast<sockaddr_in*>(&c.addr);
    if (::inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        c.len = sizeof(sockaddr_in);
        return {c};
    }
    c = Candidate{};
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&c.addr);
    if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        c.len = sizeof(sockaddr_in6);
        return {c};
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
        const int code = rc == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
        throw std::system_error(code, std::system_category(),
                                "cannot resolve " + name + ": " + ::gai_strerror(rc));
    }
    std::vector<Candidate> out;
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_addrlen <= sizeof(sockaddr_storage)) {
            Candidate each;
            std::memcpy(&each.addr, ai->ai_addr, ai->ai_addrlen);
            each.len = ai->ai_addrlen;
            out.push_back(each);
        }
    }
    ::freeaddrinfo(found);
    return out;
}

// Returns the listening fd, or -1 with errno set and `step` naming the failed call.
int open_listening(const Candidate& c, int backlog, const char*& step) {
    step = "socket";
    const int fd = ::socket(c.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    const int on = 1;
    // SO_REUSEADDR: a restarted broker can bind while old connections sit in TIME_WAIT.
    // IPV6_V6ONLY: "::" means IPv6 only whatever the host's bindv6only sysctl says, so a
    // config may listen on both "0.0.0.0" and "::" with the same port.
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        (c.addr.ss_family == AF_INET6 &&
         ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0)) {
        step = "setsockopt";
    } else if (::bind(fd, reinterpret_cast<const sockaddr*>(&c.addr), c.len) < 0) {
        step = "bind";
    } else if (::listen(fd, backlog) < 0) {
        step = "listen";
    } else {
        return fd;
    }
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
}

}  // namespace

Listener::Listener(const std::string& address, std::uint16_t port, int backlog)
    : address_(address) {
    const std::string name = endpoint_name(address, port);
    const auto candidates = resolve(address, port, name);
    int error = EADDRNOTAVAIL;
    const char* step = "resolve";
    for (const auto& candidate : candidates) {
        fd_ = open_listening(candidate, backlog, step);
        if (fd_ >= 0) {
            break;
        }
        error = errno;
    }
    if (fd_ < 0) {
        throw std::system_error(error, std::system_category(),
                                std::string("cannot listen on ") + name + " (" + step + ")");
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len) < 0) {
        const int saved = errno;
        ::close(fd_);
        throw std::system_error(saved, std::system_category(),
                                "cannot listen on " + name + " (getsockname)");
    }
    port_ = bound.ss_family == AF_INET6
                ? ntohs(reinterpret_cast<const sockaddr_in6&>(bound).sin6_port)
                : ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);
}

Listener::~Listener() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Listener::Listener(Listener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      port_(other.port_),
      address_(std::move(other.address_)),
      tls_(std::move(other.tls_)) {}

std::optional<AcceptedSocket> Listener::accept(int* error) {
    if (error != nullptr) {
        *error = 0;
    }
    sockaddr_storage peer{};
    for (;;) {
        socklen_t len = sizeof peer;
        const int fd =
            ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            const int on = 1;
            // MQTT packets are small and latency-bound; our writes are already batched,
            // so Nagle would only add delay. A failure here is harmless.
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            auto [name, host] = sockaddr_names(peer);
            return AcceptedSocket{fd, std::move(name), std::move(host)};
        }
        if (errno == EINTR) {
            continue;
        }
        // EAGAIN: nothing waiting (normal, also when another loop won the race). The rest
        // (ECONNABORTED, EMFILE, ENFILE, ENOBUFS, network errors that Linux reports
        // through accept) is for the caller to count or back off from.
        if (errno != EAGAIN && errno != EWOULDBLOCK && error != nullptr) {
            *error = errno;
        }
        return std::nullopt;
    }
}

}  // namespace petrel::net
