// The server side of TLS for one listener: its settings (files, minimum version, cipher
// lists, client-certificate policy) and the OpenSSL context built from them.
//
// Each accepted socket gets its own session (TlsContext::new_session) from the context
// current at that moment. reload() builds a new context from the same files — a renewed
// certificate and key, or a new CA — and swaps it in: new handshakes use it, while live
// sessions keep a reference to the context they started with and carry on.
#pragma once

#include <cstddef>
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
    bool require_certificate = false;  // handshake fails without a valid client cert
    // The client certificate's CN, or the PSK identity, is the username.
    bool use_identity_as_username = false;
    // The client certificate's whole subject (RFC 2253, e.g. "CN=dev1,O=Example") is the
    // username, as Mosquitto's use_subject_as_username.
    bool use_subject_as_username = false;
    // PEM certificate revocation list(s): a client certificate it revokes fails the
    // handshake (Mosquitto's crlfile; needs cafile or capath).
    std::string crlfile;
    // TLS-PSK: the hint sent to TLS 1.2 clients (it also switches PSK on, as in
    // Mosquitto), and the file of identity:hexkey lines (see psk_file.hpp).
    std::string psk_hint;
    std::string psk_file;

    bool uses_certificate() const { return !certfile.empty(); }
    TlsUsernameSource username_source() const {
        return use_subject_as_username    ? TlsUsernameSource::Subject
               : use_identity_as_username ? TlsUsernameSource::Identity
                                          : TlsUsernameSource::Connect;
    }
    bool uses_psk() const { return !psk_hint.empty(); }
};

class TlsContext {
  public:
    // Builds the context; throws std::runtime_error naming the file or setting at fault
    // (a bad PSK file line as FILE:LINE).
    explicit TlsContext(TlsSettings settings);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    const TlsSettings& settings() const { return settings_; }
    // Identities in the PSK file currently loaded (0 without PSK).
    std::size_t psk_identities() const;

    // Re-reads the files. On failure the current context stays and the error is thrown
    // (std::runtime_error); live and new connections are unaffected. Thread-safe.
    void reload();

    // A server session for the accepted socket `fd` (not yet handshaken). Thread-safe.
    // Throws std::runtime_error when OpenSSL cannot make one (out of memory).
    TlsSessionPtr new_session(int fd) const;

  private:
    // The OpenSSL context and the PSK keys its sessions look up, built and swapped together.
    struct Material;
    using MaterialPtr = std::shared_ptr<const Material>;
    static MaterialPtr build(const TlsSettings& settings);
    MaterialPtr current() const;

    const TlsSettings settings_;
    mutable std::mutex mutex_;
    MaterialPtr current_;  // guarded by mutex_
};

}  // namespace petrel::net
