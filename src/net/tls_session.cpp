#include "tls_session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "openssl_errors.hpp"
#include "petrel/net/stream.hpp"
#include "tls_psk.hpp"

namespace petrel::net {

namespace {

// A client-chosen identity made safe for a log line: control and non-ASCII bytes as \xNN.
std::string printable(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f || c == '\\' || c == '\'') {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

void TlsSessionDeleter::operator()(TlsSession* session) const {
    delete session;
}

TlsSession::TlsSession(ssl_st* ssl, TlsUsernameSource username_source,
                       std::shared_ptr<const PskServerState> psk)
    : ssl_(ssl), username_source_(username_source), psk_(std::move(psk)) {
    SSL_set_app_data(ssl_, this);  // for the PSK callbacks
}

TlsSession::~TlsSession() {
    SSL_free(ssl_);
}

TlsSession::Step TlsSession::classify(int result, const char* what) {
    const int code = SSL_get_error(ssl_, result);
    switch (code) {
        case SSL_ERROR_WANT_READ:
            return Step::WantRead;
        case SSL_ERROR_WANT_WRITE:
            return Step::WantWrite;
        default:
            break;
    }
    failed_ = true;
    error_ = what;
    if (!established_ && !psk_problem_.empty()) {
        error_ += ": " + psk_problem_;
    } else if (!established_ && !psk_identity_.empty()) {
        error_ += " (PSK identity '" + printable(psk_identity_) + "')";
    }
    if (!established_) {
        // Why a client certificate was turned down (revoked, expired, unknown CA …), which
        // OpenSSL's error queue only reports as "certificate verify failed".
        // On the client side: why the server's was (wrong CA, host name mismatch …).
        const long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) {
            error_ +=
                SSL_is_server(ssl_) == 1 ? ": client certificate: " : ": server certificate: ";
            error_ += X509_verify_cert_error_string(verify);
        }
    }
    if (code == SSL_ERROR_SYSCALL) {
        error_ += errno != 0 ? std::string(": ") + std::strerror(errno) : ": connection closed";
    } else if (code == SSL_ERROR_ZERO_RETURN) {
        error_ += ": connection closed";
    }
    error_ += take_openssl_errors();
    return Step::Failed;
}

TlsSession::Step TlsSession::handshake() {
    if (established_) {
        return Step::Done;
    }
    ERR_clear_error();
    errno = 0;
    // Either role: the session was put in accept or connect state when it was made.
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) {
        established_ = true;
        return Step::Done;
    }
    return classify(result, "TLS handshake failed");
}

long TlsSession::read(char* buffer, std::size_t size, Step& wait) {
    ERR_clear_error();
    errno = 0;
    std::size_t got = 0;
    const int result = SSL_read_ex(ssl_, buffer, size, &got);
    if (result == 1) {
        return static_cast<long>(got);
    }
    const int code = SSL_get_error(ssl_, result);
    if (code == SSL_ERROR_ZERO_RETURN) {
        return 0;  // close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a bare TCP close
    }
    wait = classify(result, "TLS read failed");
    return wait == Step::Failed ? -2 : -1;
}

long TlsSession::write(const char* buffer, std::size_t size, Step& wait) {
    ERR_clear_error();
    errno = 0;
    std::size_t written = 0;
    const int result = SSL_write_ex(ssl_, buffer, size, &written);
    if (result == 1) {
        return static_cast<long>(written);
    }
    wait = classify(result, "TLS write failed");
    return wait == Step::Failed ? -2 : -1;
}

bool TlsSession::has_buffered_input() const {
    return established_ && SSL_pending(ssl_) > 0;
}

void TlsSession::shut_down() {
    // After a fatal error OpenSSL forbids SSL_shutdown; before the handshake there is
    // nothing to close.
    if (established_ && !failed_) {
        ERR_clear_error();
        SSL_shutdown(ssl_);
        ERR_clear_error();
        failed_ = true;  // once
    }
}

namespace {

// `read` applied to the client's certificate, if it sent one and it verified.
template <class Read>
std::optional<std::string> read_verified_certificate(ssl_st* ssl, Read read) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) {
        return std::nullopt;
    }
    std::optional<std::string> value;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        value = read(X509_get_subject_name(cert));
    }
    X509_free(cert);
    return value;
}

}  // namespace

std::optional<std::string> TlsSession::peer_common_name() const {
    return read_verified_certificate(ssl_, [](X509_NAME* subject) -> std::optional<std::string> {
        const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (index < 0) {
            return std::nullopt;
        }
        std::optional<std::string> name;
        ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
        unsigned char* utf8 = nullptr;
        const int length = ASN1_STRING_to_UTF8(&utf8, data);
        if (length > 0) {
            name.emplace(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
        }
        OPENSSL_free(utf8);
        return name;
    });
}

std::optional<std::string> TlsSession::peer_subject() const {
    return read_verified_certificate(ssl_, [](X509_NAME* subject) -> std::optional<std::string> {
        // RFC 2253 order and escaping, UTF-8 kept as it is: what Mosquitto's
        // use_subject_as_username gives, so ACL files written for it keep matching.
        BIO* out = BIO_new(BIO_s_mem());
        if (out == nullptr) {
            return std::nullopt;
        }
        std::optional<std::string> text;
        if (X509_NAME_print_ex(out, subject, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
            char* data = nullptr;
            const long length = BIO_get_mem_data(out, &data);
            if (length > 0) {
                text.emplace(data, static_cast<std::size_t>(length));
            }
        }
        BIO_free(out);
        return text;
    });
}

bool TlsSession::used_psk() const {
    if (SSL_version(ssl_) == TLS1_3_VERSION) {
        // An external PSK shows as a resumed session; TlsContext turns real resumption
        // (tickets, the session cache) off on PSK listeners, so nothing else does.
        return SSL_session_reused(ssl_) == 1;
    }
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
    if (cipher == nullptr) {
        return false;
    }
    const int kx = SSL_CIPHER_get_kx_nid(cipher);
    return kx == NID_kx_psk || kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk ||
           kx == NID_kx_rsa_psk;
}

std::optional<std::string> TlsSession::psk_identity() const {
    if (!established_ || psk_identity_.empty() || !used_psk()) {
        return std::nullopt;
    }
    return psk_identity_;
}

unsigned int TlsSession::find_psk(ssl_st* ssl, const char* identity, unsigned char* psk,
                                  unsigned int max_psk_len) {
    auto* session = static_cast<TlsSession*>(SSL_get_app_data(ssl));
    if (session == nullptr || session->psk_ == nullptr || identity == nullptr) {
        return 0;
    }
    const std::string* key = session->psk_->keys.find(identity);
    if (key == nullptr) {
        // 0: no key. TLS 1.2 then fails the handshake (unknown_psk_identity); TLS 1.3
        // ignores the PSK and needs a certificate instead.
        session->psk_identity_.clear();
        session->psk_problem_ = "unknown PSK identity '" + printable(identity) + "'";
        return 0;
    }
    if (key->size() > max_psk_len) {
        session->psk_problem_ = "the key of PSK identity '" + printable(identity) + "' is too long";
        return 0;
    }
    std::memcpy(psk, key->data(), key->size());
    session->psk_identity_ = identity;
    session->psk_problem_.clear();
    return static_cast<unsigned int>(key->size());
}

int TlsSession::on_client_hello(ssl_st* ssl, int* alert, void* /*unused*/) {
    auto* session = static_cast<TlsSession*>(SSL_get_app_data(ssl));
    if (session == nullptr || session->psk_ == nullptr) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    const unsigned char* extension = nullptr;
    std::size_t length = 0;
    // A TLS 1.3 client offering a PSK: choose among the suites its key can be used with.
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &extension, &length) == 1 &&
        SSL_set_ciphersuites(ssl, session->psk_->tls13_suites.c_str()) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace petrel::net
