#include "petrel/net/stream.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "tls_session.hpp"

namespace petrel::net {

namespace {

constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// Per wake-up, so that one fast sender cannot starve the other clients of its loop;
// level-triggered epoll brings us back for the rest.
constexpr std::size_t kReadCapPerWake = std::size_t{256} * 1024;
// Queued chunks are gathered into TLS records of up to this many bytes, so that many small
// MQTT packets do not each cost a record header and a MAC.
constexpr std::size_t kTlsRecordBytes = std::size_t{16} * 1024;

std::error_code errno_code(int error) {
    return {error, std::system_category()};
}

}  // namespace

Stream::Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks)
    : loop_(loop), fd_(fd), peer_(std::move(peer)), callbacks_(std::move(callbacks)) {
    try {
        start_watching();
    } catch (...) {
        ::close(fd_);
        fd_ = -1;
        throw;
    }
}

Stream::~Stream() {
    alive_.reset();  // deferred flushes and linger timers now see a dead stream
    if (fd_ >= 0) {
        if (watched_) {
            loop_.unwatch(fd_);
        }
        ::close(fd_);
    }
}

// --- transport: the raw socket calls a TLS transport would replace -----------------

long Stream::transport_read(char* buffer, std::size_t size) {
    if (tls_) {
        if (!tls_->established()) {
            return -EAGAIN;  // only the handshake reads until it is done
        }
        TlsSession::Step wait = TlsSession::Step::WantRead;
        const long n = tls_->read(buffer, size, wait);
        if (n >= 0) {
            return n;
        }
        if (n == -1) {
            if (wait == TlsSession::Step::WantWrite && !tls_wants_write_) {
                tls_wants_write_ = true;
                update_interest();
            }
            return -EAGAIN;
        }
        tls_error_ = tls_->error();
        return -EPROTO;
    }
    for (;;) {
        const ssize_t n = ::read(fd_, buffer, size);
        if (n >= 0) {
            return n;
        }
        if (errno != EINTR) {
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
    }
}

int Stream::transport_flush() {
    if (tls_) {
        return tls_flush();
    }
    return output_.flush_to(fd_);
}

int Stream::tls_flush() {
    if (!tls_->established()) {
        return 0;  // kept until the handshake is done
    }
    while (!output_.empty()) {
        iovec chunks[64];
        const std::size_t count = output_.gather(chunks, std::size(chunks));
        std::size_t available = 0;
        for (std::size_t i = 0; i < count; ++i) {
            available += chunks[i].iov_len;
        }
        // A record write that had to wait is retried with the same bytes (OpenSSL's
        // rule); they are still at the front of the queue, since only written bytes are
        // consumed.
        const std::size_t size =
            tls_retry_size_ > 0 ? tls_retry_size_ : std::min(available, kTlsRecordBytes);
        const char* data = static_cast<const char*>(chunks[0].iov_base);
        if (chunks[0].iov_len < size) {
            tls_scratch_.clear();
            for (std::size_t i = 0; i < count && tls_scratch_.size() < size; ++i) {
                const std::size_t take = std::min(chunks[i].iov_len, size - tls_scratch_.size());
                tls_scratch_.append(static_cast<const char*>(chunks[i].iov_base), take);
            }
            data = tls_scratch_.data();
        }
        TlsSession::Step wait = TlsSession::Step::WantWrite;
        const long n = tls_->write(data, size, wait);
        if (n > 0) {
            output_.consume(static_cast<std::size_t>(n));
            tls_retry_size_ = 0;
            continue;
        }
        if (n == -1) {
            tls_retry_size_ = size;
            return 0;  // flush() waits for EPOLLOUT since output remains
        }
        tls_error_ = tls_->error();
        return EPROTO;
    }
    return 0;
}

// --- TLS ---------------------------------------------------------------------------

bool Stream::handshaking() const {
    return tls_ != nullptr && !tls_->established();
}

void Stream::advance_handshake() {
    switch (tls_->handshake()) {
        case TlsSession::Step::Done:
            tls_wants_read_ = true;
            tls_wants_write_ = false;
            update_interest();
            // The client's first bytes may have come with its last handshake message.
            if (!reading_paused_) {
                read_available();
                if (fd_ < 0) {
                    return;
                }
            }
            if (!output_.empty()) {
                flush();
            }
            return;
        case TlsSession::Step::WantRead:
            tls_wants_read_ = true;
            tls_wants_write_ = false;
            update_interest();
            return;
        case TlsSession::Step::WantWrite:
            tls_wants_read_ = false;
            tls_wants_write_ = true;
            update_interest();
            return;
        case TlsSession::Step::Failed:
            tls_error_ = tls_->error();
            finish(std::make_error_code(std::errc::protocol_error));
            return;
    }
}

void Stream::read_buffered_tls() {
    // Plaintext OpenSSL already holds raises no socket event: read it on the next batch.
    if (!tls_ || !tls_->has_buffered_input() || reading_paused_ || fd_ < 0) {
        return;
    }
    loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired() && fd_ >= 0 && !reading_paused_) {
            read_available();
        }
    });
}

std::optional<std::string> Stream::tls_peer_common_name() const {
    return tls_ ? tls_->peer_common_name() : std::nullopt;
}

std::optional<std::string> Stream::tls_psk_identity() const {
    return tls_ ? tls_->psk_identity() : std::nullopt;
}

std::optional<std::string> Stream::tls_peer_subject() const {
    return tls_ ? tls_->peer_subject() : std::nullopt;
}

TlsUsernameSource Stream::tls_username_source() const {
    return tls_ ? tls_->username_source() : TlsUsernameSource::Connect;
}

// --- interest ----------------------------------------------------------------------

std::uint32_t Stream::wanted_events() const {
    std::uint32_t events = 0;
    if (handshaking()) {
        if (tls_wants_read_) {
            events |= EPOLLIN | EPOLLRDHUP;
        }
        if (tls_wants_write_) {
            events |= EPOLLOUT;
        }
        return events;
    }
    // While closing we keep reading (and discard it): closing a socket with unread input
    // makes the kernel send a reset, which can destroy our last bytes in the peer.
    if (!read_eof_ && (closing_ || !reading_paused_)) {
        events |= EPOLLIN | EPOLLRDHUP;
    }
    if (want_write_ || tls_wants_write_) {
        events |= EPOLLOUT;
    }
    return events;
}

void Stream::start_watching() {
    const std::uint32_t events = wanted_events();
    loop_.watch(fd_, events, [this](std::uint32_t ready) { on_events(ready); });
    watched_ = true;
    interest_ = events;
}

void Stream::update_interest() {
    if (fd_ < 0 || !watched_) {
        return;
    }
    const std::uint32_t events = wanted_events();
    if (events != interest_) {
        loop_.modify(fd_, events);
        interest_ = events;
    }
}

void Stream::pause_reading() {
    reading_paused_ = true;
    update_interest();
}

void Stream::resume_reading() {
    if (!reading_paused_) {
        return;
    }
    reading_paused_ = false;
    if (fd_ < 0) {
        return;
    }
    if (!watched_) {
        try {
            start_watching();  // parked after a hang-up: the read will now find the EOF
        } catch (const std::system_error& e) {
            finish(e.code());
            return;
        }
    } else {
        update_interest();
    }
    redeliver_input();
    read_buffered_tls();
}

void Stream::redeliver_input() {
    if (input_.empty() || closing_) {
        return;
    }
    // Deferred, so on_data never runs inside the caller's own call.
    loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.expired() || fd_ < 0 || reading_paused_ || closing_ || input_.empty() ||
            !callbacks_.on_data) {
            return;
        }
        callbacks_.on_data(input_);
    });
}

// --- events ------------------------------------------------------------------------

void Stream::on_events(std::uint32_t events) {
    if (handshaking()) {
        advance_handshake();
        return;
    }
    if (tls_wants_write_ && (events & EPOLLOUT)) {
        // A record read that needed to write first: read again now.
        tls_wants_write_ = false;
        update_interest();
        events |= EPOLLIN;
    }
    if ((interest_ & EPOLLIN) != 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        read_available();
        if (fd_ < 0) {
            return;
        }
    }
    if (want_write_ && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
        flush();
        if (fd_ < 0) {
            return;
        }
    }
    if (events & EPOLLERR) {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) {
            finish(errno_code(error));
            return;
        }
    }
    // epoll reports a hang-up even with no interest at all, so a paused stream would
    // spin on it. Park: leave the loop until resume_reading() comes for the rest.
    if ((events & EPOLLHUP) && (interest_ & (EPOLLIN | EPOLLOUT)) == 0) {
        if (closing_) {
            finish({});
            return;
        }
        loop_.unwatch(fd_);
        watched_ = false;
    }
}

void Stream::read_available() {
    char buffer[kReadChunk];
    std::size_t total = 0;
    bool eof = false;
    int error = 0;
    while (total < kReadCapPerWake) {
        // Never past the cap, even after a short read: the cap is a promise to the loop.
        const long n = transport_read(buffer, std::min(sizeof buffer, kReadCapPerWake - total));
        if (n > 0) {
            if (!closing_) {
                input_.append(buffer, static_cast<std::size_t>(n));
            }
            total += static_cast<std::size_t>(n);
        } else if (n == 0) {
            eof = true;
            break;
        } else {
            if (n != -EAGAIN) {
                error = static_cast<int>(-n);
            }
            break;
        }
    }
    if (total > 0 && !closing_ && callbacks_.on_data) {
        callbacks_.on_data(input_);
        if (fd_ < 0) {
            return;  // on_data closed us
        }
    }
    if (error == 0 && !eof) {
        read_buffered_tls();  // stopped at the cap with records already decrypted
    }
    if (error != 0) {
        finish(errno_code(error));
    } else if (eof) {
        if (closing_ && !output_.empty()) {
            // The peer half-closed but may still read our last bytes: keep flushing.
            read_eof_ = true;
            update_interest();
        } else {
            finish({});
        }
    }
}

// --- output ------------------------------------------------------------------------

void Stream::send(std::string bytes) {
    if (fd_ < 0) {
        return;
    }
    output_.append(std::move(bytes));
    schedule_flush();
}

void Stream::send_shared(SharedBytes bytes) {
    if (fd_ < 0) {
        return;
    }
    output_.append_shared(std::move(bytes));
    schedule_flush();
}

void Stream::schedule_flush() {
    // While waiting for EPOLLOUT the socket is full: the event, not a deferral, flushes.
    if (flush_scheduled_ || want_write_ || fd_ < 0) {
        return;
    }
    flush_scheduled_ = true;
    loop_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.expired()) {
            return;
        }
        flush_scheduled_ = false;
        flush();
    });
}

void Stream::flush() {
    if (fd_ < 0) {
        return;
    }
    if (const int error = transport_flush(); error != 0) {
        finish(errno_code(error));
        return;
    }
    if (output_.empty()) {
        if (closing_) {
            // Drain what the peer sent meanwhile, so close() sends FIN rather than RST.
            char sink[kReadChunk];
            for (std::size_t total = 0; total < kReadCapPerWake;) {
                const long n = transport_read(sink, sizeof sink);
                if (n <= 0) {
                    break;
                }
                total += static_cast<std::size_t>(n);
            }
            finish({});
            return;
        }
        if (want_write_) {
            want_write_ = false;
            update_interest();
        }
    } else if (!want_write_) {
        want_write_ = true;
        update_interest();
    }
}

// --- closing -----------------------------------------------------------------------

void Stream::close_after_flush(std::chrono::milliseconds linger) {
    if (fd_ < 0 || closing_) {
        return;
    }
    // input_ is left alone: the caller may be inside on_data, holding a view into it.
    closing_ = true;
    update_interest();
    loop_.after(linger, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired() && fd_ >= 0) {
            finish(std::make_error_code(std::errc::timed_out));
        }
    });
    // Deferred even when nothing is queued, so on_close never runs inside this call.
    schedule_flush();
}

void Stream::close() {
    finish({});
}

void Stream::finish(std::error_code error) {
    if (fd_ < 0) {
        return;  // already finished: on_close runs once
    }
    // Become closed before the callback, which may re-enter send() or close().
    const int fd = std::exchange(fd_, -1);
    if (watched_) {
        loop_.unwatch(fd);
        watched_ = false;
    }
    if (tls_) {
        if (!error) {
            tls_->shut_down();  // close_notify, best effort
        }
        tls_.reset();
    }
    ::close(fd);
    output_.clear();
    want_write_ = false;
    interest_ = 0;
    // Moved out so that the callback may even destroy this Stream without destroying
    // the function object that is running. on_data is left alone: we may be inside it.
    auto on_close = std::move(callbacks_.on_close);
    callbacks_.on_close = nullptr;
    if (on_close) {
        on_close(error);
    }
}

}  // namespace petrel::net
