// Moving a stream's socket between event loops: a connection is read on the worker that
// accepted it and then served by another one.
#include <utility>

#include "petrel/net/stream.hpp"

namespace petrel::net {

Stream::Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks, std::string unread)
    : Stream(loop, fd, std::move(peer), std::move(callbacks), std::move(unread), nullptr) {}

Stream::Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks, std::string unread,
               TlsSessionPtr tls)
    : Stream(loop, fd, std::move(peer), std::move(callbacks)) {
    tls_ = std::move(tls);
    update_interest();  // a new TLS session waits for the ClientHello
    input_ = std::move(unread);
    redeliver_input();
    read_buffered_tls();  // a moved session may hold decrypted bytes not yet read
}

int Stream::release(std::string& unread, TlsSessionPtr& tls) {
    const int fd = release(unread);
    tls = std::move(tls_);
    return fd;
}

int Stream::release(std::string& unread) {
    const int fd = fd_;
    if (fd < 0) {
        return -1;
    }
    if (watched_) {
        loop_.unwatch(fd);
        watched_ = false;
    }
    unread = std::move(input_);
    input_.clear();
    output_.clear();
    want_write_ = false;
    interest_ = 0;
    fd_ = -1;  // pending deferred flushes and linger timers see a closed stream
    return fd;
}

}  // namespace petrel::net
