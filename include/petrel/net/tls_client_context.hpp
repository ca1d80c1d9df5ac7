// The client side of TLS, for outgoing connections (a bridge to another broker): the
// settings and the OpenSSL context built from them, shared by every connection made with
// them.
//
// The server's certificate is always verified against the CAs (cafile / capath, or the
// system's default store when neither is given), and its name against the host connected
// to: a DNS name through the certificate's subjectAltName DNS entries (SSL_set1_host), an
// IP literal through its IP entries. `insecure` drops the name check only, as Mosquitto's
// bridge_insecure does: the chain must still verify. SNI carries the host name (never an
// IP literal, which RFC 6066 forbids there).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "petrel/net/stream.hpp"
#include "petrel/net/tls_context.hpp"

struct ssl_ctx_st;

namespace petrel::net {

struct TlsClientSettings {
    std::string cafile;  // PEM CA certificates the server's chain must end in
    std::string capath;  // directory of hashed CA certificates (c_rehash)
    // Our own certificate (PEM chain) and key, for servers that require one; both or neither.
    std::string certfile;
    std::string keyfile;
    bool insecure = false;  // skip the host name check (the chain is still verified)
    TlsVersion min_version = TlsVersion::Tls12;
    // Offered application protocols, in order of preference (ALPN; e.g. "mqtt"). Empty:
    // none offered. A server that picks none is accepted.
    std::vector<std::string> alpn;
};

class TlsClientContext {
  public:
    // Builds the context; throws std::runtime_error naming the file or setting at fault.
    explicit TlsClientContext(TlsClientSettings settings);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    const TlsClientSettings& settings() const { return settings_; }

    // A client session for the connected socket `fd` to `host` (as the user wrote it: a
    // name or an IP literal), not yet handshaken: Stream or Connector drive it. Thread-safe.
    // Throws std::runtime_error when OpenSSL cannot make one.
    TlsSessionPtr new_session(int fd, const std::string& host) const;

  private:
    const TlsClientSettings settings_;
    std::shared_ptr<ssl_ctx_st> ctx_;
};

}  // namespace petrel::net
