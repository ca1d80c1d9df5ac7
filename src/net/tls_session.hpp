// One connection's TLS state (an OpenSSL SSL object bound to a non-blocking socket):
// the server handshake, record reads and writes, each reporting whether it must wait for
// the socket to become readable or writable rather than blocking.
//
// The session owns no socket: it moves, with the socket's fd, from one worker's Stream to
// another's (see Stream::release).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

struct ssl_st;

namespace petrel::net {

class TlsSession {
  public:
    // Takes ownership of `ssl`, already set up for `fd` in server mode.
    TlsSession(ssl_st* ssl, bool identity_is_username);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    enum class Step { Done, WantRead, WantWrite, Failed };

    // Advances the handshake. After Failed, error() says why.
    Step handshake();
    bool established() const { return established_; }

    // Bytes read (> 0), 0 at the peer's close, or -1 when the caller must wait (`wait`
    // says for what) or -2 on failure (error()).
    long read(char* buffer, std::size_t size, Step& wait);
    // Bytes written (> 0), -1 to wait (`wait`), -2 on failure. A write that waited must
    // be retried with the same bytes (at least as many): see Stream::transport_flush.
    long write(const char* buffer, std::size_t size, Step& wait);
    // Plaintext already decrypted and buffered inside OpenSSL (no socket event will come
    // for it).
    bool has_buffered_input() const;
    // Sends close_notify once, best effort (never waits).
    void shut_down();

    const std::string& error() const { return error_; }
    // The verified client certificate's subject CN, if any.
    std::optional<std::string> peer_common_name() const;
    bool identity_is_username() const { return identity_is_username_; }

  private:
    Step classify(int result, const char* what);

    ssl_st* ssl_;
    bool identity_is_username_;
    bool established_ = false;
    bool failed_ = false;
    std::string error_;
};

}  // namespace petrel::net
