// Moving a stream's socket between event loops: a connection is read on the worker that
// accepted it and then served by another one.
#include <utility>

#include "petrel/net/stream.hpp"

namespace petrel::net {

Stream::Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks, std::string unread)
    : Stream(loop, fd, std::move(peer), std::move(callbacks)) {
    if (unread.empty()) {
        return;
    }
    input_ = std::move(unread);
    loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.expired() || fd_ < 0 || reading_paused_ || closing_ || input_.empty() ||
            !callbacks_.on_data) {
            return;
        }
        callbacks_.on_data(input_);
    });
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
    fd_ = -1;
    return fd;
}

}  // namespace petrel::net
