// One connection's TLS state (an OpenSSL SSL object bound to a non-blocking socket):
// the handshake (server side, or client side for an outgoing connection), record reads
// and writes, each reporting whether it must wait for the socket to become readable or
// writable rather than blocking.
//
// The session owns no socket: it moves, with the socket's fd, from one worker's Stream to
// another's (see Stream::release).
//
// On a TLS-PSK listener the session also answers OpenSSL's PSK callbacks: it looks the
// client's identity up in the listener's keys and remembers it, for the user name and
// for the log.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "petrel/net/tls_context.hpp"

struct ssl_st;

namespace petrel::net {

struct PskServerState;

class TlsSession {
  public:
    // Takes ownership of `ssl`, already set up for `fd` in server mode (TlsContext) or
    // client mode (TlsClientContext). `psk`: the listener's keys (null without TLS-PSK,
    // and always for a client).
    TlsSession(ssl_st* ssl, TlsUsernameSource username_source,
               std::shared_ptr<const PskServerState> psk);
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
    // The verified client certificate's whole subject in RFC 2253 form
    // ("CN=dev1,O=Example"), if any.
    std::optional<std::string> peer_subject() const;
    // The identity whose pre-shared key authenticated the handshake, once established.
    std::optional<std::string> psk_identity() const;
    TlsUsernameSource username_source() const { return username_source_; }

    // OpenSSL callbacks, installed on the context of a TLS-PSK listener (TlsContext). They
    // find their session through the SSL object's app data.
    static unsigned int find_psk(ssl_st* ssl, const char* identity, unsigned char* psk,
                                 unsigned int max_psk_len);
    static int on_client_hello(ssl_st* ssl, int* alert, void* unused);

  private:
    Step classify(int result, const char* what);
    bool used_psk() const;

    ssl_st* ssl_;
    TlsUsernameSource username_source_;
    std::shared_ptr<const PskServerState> psk_;
    bool established_ = false;
    bool failed_ = false;
    std::string error_;
    std::string psk_identity_;  // the identity whose key was handed to OpenSSL
    std::string psk_problem_;   // why no key was (an unknown identity), for error()
};

}  // namespace petrel::net
