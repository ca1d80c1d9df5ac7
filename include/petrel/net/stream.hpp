// A non-blocking byte stream on one event loop: buffered reads, and writes gathered into
// few writev() calls. It knows nothing of MQTT.
//
// Output is a queue of chunks, each either owned bytes or a reference to a shared,
// immutable buffer (a message payload that many streams send without copying it).
//
// A stream may carry a TLS session: it then runs the server handshake first (input is
// delivered only once it is done) and encrypts and decrypts in its two transport calls.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "petrel/net/event_loop.hpp"

namespace petrel::net {

using SharedBytes = std::shared_ptr<const std::string>;

// Where a TLS client's MQTT user name comes from: its CONNECT (checked like any other),
// or the TLS handshake, which is then also its proof (use_identity_as_username: the PSK
// identity or the certificate's CN; use_subject_as_username: the certificate's subject).
enum class TlsUsernameSource { Connect, Identity, Subject };

// One connection's TLS state (src/net/tls_session.hpp), opaque outside the net layer: it
// is made by TlsContext::new_session and travels with its socket.
class TlsSession;
struct TlsSessionDeleter {
    void operator()(TlsSession* session) const;
};
using TlsSessionPtr = std::unique_ptr<TlsSession, TlsSessionDeleter>;

// Pending output, flushed with writev. Pure: flush_to() only needs a file descriptor.
class OutputQueue {
  public:
    void append(std::string bytes);
    void append_shared(SharedBytes bytes);
    std::size_t size_bytes() const { return size_bytes_; }
    bool empty() const { return size_bytes_ == 0; }
    // Writes as much as the socket takes. Returns 0 or the errno of a failed write
    // (EAGAIN is not a failure: it returns 0 and leaves the rest queued). Sockets are
    // written with sendmsg(MSG_NOSIGNAL), so a closed peer gives EPIPE, never SIGPIPE;
    // other fds (pipes, in tests) fall back to writev, which can raise SIGPIPE.
    int flush_to(int fd);

    // The seam for other transports (TLS): describe up to `max` iovecs of the queued
    // bytes, in order, and drop `n` bytes from the front once they are written.
    std::size_t gather(iovec* out, std::size_t max) const;
    void consume(std::size_t n);
    void clear();

  private:
    struct Chunk {
        std::string owned;
        SharedBytes shared;      // when set, the chunk's bytes are *shared, else owned
        std::size_t offset = 0;  // bytes of this chunk already written
        std::string_view bytes() const;
    };
    std::deque<Chunk> chunks_;
    std::size_t size_bytes_ = 0;
};

class Stream {
  public:
    struct Callbacks {
        // New bytes arrived. `input` holds every unconsumed byte; erase what you consumed
        // (from the front). Called on the loop thread.
        std::function<void(std::string& input)> on_data;
        // The stream closed: peer hang-up (error code 0 / eof) or a socket error. Called
        // once, on the loop thread, after which the stream does nothing. It may be called
        // from inside close() and from event handlers, never from inside send(); the fd
        // is already closed when it runs.
        std::function<void(std::error_code error)> on_close;
    };

    static constexpr std::chrono::milliseconds kDefaultLinger{2000};

    // Takes ownership of `fd` (non-blocking) and starts watching it. Throws
    // std::system_error if the loop cannot watch it (the fd is then closed).
    Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks);
    // The same, for a socket that moved here from another loop with bytes already read:
    // `unread` is handed to on_data after the current batch.
    Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks, std::string unread);
    // With TLS: `tls` is the socket's session, new (the handshake runs first; a failed
    // handshake closes the stream with std::errc::protocol_error) or established (a
    // socket moved here with release()).
    Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks, std::string unread,
           TlsSessionPtr tls);
    ~Stream();  // closes the socket without calling on_close
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Queue bytes; they are written after the current batch of events (EventLoop::defer),
    // so many sends become one writev. Ignored once the stream is closed.
    void send(std::string bytes);
    void send_shared(SharedBytes bytes);
    std::size_t pending_output_bytes() const { return output_.size_bytes(); }

    // Stops delivering input (what arrives is read and discarded, so that closing does
    // not turn into a reset), writes what is queued, then closes and calls on_close with
    // no error — or with the write error, or std::errc::timed_out if the output could not
    // be written within `linger`.
    void close_after_flush(std::chrono::milliseconds linger = kDefaultLinger);
    // Closes now, dropping queued output; calls on_close with no error.
    void close();

    bool is_open() const { return fd_ >= 0; }

    // Gives the socket up without closing it, so that another loop can take it over
    // (see the constructor with `unread`). Input not yet consumed is moved to `unread`;
    // queued output is dropped (call it before sending anything). on_close is not called.
    // Safe to call from inside on_data.
    int release(std::string& unread);
    // The same for a TLS stream: its session goes along with the socket.
    int release(std::string& unread, TlsSessionPtr& tls);
    const std::string& peer() const { return peer_; }

    bool is_tls() const { return tls_ != nullptr; }
    // The verified client certificate's CN (TLS with a client certificate only).
    std::optional<std::string> tls_peer_common_name() const;
    // The identity whose pre-shared key authenticated the handshake (TLS-PSK only).
    std::optional<std::string> tls_psk_identity() const;
    // The verified client certificate's whole subject, RFC 2253 (TLS only).
    std::optional<std::string> tls_peer_subject() const;
    // Where the listener takes the client's MQTT user name from (Connect without TLS).
    TlsUsernameSource tls_username_source() const;
    // Why the last TLS handshake or record failed ("" if none did).
    const std::string& tls_error() const { return tls_error_; }

    // Pauses / resumes reading (back-pressure); data already buffered stays buffered.
    // resume_reading() hands a non-empty buffer to on_data again (deferred), so that
    // bytes left unconsumed at the pause are not stuck waiting for more input.
    void pause_reading();
    void resume_reading();

  private:
    void on_events(std::uint32_t events);
    void read_available();
    void schedule_flush();
    void flush();
    void update_interest();
    void start_watching();
    void redeliver_input();
    void finish(std::error_code error);
    std::uint32_t wanted_events() const;
    void advance_handshake();
    void read_buffered_tls();
    bool handshaking() const;

    // Transport: the only two places that touch the socket's bytes, so that a TLS
    // transport can take their place. transport_read returns bytes read, 0 at EOF,
    // or -errno (-EAGAIN when nothing is available).
    long transport_read(char* buffer, std::size_t size);
    int transport_flush();
    int tls_flush();

    EventLoop& loop_;
    int fd_ = -1;
    std::string peer_;
    Callbacks callbacks_;
    std::string input_;
    OutputQueue output_;
    bool watched_ = false;          // registered with the loop (false while parked on hang-up)
    std::uint32_t interest_ = 0;    // events currently registered
    bool flush_scheduled_ = false;  // a deferred flush is queued
    bool closing_ = false;          // close_after_flush() was called
    bool reading_paused_ = false;
    bool read_eof_ = false;    // peer half-closed while we were still flushing (closing_)
    bool want_write_ = false;  // output hit EAGAIN; waiting for EPOLLOUT
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards deferred work
    TlsSessionPtr tls_;
    // The TLS layer waits for the socket to be writable (handshake, or a record write
    // that must be retried) or readable (handshake).
    bool tls_wants_write_ = false;
    bool tls_wants_read_ = true;
    std::size_t tls_retry_size_ = 0;  // a record write that waited: retry this many bytes
    std::string tls_scratch_;         // small queued chunks gathered into one record
    std::string tls_error_;
};

}  // namespace petrel::net
