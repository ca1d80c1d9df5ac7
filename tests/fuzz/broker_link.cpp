#include "broker_link.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "finding.hpp"
#include "petrel/protocol/codec.hpp"

namespace petrel::fuzz {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds until(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return std::max(left, std::chrono::milliseconds{0});
}

bool tracing() {
    static const bool enabled = std::getenv("PETREL_FUZZ_TRACE") != nullptr;
    return enabled;
}

}  // namespace

BrokerLink::BrokerLink(std::uint16_t port, std::uint32_t broker_maximum_packet_size)
    : sent_(broker_maximum_packet_size) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        finding(std::string("harness: socket() failed: ") + std::strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Blocking connect: on loopback the handshake completes at once, or the broker is gone.
    int error = 0;
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        error = errno;
    }
    if (error == EINTR) {
        // A signal (libFuzzer's -timeout alarm ticks every second) interrupted the wait; the
        // handshake goes on without it.
        pollfd p{fd_, POLLOUT, 0};
        int ready = 0;
        do {
            ready = ::poll(&p, 1, static_cast<int>(kReplyTimeout / std::chrono::milliseconds{1}));
        } while (ready < 0 && errno == EINTR);
        socklen_t length = sizeof error;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
        if (ready == 0) {
            error = ETIMEDOUT;
        }
    }
    if (error != 0) {
        finding(std::string("cannot connect to the broker: ") + std::strerror(error));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

BrokerLink::~BrokerLink() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool BrokerLink::write(std::string_view bytes, bool trace_bytes) {
    if (!can_write()) {
        return false;
    }
    if (trace_bytes && tracing()) {
        std::fprintf(stderr, "[%d] > %zu bytes:", fd_, bytes.size());
        for (unsigned char c : bytes.substr(0, 64)) {
            std::fprintf(stderr, " %02x", c);
        }
        std::fprintf(stderr, "\n");
    }
    // Known to the framing before the broker can answer: its output is checked against
    // the CONNECT it answers.
    sent_.add(bytes);
    const auto deadline = Clock::now() + kReplyTimeout;
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            write_closed_ = true;  // EPIPE, ECONNRESET: the broker closed the connection
            return false;
        }
        // The broker is not taking bytes: read what it sends meanwhile, so that neither side
        // waits for the other.
        pollfd p{fd_, POLLIN | POLLOUT, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(until(deadline).count()));
        if (ready == 0) {
            finding("the broker took no bytes for 5 s (stuck)");
        }
        if (ready > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            read_some(std::chrono::milliseconds{0});
            if (read_closed_) {
                return false;
            }
        }
    }
    return true;
}

bool BrokerLink::send(const protocol::Packet& packet) {
    encode_buffer_.clear();
    protocol::encode(packet, version(), encode_buffer_);
    if (tracing()) {
        std::fprintf(stderr, "[%d] > %s\n", fd_, describe(packet).c_str());
    }
    return write(encode_buffer_, false);
}

bool BrokerLink::read_some(std::chrono::milliseconds timeout) {
    if (closed()) {
        return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
        return false;
    }
    char buffer[16384];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
        const std::size_t before = received_.size();
        output_.feed(std::string_view(buffer, static_cast<std::size_t>(n)), sent_, received_);
        for (std::size_t i = before; tracing() && i < received_.size(); ++i) {
            std::fprintf(stderr, "[%d] < %s\n", fd_, describe(received_[i]).c_str());
        }
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return false;
    }
    read_closed_ = true;
    if (tracing()) {
        std::fprintf(stderr, "[%d] closed by the broker (%s)\n", fd_,
                     n == 0 ? "end of stream" : std::strerror(errno));
    }
    if (n == 0) {
        // An orderly close: everything the broker meant to send has arrived. After a reset
        // (our unread bytes at its close, say) the kernel may have dropped the tail.
        output_.at_eof();
    }
    return false;
}

void BrokerLink::poll() {
    while (read_some(std::chrono::milliseconds{0})) {
    }
}

void BrokerLink::wait(const std::function<bool()>& done, const char* what) {
    const auto deadline = Clock::now() + kReplyTimeout;
    while (!done() && !closed()) {
        if (Clock::now() >= deadline) {
            finding(std::string("the broker neither answered nor closed within 5 s: ") + what);
        }
        read_some(std::min(until(deadline), std::chrono::milliseconds{100}));
    }
}

void BrokerLink::sync() {
    if (!answerable()) {
        return;
    }
    send(protocol::Pingreq{});
    wait([this] { return output_.pingresps() >= sent_.pingreqs(); }, "PINGREQ");
}

void BrokerLink::half_close() {
    if (fd_ >= 0 && !write_closed_) {
        ::shutdown(fd_, SHUT_WR);
        write_closed_ = true;
    }
}

void BrokerLink::drain(const char* what) {
    wait([] { return false; }, what);
}

void BrokerLink::reset() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

}  // namespace petrel::fuzz
