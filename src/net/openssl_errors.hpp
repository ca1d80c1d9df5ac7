// OpenSSL reports why a call failed in a per-thread queue of errors. Every place in net
// that reports a failure takes the whole queue, so that no stale entry is left for the
// next connection served on the thread. Also the one way both sides load a certificate.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <string>

namespace petrel::net {

// "; reason; reason …" for each entry of this thread's queue, which is left empty.
inline std::string take_openssl_errors() {
    std::string reasons;
    char text[256];
    for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
        ERR_error_string_n(e, text, sizeof text);
        reasons += "; ";
        reasons += text;
    }
    return reasons;
}

// Start-up failures (a bad file, a bad setting): "what; OpenSSL's reasons".
[[noreturn]] inline void throw_with_openssl_errors(const std::string& what) {
    throw std::runtime_error(what + take_openssl_errors());
}

// The certificate chain and its key into `ctx`, checked against each other; a failure
// names the file.
inline void use_certificate_and_key(SSL_CTX* ctx, const std::string& certfile,
                                    const std::string& keyfile) {
    if (SSL_CTX_use_certificate_chain_file(ctx, certfile.c_str()) != 1) {
        throw_with_openssl_errors("cannot load certfile " + certfile);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, keyfile.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw_with_openssl_errors("cannot load keyfile " + keyfile);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        throw_with_openssl_errors("keyfile " + keyfile + " does not match certfile " + certfile);
    }
}

}  // namespace petrel::net
