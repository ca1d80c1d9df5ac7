// A non-blocking byte stream on one event loop: buffered reads, and writes gathered into
// few writev() calls. It knows nothing of MQTT.
//
// Output is a queue of chunks, each either owned bytes or a reference to a shared,
// immutable buffer (a message payload that many streams send without copying it).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "petrel/net/event_loop.hpp"

namespace petrel::net {

using SharedBytes = std::shared_ptr<const std::string>;

// Pending output, flushed with writev. Pure: flush_to() only needs a file descriptor.
class OutputQueue {
public:
    void append(std::string bytes);
    void append_shared(SharedBytes bytes);
    std::size_t size_bytes() const { return size_bytes_; }
    bool empty() const { return size_bytes_ == 0; }
    // Writes as much as the socket takes. Returns 0 or the errno of a failed write
    // (EAGAIN is not a failure: it returns 0 and leaves the rest queued).
    int flush_to(int fd);

private:
    struct Chunk {
        std::string owned;
        SharedBytes shared;  // when set, the chunk's bytes are *shared, else owned
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
        // once, on the loop thread, after which the stream does nothing.
        std::function<void(std::error_code error)> on_close;
    };

    // Takes ownership of `fd` (non-blocking) and starts watching it.
    Stream(EventLoop& loop, int fd, std::string peer, Callbacks callbacks);
    ~Stream();  // closes the socket without calling on_close
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Queue bytes; they are written after the current batch of events (EventLoop::defer),
    // so many sends become one writev.
    void send(std::string bytes);
    void send_shared(SharedBytes bytes);
    std::size_t pending_output_bytes() const { return output_.size_bytes(); }

    // Stops reading, writes what is queued (bounded by `linger`), then closes and calls
    // on_close with no error.
    void close_after_flush();
    // Closes now, dropping queued output; calls on_close with no error.
    void close();

    bool is_open() const { return fd_ >= 0; }
    const std::string& peer() const { return peer_; }

    // Pauses / resumes reading (back-pressure); data already buffered stays buffered.
    void pause_reading();
    void resume_reading();

private:
    void on_events(std::uint32_t events);
    void read_available();
    void schedule_flush();
    void flush();
    void update_interest();
    void finish(std::error_code error);

    EventLoop& loop_;
    int fd_ = -1;
    std::string peer_;
    Callbacks callbacks_;
    std::string input_;
    OutputQueue output_;
    bool flush_scheduled_ = false;
    bool closing_ = false;
    bool reading_paused_ = false;
    bool want_write_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards deferred flushes
};

}  // namespace petrel::net
