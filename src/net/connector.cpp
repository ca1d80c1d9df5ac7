#include "petrel/net/connector.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "address_resolver.hpp"
#include "petrel/net/tls_client_context.hpp"
#include "tls_session.hpp"

namespace petrel::net {

std::string Endpoint::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    Endpoint endpoint;
    std::string_view port;
    if (text.starts_with('[')) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
            return std::nullopt;
        }
        endpoint.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            return std::nullopt;  // no port, or an IPv6 literal without brackets
        }
        endpoint.host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (endpoint.host.empty() || port.empty() || error != std::errc{} ||
        end != port.data() + port.size() || value == 0 || value > 65535) {
        return std::nullopt;
    }
    endpoint.port = static_cast<std::uint16_t>(value);
    return endpoint;
}

std::string ConnectError::message() const {
    std::string text = "cannot connect";
    const char* separator = ": ";
    for (const ConnectAttempt& attempt : attempts) {
        text += separator;
        text += attempt.address + ": " + attempt.reason;
        separator = "; ";
    }
    return text;
}

Connector::Connector(EventLoop& loop, ConnectOptions options, Stream::Callbacks stream_callbacks,
                     OnConnected on_connected, OnFailed on_failed)
    : loop_(loop),
      options_(std::move(options)),
      stream_callbacks_(std::move(stream_callbacks)),
      on_connected_(std::move(on_connected)),
      on_failed_(std::move(on_failed)) {}

Connector::~Connector() {
    alive_.reset();  // pending timers and deferrals now do nothing
    close_socket();
}

void Connector::start() {
    if (connecting_) {
        return;
    }
    connecting_ = true;
    endpoint_ = 0;
    error_ = {};
    // Deferred, so that neither callback ever runs inside start().
    loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired()) {
            next_endpoint();
        }
    });
}

void Connector::next_endpoint() {
    if (endpoint_ >= options_.endpoints.size()) {
        connecting_ = false;
        ConnectError error = std::move(error_);
        if (error.attempts.empty()) {
            error.attempts.push_back({"-", ConnectFailure::Network, "no address to connect to"});
        }
        error_ = {};
        // A copy runs, so that the callback may destroy us (and our copy) meanwhile.
        if (OnFailed on_failed = on_failed_) {
            on_failed(error);
        }
        return;
    }
    const Endpoint& endpoint = options_.endpoints[endpoint_];
    if (std::optional<Resolution> numeric = resolve_numeric(endpoint.host, endpoint.port)) {
        if (numeric->addresses.empty()) {
            fail_endpoint(numeric->error);
            return;
        }
        resolved(std::move(numeric->addresses));
        return;
    }
    // The lookup is bounded by the same timeout as a connect: a DNS server that does not
    // answer costs that long, then the next endpoint is tried (the helper thread finishes
    // on its own; its late answer is dropped).
    const std::uint64_t attempt = ++attempt_;
    try {
        resolving_ = std::make_unique<AsyncResolve>(
            loop_, endpoint.host, endpoint.port, [this](Resolution result) {
                // Keep the resolver alive until its callback has returned.
                std::unique_ptr<AsyncResolve> finished = std::move(resolving_);
                ++attempt_;  // its timer is now stale
                if (result.addresses.empty()) {
                    fail_endpoint("cannot resolve: " + result.error);
                    return;
                }
                resolved(std::move(result.addresses));
            });
    } catch (const std::system_error& e) {
        fail_endpoint(std::string("cannot resolve: ") + e.what());
        return;
    }
    loop_.after(options_.timeout, [this, alive = std::weak_ptr<bool>(alive_), attempt] {
        if (!alive.expired()) {
            on_timeout(attempt);
        }
    });
}

void Connector::fail_endpoint(std::string reason) {
    error_.attempts.push_back(
        {options_.endpoints[endpoint_].to_string(), ConnectFailure::Resolve, std::move(reason)});
    ++endpoint_;
    loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired()) {
            next_endpoint();
        }
    });
}

void Connector::resolved(std::vector<SocketAddress> addresses) {
    addresses_ = std::move(addresses);
    address_ = 0;
    next_address();
}

std::string Connector::attempt_name() const {
    return options_.endpoints[endpoint_].to_string() + " (" + addresses_[address_].text + ")";
}

void Connector::next_address() {
    if (address_ >= addresses_.size()) {
        ++endpoint_;
        next_endpoint();
        return;
    }
    const SocketAddress& address = addresses_[address_];
    const std::uint64_t attempt = ++attempt_;
    loop_.after(options_.timeout, [this, alive = std::weak_ptr<bool>(alive_), attempt] {
        if (!alive.expired()) {
            on_timeout(attempt);
        }
    });
    fd_ = ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        fail_attempt(ConnectFailure::Network, std::string("socket: ") + std::strerror(errno));
        return;
    }
    int result = 0;
    do {
        result =
            ::connect(fd_, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
    } while (result < 0 && errno == EINTR);
    if (result < 0 && errno != EINPROGRESS) {
        const int error = errno;
        fail_attempt(error == ECONNREFUSED ? ConnectFailure::Refused : ConnectFailure::Network,
                     std::strerror(error));
        return;
    }
    try {
        loop_.watch(fd_, EPOLLOUT, [this](std::uint32_t) { on_socket_event(); });
        watched_ = true;
    } catch (const std::system_error& e) {
        fail_attempt(ConnectFailure::Network, e.what());
    }
}

void Connector::on_socket_event() {
    if (tls_) {
        advance_handshake();
        return;
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
    }
    if (error == EINPROGRESS || error == EALREADY) {
        return;
    }
    if (error != 0) {
        const ConnectFailure failure = error == ECONNREFUSED ? ConnectFailure::Refused
                                       : error == ETIMEDOUT  ? ConnectFailure::TimedOut
                                                             : ConnectFailure::Network;
        fail_attempt(failure, std::strerror(error));
        return;
    }
    on_tcp_connected();
}

void Connector::on_tcp_connected() {
    if (!options_.tls) {
        succeed();
        return;
    }
    try {
        tls_ = options_.tls->new_session(fd_, options_.endpoints[endpoint_].host);
    } catch (const std::runtime_error& e) {
        fail_attempt(ConnectFailure::Tls, e.what());
        return;
    }
    advance_handshake();  // the client speaks first: the ClientHello goes out now
}

void Connector::advance_handshake() {
    switch (tls_->handshake()) {
        case TlsSession::Step::Done:
            succeed();
            return;
        case TlsSession::Step::WantRead:
            loop_.modify(fd_, EPOLLIN | EPOLLRDHUP);
            return;
        case TlsSession::Step::WantWrite:
            loop_.modify(fd_, EPOLLOUT);
            return;
        case TlsSession::Step::Failed:
            fail_attempt(ConnectFailure::Tls, tls_->error());
            return;
    }
}

void Connector::on_timeout(std::uint64_t attempt) {
    if (attempt != attempt_) {
        return;  // that attempt is over
    }
    if (resolving_) {
        resolving_.reset();
        ++attempt_;
        fail_endpoint("cannot resolve: no answer within " +
                      std::to_string(options_.timeout.count()) + " ms");
        return;
    }
    if (fd_ < 0) {
        return;
    }
    fail_attempt(ConnectFailure::TimedOut, std::string(tls_ ? "TLS handshake" : "TCP connect") +
                                               " timed out after " +
                                               std::to_string(options_.timeout.count()) + " ms");
}

void Connector::fail_attempt(ConnectFailure failure, std::string reason) {
    error_.attempts.push_back({attempt_name(), failure, std::move(reason)});
    close_socket();
    ++attempt_;  // its timer, if any, is now stale
    ++address_;
    // Through the loop rather than recursively: a long list of refused addresses does
    // not deepen the stack, and the caller (an event handler) returns first.
    loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired()) {
            next_address();
        }
    });
}

void Connector::succeed() {
    const int fd = std::exchange(fd_, -1);
    if (watched_) {
        loop_.unwatch(fd);
        watched_ = false;
    }
    ++attempt_;
    const std::string peer =
        Endpoint{addresses_[address_].text, options_.endpoints[endpoint_].port}.to_string();
    std::unique_ptr<Stream> stream;
    try {
        // A new Stream takes the fd even when it throws (it closes it then).
        stream = std::make_unique<Stream>(loop_, fd, peer, stream_callbacks_, std::string(),
                                          std::move(tls_));
    } catch (const std::system_error& e) {
        fd_ = -1;
        error_.attempts.push_back({attempt_name(), ConnectFailure::Network, e.what()});
        ++address_;
        loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
            if (!alive.expired()) {
                next_address();
            }
        });
        return;
    }
    connecting_ = false;
    error_ = {};
    const std::size_t endpoint = endpoint_;
    // A copy runs, so that the callback may destroy us (and our copy) meanwhile.
    if (OnConnected on_connected = on_connected_) {
        on_connected(std::move(stream), endpoint);
    }
}

void Connector::close_socket() {
    resolving_.reset();
    tls_.reset();
    if (fd_ >= 0) {
        if (watched_) {
            loop_.unwatch(fd_);
            watched_ = false;
        }
        ::close(fd_);
        fd_ = -1;
    }
}

}  // namespace petrel::net
