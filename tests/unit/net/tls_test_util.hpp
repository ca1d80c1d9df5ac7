// Helpers for the net layer's TLS unit tests: throw-away certificates made in-process
// (no openssl command needed), a directory for the files a TlsContext reads, and an
// OpenSSL client that handshakes with a server TlsSession over a socketpair, both ends
// non-blocking and driven in turn on the test thread.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "petrel/net/tls_context.hpp"
#include "tls_session.hpp"

namespace petrel::net::test {

// A fresh directory, removed with its files at the end of the test.
class ScratchDir {
  public:
    ScratchDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "petrel-tls-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    std::string file(const std::string& name) const { return (path_ / name).string(); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path_ / name, std::ios::binary | std::ios::trunc) << text;
        return file(name);
    }

  private:
    std::filesystem::path path_;
};

// A self-signed EC P-256 certificate for CN=`common_name` and its key, written as PEM to
// `cert_path` and `key_path`.
inline void make_self_signed(const std::string& cert_path, const std::string& key_path,
                             const std::string& common_name = "localhost") {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    if (!key || !cert) {
        throw std::runtime_error("cannot make a key or certificate");
    }
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
        throw std::runtime_error("cannot sign the certificate");
    }
    std::FILE* out = std::fopen(cert_path.c_str(), "w");
    PEM_write_X509(out, cert.get());
    std::fclose(out);
    out = std::fopen(key_path.c_str(), "w");
    PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
}

// What the client side of a test handshake offers.
struct ClientOptions {
    int max_version = 0;       // 0: OpenSSL's newest (TLS 1.3)
    std::string ciphers;       // TLS 1.2 list; "": OpenSSL's default
    std::string ciphersuites;  // TLS 1.3 suites; "": OpenSSL's default
    std::string ca_file;       // verify the server against it; "": no verification
    // TLS-PSK: offered when psk_identity is set (the classic client callback, as
    // libmosquitto uses it).
    std::string psk_identity;
    std::string psk_key;  // bytes
};

// The client end: an OpenSSL client on one side of a socketpair, and the server session
// (from `server_context`) on the other.
class TlsPair {
  public:
    TlsPair(const TlsContext& server_context, ClientOptions options)
        : options_(std::move(options)) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
            throw std::runtime_error("socketpair failed");
        }
        server_fd_ = fds[0];
        client_fd_ = fds[1];
        server_ = server_context.new_session(server_fd_);
        client_ctx_ = SSL_CTX_new(TLS_client_method());
        if (options_.max_version != 0) {
            SSL_CTX_set_max_proto_version(client_ctx_, options_.max_version);
        }
        if (!options_.ciphers.empty()) {
            SSL_CTX_set_cipher_list(client_ctx_, options_.ciphers.c_str());
        }
        if (!options_.ciphersuites.empty()) {
            SSL_CTX_set_ciphersuites(client_ctx_, options_.ciphersuites.c_str());
        }
        if (!options_.ca_file.empty()) {
            SSL_CTX_load_verify_locations(client_ctx_, options_.ca_file.c_str(), nullptr);
            SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_PEER, nullptr);
        }
        if (!options_.psk_identity.empty()) {
            SSL_CTX_set_psk_client_callback(client_ctx_, &TlsPair::client_psk);
        }
        client_ = SSL_new(client_ctx_);
        SSL_set_app_data(client_, this);
        SSL_set_fd(client_, client_fd_);
        SSL_set_connect_state(client_);
    }
    ~TlsPair() {
        server_.reset();
        SSL_free(client_);
        SSL_CTX_free(client_ctx_);
        ::close(server_fd_);
        ::close(client_fd_);
    }
    TlsPair(const TlsPair&) = delete;
    TlsPair& operator=(const TlsPair&) = delete;

    // Drives both ends until each has finished or failed (or nothing moves for a while).
    // True when both completed.
    bool handshake() {
        for (int round = 0; round < 400 && !(server_finished() && client_finished()); ++round) {
            if (!server_finished()) {
                server_step_ = server_->handshake();
            }
            if (!client_finished()) {
                ERR_clear_error();
                const int result = SSL_connect(client_);
                if (result == 1) {
                    client_done_ = true;
                } else {
                    const int code = SSL_get_error(client_, result);
                    client_failed_ = code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE;
                }
            }
            pollfd fds[2] = {{server_fd_, POLLIN, 0}, {client_fd_, POLLIN, 0}};
            ::poll(fds, 2, 5);
        }
        ERR_clear_error();
        return server_step_ == TlsSession::Step::Done && client_done_;
    }

    TlsSession& server() { return *server_; }
    SSL* client() { return client_; }
    const std::string& hint_seen() const { return hint_seen_; }

  private:
    bool server_finished() const {
        return server_step_ == TlsSession::Step::Done || server_step_ == TlsSession::Step::Failed;
    }
    bool client_finished() const { return client_done_ || client_failed_; }

    static unsigned int client_psk(SSL* ssl, const char* hint, char* identity,
                                   unsigned int max_identity_len, unsigned char* psk,
                                   unsigned int max_psk_len) {
        auto* self = static_cast<TlsPair*>(SSL_get_app_data(ssl));
        self->hint_seen_ = hint != nullptr ? hint : "";
        const ClientOptions& o = self->options_;
        if (o.psk_identity.size() + 1 > max_identity_len || o.psk_key.size() > max_psk_len) {
            return 0;
        }
        std::memcpy(identity, o.psk_identity.c_str(), o.psk_identity.size() + 1);
        std::memcpy(psk, o.psk_key.data(), o.psk_key.size());
        return static_cast<unsigned int>(o.psk_key.size());
    }

    ClientOptions options_;
    int server_fd_ = -1;
    int client_fd_ = -1;
    TlsSessionPtr server_;
    SSL_CTX* client_ctx_ = nullptr;
    SSL* client_ = nullptr;
    TlsSession::Step server_step_ = TlsSession::Step::WantRead;
    bool client_done_ = false;
    bool client_failed_ = false;
    std::string hint_seen_;
};

}  // namespace petrel::net::test
