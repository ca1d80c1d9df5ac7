#include "tls_session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>

#include "petrel/net/stream.hpp"

namespace petrel::net {

void TlsSessionDeleter::operator()(TlsSession* session) const {
    delete session;
}

TlsSession::TlsSession(ssl_st* ssl, bool identity_is_username)
    : ssl_(ssl), identity_is_username_(identity_is_username) {}

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
    if (code == SSL_ERROR_SYSCALL) {
        error_ += errno != 0 ? std::string(": ") + std::strerror(errno) : ": connection closed";
    } else if (code == SSL_ERROR_ZERO_RETURN) {
        error_ += ": connection closed";
    }
    // The queue is per thread: take every entry, so that none is left for the next
    // connection served on this thread.
    char text[256];
    for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
        ERR_error_string_n(e, text, sizeof text);
        error_ += "; ";
        error_ += text;
    }
    return Step::Failed;
}

TlsSession::Step TlsSession::handshake() {
    if (established_) {
        return Step::Done;
    }
    ERR_clear_error();
    errno = 0;
    const int result = SSL_accept(ssl_);
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

std::optional<std::string> TlsSession::peer_common_name() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) {
        return std::nullopt;
    }
    std::optional<std::string> name;
    if (SSL_get_verify_result(ssl_) == X509_V_OK) {
        X509_NAME* subject = X509_get_subject_name(cert);
        const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (index >= 0) {
            ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
            unsigned char* utf8 = nullptr;
            const int length = ASN1_STRING_to_UTF8(&utf8, data);
            if (length > 0) {
                name.emplace(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
            }
            OPENSSL_free(utf8);
        }
    }
    X509_free(cert);
    return name;
}

}  // namespace petrel::net
