// What a TLS-PSK listener's sessions consult during their handshake, built with the
// listener's OpenSSL context (TlsContext) and shared by every session made from it, so
// that a reload never pulls the keys from under a handshake in progress.
#pragma once

#include <string>

#include "petrel/net/psk_file.hpp"

namespace petrel::net {

struct PskServerState {
    PskFile keys;
    // The listener's TLS 1.3 suites with the SHA-256 ones first, for a ClientHello that
    // offers a PSK. A PSK set up by the classic callbacks (OpenSSL's, so mosquitto_pub
    // --psk's) is bound to SHA-256 in TLS 1.3 [RFC 8446 4.2.11], and OpenSSL picks the
    // suite before it looks at the PSK: with a certificate loaded it would pick
    // TLS_AES_256_GCM_SHA384 and quietly fall back to a certificate handshake.
    std::string tls13_suites;
};

}  // namespace petrel::net
