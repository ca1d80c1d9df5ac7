#include "petrel/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cstring>
#include <stdexcept>
#include <utility>

#include "openssl_errors.hpp"
#include "tls_psk.hpp"
#include "tls_session.hpp"

namespace petrel::net {

struct TlsContext::Material {
    std::shared_ptr<SSL_CTX> ctx;
    std::shared_ptr<const PskServerState> psk;  // null without TLS-PSK
};

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw_with_openssl_errors(what);
}

// The context's TLS 1.3 suites, those with a SHA-256 hash first; "" when it has none.
std::string sha256_suites_first(SSL_CTX* ctx) {
    std::string sha256;
    std::string others;
    STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
        const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
        if (std::strcmp(SSL_CIPHER_get_version(cipher), "TLSv1.3") != 0) {
            continue;
        }
        const EVP_MD* digest = SSL_CIPHER_get_handshake_digest(cipher);
        std::string& list =
            digest != nullptr && EVP_MD_get_type(digest) == NID_sha256 ? sha256 : others;
        list += list.empty() ? "" : ":";
        list += SSL_CIPHER_get_name(cipher);
    }
    if (sha256.empty()) {
        return {};
    }
    return others.empty() ? sha256 : sha256 + ":" + others;
}

// TLS-PSK on `ctx`: the keys from the PSK file, the hint, and the callbacks that look
// identities up (TlsSession).
std::shared_ptr<const PskServerState> set_up_psk(SSL_CTX* ctx, const TlsSettings& s) {
    auto state = std::make_shared<PskServerState>();
    state->keys = PskFile::load(s.psk_file);  // throws naming FILE:LINE
    state->tls13_suites = sha256_suites_first(ctx);
    if (state->tls13_suites.empty()) {
        fail("ciphersuites '" + s.ciphersuites +
             "' has no SHA-256 suite, which TLS 1.3 PSK clients need "
             "(TLS_AES_128_GCM_SHA256 or TLS_CHACHA20_POLY1305_SHA256)");
    }
    if (SSL_CTX_use_psk_identity_hint(ctx, s.psk_hint.c_str()) != 1) {
        fail("psk_hint is longer than " + std::to_string(PSK_MAX_IDENTITY_LEN) + " bytes");
    }
    SSL_CTX_set_psk_server_callback(ctx, &TlsSession::find_psk);
    SSL_CTX_set_client_hello_cb(ctx, &TlsSession::on_client_hello, nullptr);
    // No session resumption: every handshake then asks for the identity's key, so a key
    // removed from the file stops working at the next reload, and (TLS 1.3) a resumed
    // session can only be an external PSK (see TlsSession::used_psk).
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return state;
}

}  // namespace

TlsContext::TlsContext(TlsSettings settings)
    : settings_(std::move(settings)), current_(build(settings_)) {}

TlsContext::~TlsContext() = default;

TlsContext::MaterialPtr TlsContext::build(const TlsSettings& s) {
    if (!s.uses_certificate() && !s.uses_psk()) {
        throw std::runtime_error(
            "a TLS listener needs certfile and keyfile, or psk_hint and psk_file");
    }
    ERR_clear_error();
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
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
    if (s.uses_certificate()) {
        use_certificate_and_key(raw, s.certfile, s.keyfile);
    }
    std::shared_ptr<const PskServerState> psk;
    if (s.uses_psk()) {
        psk = set_up_psk(raw, s);
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
    if (!s.crlfile.empty()) {
        if (!have_ca) {
            fail("crlfile " + s.crlfile + " needs cafile or capath");
        }
        // Checked for the client's own certificate, as Mosquitto does (X509_V_FLAG_CRL_CHECK):
        // a certificate the list revokes fails the handshake. A reload re-reads the list.
        X509_STORE* store = SSL_CTX_get_cert_store(raw);
        X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (lookup == nullptr ||
            X509_load_crl_file(lookup, s.crlfile.c_str(), X509_FILETYPE_PEM) < 1) {
            fail("cannot load crlfile " + s.crlfile);
        }
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    int verify = SSL_VERIFY_NONE;
    if (s.require_certificate) {
        verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    } else if (have_ca && s.username_source() != TlsUsernameSource::Connect) {
        verify = SSL_VERIFY_PEER;  // ask for a certificate; a client without one may connect
    }
    SSL_CTX_set_verify(raw, verify, nullptr);
    // A session id context is required once client certificates are verified and
    // sessions are resumed.
    static const unsigned char kSessionContext[] = "petrel";
    SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1);
    ERR_clear_error();
    return std::make_shared<const Material>(Material{std::move(ctx), std::move(psk)});
}

TlsContext::MaterialPtr TlsContext::current() const {
    const std::lock_guard lock(mutex_);
    return current_;
}

std::size_t TlsContext::psk_identities() const {
    const MaterialPtr material = current();
    return material->psk ? material->psk->keys.size() : 0;
}

void TlsContext::reload() {
    MaterialPtr fresh = build(settings_);  // throws, leaving the current one in place
    const std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
}

TlsSessionPtr TlsContext::new_session(int fd) const {
    const MaterialPtr material = current();
    ERR_clear_error();
    // The SSL object holds its own reference to the context, and the session one to the
    // PSK keys, so a reload never pulls either from under a live connection.
    SSL* ssl = SSL_new(material->ctx.get());
    if (ssl == nullptr) {
        fail("cannot create a TLS session");
    }
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        fail("cannot attach a TLS session to its socket");
    }
    SSL_set_accept_state(ssl);
    return TlsSessionPtr(new TlsSession(ssl, settings_.username_source(), material->psk));
}

}  // namespace petrel::net
