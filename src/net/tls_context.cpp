#include "petrel/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <utility>

#include "tls_session.hpp"

namespace petrel::net {

namespace {

// "what: OpenSSL's reasons", emptying this thread's error queue.
[[noreturn]] void fail(const std::string& what) {
    std::string message = what;
    char text[256];
    for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
        ERR_error_string_n(e, text, sizeof text);
        message += "; ";
        message += text;
    }
    throw std::runtime_error(message);
}

}  // namespace

TlsContext::TlsContext(TlsSettings settings)
    : settings_(std::move(settings)), current_(build(settings_)) {}

TlsContext::~TlsContext() = default;

TlsContext::ContextPtr TlsContext::build(const TlsSettings& s) {
    ERR_clear_error();
    ContextPtr ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx) {
        fail("cannot create a TLS context");
    }
    SSL_CTX* raw = ctx.get();
    const int min = s.min_version == TlsVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(raw, min);
    // No renegotiation (a write that must wait for a read would stall our flush), and a
    // bare TCP close reads as end of stream, as it does on a plain socket.
    SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Partial writes: the output queue drops what was written and retries the rest.
    SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(raw, s.ciphers.c_str()) != 1) {
        fail("ciphers '" + s.ciphers + "' selects no cipher");
    }
    if (!s.ciphersuites.empty() && SSL_CTX_set_ciphersuites(raw, s.ciphersuites.c_str()) != 1) {
        fail("ciphersuites '" + s.ciphersuites + "' selects no cipher suite");
    }
    if (SSL_CTX_use_certificate_chain_file(raw, s.certfile.c_str()) != 1) {
        fail("cannot load certfile " + s.certfile);
    }
    if (SSL_CTX_use_PrivateKey_file(raw, s.keyfile.c_str(), SSL_FILETYPE_PEM) != 1) {
        fail("cannot load keyfile " + s.keyfile);
    }
    if (SSL_CTX_check_private_key(raw) != 1) {
        fail("keyfile " + s.keyfile + " does not match certfile " + s.certfile);
    }
    const bool have_ca = !s.cafile.empty() || !s.capath.empty();
    if (have_ca) {
        if (SSL_CTX_load_verify_locations(raw, s.cafile.empty() ? nullptr : s.cafile.c_str(),
                                          s.capath.empty() ? nullptr : s.capath.c_str()) != 1) {
            fail("cannot load CA certificates from " + (s.cafile.empty() ? s.capath : s.cafile));
        }
        if (!s.cafile.empty()) {
            // The CAs the server names to a client choosing its certificate.
            if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.cafile.c_str())) {
                SSL_CTX_set_client_CA_list(raw, names);
            }
        }
    }
    int verify = SSL_VERIFY_NONE;
    if (s.require_certificate) {
        verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    } else if (have_ca && s.use_identity_as_username) {
        verify = SSL_VERIFY_PEER;  // ask for a certificate; a client without one may connect
    }
    SSL_CTX_set_verify(raw, verify, nullptr);
    // A session id context is required once client certificates are verified and
    // sessions are resumed.
    static const unsigned char kSessionContext[] = "petrel";
    SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1);
    ERR_clear_error();
    return ctx;
}

void TlsContext::reload() {
    ContextPtr fresh = build(settings_);  // throws, leaving the current one in place
    const std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
}

TlsSessionPtr TlsContext::new_session(int fd) const {
    ContextPtr ctx;
    {
        const std::lock_guard lock(mutex_);
        ctx = current_;
    }
    ERR_clear_error();
    // The SSL object holds its own reference to the context, so a reload never pulls it
    // from under a live connection.
    SSL* ssl = SSL_new(ctx.get());
    if (ssl == nullptr) {
        fail("cannot create a TLS session");
    }
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        fail("cannot attach a TLS session to its socket");
    }
    SSL_set_accept_state(ssl);
    return TlsSessionPtr(new TlsSession(ssl, settings_.use_identity_as_username));
}

}  // namespace petrel::net
