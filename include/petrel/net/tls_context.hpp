// The server side of TLS for one listener: its settings (files, minimum version, cipher
// lists, client-certificate policy) and the OpenSSL context built from them.
//
// Each accepted socket gets its own session (TlsContext::new_session) from the context
// current at that moment. reload() builds a new context from the same files — a renewed
// certificate and key, or a new CA — and swaps it in: new handshakes use it, while live
// sessions keep a reference to the context they started with and carry on.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "petrel/net/stream.hpp"

struct ssl_ctx_st;

namespace petrel::net {

enum class TlsVersion { Tls12, Tls13 };

struct TlsSettings {
    std::string certfile;  // PEM certificate chain (the server's first)
    std::string keyfile;   // PEM private key
    std::string cafile;    // PEM CA certificates for client certificates
    std::string capath;    // directory of hashed CA certificates (c_rehash)
    TlsVersion min_version = TlsVersion::Tls12;
    std::string ciphers;       // TLS 1.2 cipher list (OpenSSL syntax); "": OpenSSL's default
    std::string ciphersuites;  // TLS 1.3 suites; "": OpenSSL's default
    bool require_certificate = false;       // handshake fails without a valid client cert
    bool use_identity_as_username = false;  // the client certificate's CN is the username
};

class TlsContext {
  public:
    // Builds the context; throws std::runtime_error naming the file or setting at fault.
    explicit TlsContext(TlsSettings settings);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    const TlsSettings& settings() const { return settings_; }

    // Re-reads the files. On failure the current context stays and the error is thrown
    // (std::runtime_error); live and new connections are unaffected. Thread-safe.
    void reload();

    // A server session for the accepted socket `fd` (not yet handshaken). Thread-safe.
    // Throws std::runtime_error when OpenSSL cannot make one (out of memory).
    TlsSessionPtr new_session(int fd) const;

  private:
    using ContextPtr = std::shared_ptr<ssl_ctx_st>;
    static ContextPtr build(const TlsSettings& settings);

    const TlsSettings settings_;
    mutable std::mutex mutex_;
    ContextPtr current_;  // guarded by mutex_
};

}  // namespace petrel::net
