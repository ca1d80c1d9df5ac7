#include "petrel/net/tls_client_context.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <utility>

#include "openssl_errors.hpp"
#include "tls_session.hpp"

namespace petrel::net {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw_with_openssl_errors(what);
}

bool is_ip_literal(const std::string& host) {
    unsigned char address[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// ALPN's wire format: each name preceded by its length.
std::string alpn_wire(const std::vector<std::string>& names) {
    std::string wire;
    for (const std::string& name : names) {
        if (name.empty() || name.size() > 255) {
            throw std::runtime_error("ALPN protocol name '" + name +
                                     "' must be 1 to 255 bytes long");
        }
        wire += static_cast<char>(name.size());
        wire += name;
    }
    return wire;
}

}  // namespace

TlsClientContext::TlsClientContext(TlsClientSettings settings) : settings_(std::move(settings)) {
    const TlsClientSettings& s = settings_;
    if (s.certfile.empty() != s.keyfile.empty()) {
        throw std::runtime_error(s.certfile.empty()
                                     ? "keyfile " + s.keyfile + " given without a certfile"
                                     : "certfile " + s.certfile + " given without a keyfile");
    }
    const std::string wire = alpn_wire(s.alpn);
    ERR_clear_error();
    ctx_.reset(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx_) {
        fail("cannot create a TLS client context");
    }
    SSL_CTX* raw = ctx_.get();
    SSL_CTX_set_min_proto_version(
        raw, s.min_version == TlsVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    // As on the server side (TlsContext): no renegotiation, a bare TCP close is an end of
    // stream, and partial writes for the output queue.
    SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (!s.cafile.empty() || !s.capath.empty()) {
        if (SSL_CTX_load_verify_locations(raw, s.cafile.empty() ? nullptr : s.cafile.c_str(),
                                          s.capath.empty() ? nullptr : s.capath.c_str()) != 1) {
            fail("cannot load CA certificates from " + (s.cafile.empty() ? s.capath : s.cafile));
        }
    } else if (SSL_CTX_set_default_verify_paths(raw) != 1) {
        fail("cannot load the system's default CA certificates");
    }
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    if (!s.certfile.empty()) {
        use_certificate_and_key(raw, s.certfile, s.keyfile);
    }
    // (SSL_CTX_set_alpn_protos returns 0 on success, unlike the rest of OpenSSL.)
    if (!wire.empty() &&
        SSL_CTX_set_alpn_protos(raw, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
        fail("cannot set the ALPN protocols");
    }
    ERR_clear_error();
}

TlsClientContext::~TlsClientContext() = default;

TlsSessionPtr TlsClientContext::new_session(int fd, const std::string& host) const {
    ERR_clear_error();
    SSL* ssl = SSL_new(ctx_.get());
    if (ssl == nullptr) {
        fail("cannot create a TLS session");
    }
    TlsSessionPtr session(new TlsSession(ssl, TlsUsernameSource::Connect, nullptr));
    if (SSL_set_fd(ssl, fd) != 1) {
        fail("cannot attach a TLS session to its socket");
    }
    const bool ip = is_ip_literal(host);
    if (!ip && !host.empty() && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
        fail("cannot set the TLS server name " + host);
    }
    if (!settings_.insecure) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
        if (set != 1) {
            fail("cannot verify the server's certificate against the host name " + host);
        }
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    SSL_set_connect_state(ssl);
    return session;
}

}  // namespace petrel::net
