#include "address_resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace petrel::net {

namespace {

std::string address_text(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (address->sa_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                    sizeof text);
    } else if (address->sa_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                    sizeof text);
    }
    return text;
}

Resolution lookup(const std::string& host, std::uint16_t port, int flags) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    Resolution result;
    const std::string service = std::to_string(port);
    const int status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (status != 0) {
        result.error = status == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(status);
        return result;
    }
    for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(sockaddr_storage)) {
            continue;
        }
        SocketAddress address;
        std::memcpy(&address.storage, a->ai_addr, a->ai_addrlen);
        address.length = a->ai_addrlen;
        address.text = address_text(a->ai_addr);
        bool seen = false;
        for (const SocketAddress& other : result.addresses) {
            seen = seen || (other.length == address.length &&
                            std::memcmp(&other.storage, &address.storage, address.length) == 0);
        }
        if (!seen) {
            result.addresses.push_back(std::move(address));
        }
    }
    ::freeaddrinfo(list);
    if (result.addresses.empty()) {
        result.error = "no address";
    }
    return result;
}

}  // namespace

std::optional<Resolution> resolve_numeric(const std::string& host, std::uint16_t port) {
    unsigned char scratch[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, host.c_str(), scratch) != 1 &&
        ::inet_pton(AF_INET6, host.c_str(), scratch) != 1) {
        return std::nullopt;
    }
    return lookup(host, port, AI_NUMERICHOST);
}

// What the helper thread and the loop share; the last one to let go closes the eventfd.
struct AsyncResolve::Shared {
    int event_fd = -1;
    std::mutex mutex;
    Resolution result;  // guarded by mutex
    ~Shared() {
        if (event_fd >= 0) {
            ::close(event_fd);
        }
    }
};

AsyncResolve::AsyncResolve(EventLoop& loop, std::string host, std::uint16_t port,
                           std::function<void(Resolution)> done)
    : loop_(loop), shared_(std::make_shared<Shared>()), done_(std::move(done)) {
    shared_->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (shared_->event_fd < 0) {
        throw std::system_error(errno, std::system_category(), "eventfd");
    }
    loop_.watch(shared_->event_fd, EPOLLIN, [this](std::uint32_t) { on_ready(); });
    watching_ = true;
    try {
        std::thread([shared = shared_, host = std::move(host), port] {
            Resolution result = lookup(host, port, 0);
            const std::lock_guard lock(shared->mutex);
            shared->result = std::move(result);
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto ignored = ::write(shared->event_fd, &one, sizeof one);
        }).detach();
    } catch (...) {
        loop_.unwatch(shared_->event_fd);
        watching_ = false;
        throw;
    }
}

AsyncResolve::~AsyncResolve() {
    if (watching_) {
        loop_.unwatch(shared_->event_fd);
    }
}

void AsyncResolve::on_ready() {
    loop_.unwatch(shared_->event_fd);
    watching_ = false;
    Resolution result;
    {
        const std::lock_guard lock(shared_->mutex);
        result = std::move(shared_->result);
    }
    // Last: `done` may destroy this object.
    auto done = std::move(done_);
    done(std::move(result));
}

}  // namespace petrel::net
