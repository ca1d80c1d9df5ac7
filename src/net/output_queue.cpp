#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <utility>

#include "petrel/net/stream.hpp"

namespace petrel::net {

namespace {

// IOV_MAX is 1024 on Linux, but 64 chunks already carry far more than a socket buffer
// holds when chunks are whole packets, and keep the iovec array on the stack small.
constexpr std::size_t kMaxIovecs = IOV_MAX < 64 ? IOV_MAX : 64;

}  // namespace

std::string_view OutputQueue::Chunk::bytes() const {
    const std::string& all = shared ? *shared : owned;
    return std::string_view(all).substr(offset);
}

void OutputQueue::append(std::string bytes) {
    if (bytes.empty()) {
        return;
    }
    size_bytes_ += bytes.size();
    chunks_.push_back(Chunk{std::move(bytes), nullptr, 0});
}

void OutputQueue::append_shared(SharedBytes bytes) {
    if (!bytes || bytes->empty()) {
        return;
    }
    size_bytes_ += bytes->size();
    chunks_.push_back(Chunk{std::string(), std::move(bytes), 0});
}

std::size_t OutputQueue::gather(iovec* out, std::size_t max) const {
    std::size_t n = 0;
    for (auto it = chunks_.begin(); it != chunks_.end() && n < max; ++it, ++n) {
        const std::string_view b = it->bytes();
        // iovec wants a mutable pointer; the kernel only reads from it.
        out[n].iov_base = const_cast<char*>(b.data());
        out[n].iov_len = b.size();
    }
    return n;
}

void OutputQueue::consume(std::size_t n) {
    n = std::min(n, size_bytes_);
    size_bytes_ -= n;
    while (n > 0) {
        Chunk& front = chunks_.front();
        const std::size_t left = front.bytes().size();
        if (n < left) {
            front.offset += n;  // partial write: resume inside this chunk
            return;
        }
        n -= left;
        chunks_.pop_front();
    }
}

void OutputQueue::clear() {
    chunks_.clear();
    size_bytes_ = 0;
}

int OutputQueue::flush_to(int fd) {
    iovec iov[kMaxIovecs];
    bool is_socket = true;
    while (!chunks_.empty()) {
        const std::size_t count = gather(iov, kMaxIovecs);
        std::size_t offered = 0;
        for (std::size_t i = 0; i < count; ++i) {
            offered += iov[i].iov_len;
        }
        ssize_t written;
        if (is_socket) {
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = count;
            written = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (written < 0 && errno == ENOTSOCK) {
                is_socket = false;
                continue;
            }
        } else {
            written = ::writev(fd, iov, static_cast<int>(count));
        }
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            return errno;
        }
        consume(static_cast<std::size_t>(written));
        if (static_cast<std::size_t>(written) < offered) {
            // A short write on a non-blocking fd means its buffer is full: another call
            // would only return EAGAIN.
            return 0;
        }
    }
    return 0;
}

}  // namespace petrel::net
