// Listener keywords: `listener` itself and the options that belong to the listener above
// them (TLS, mount point, protocol). See config_keywords.hpp.
#include "config_keywords.hpp"

namespace petrel::broker {
namespace {

KeywordEntry listener_keyword(std::string name, KeywordHandler apply) {
    KeywordEntry entry;
    entry.name = std::move(name);
    entry.scope = KeywordScope::Listener;
    entry.apply = std::move(apply);
    return entry;
}

// The TLS settings of the last `listener` line, which this makes a TLS listener.
net::TlsSettings& tls_of(Config& c) {
    ListenerConfig& listener = current_listener(c);
    if (!listener.tls) {
        listener.tls.emplace();
    }
    return *listener.tls;
}

using TlsSetter = std::function<void(net::TlsSettings&, const std::string& value)>;

KeywordEntry tls_keyword(std::string name, TlsSetter set) {
    return listener_keyword(
        std::move(name),
        [set = std::move(set)](Config& c, const KeywordArgs& a) { set(tls_of(c), a[0]); });
}

// A TLS switch; `false` (its default) on a plain listener leaves it plain, as in Mosquitto,
// where e.g. "require_certificate false" does not make a listener a TLS one.
KeywordEntry tls_flag(std::string name, bool net::TlsSettings::*flag) {
    return listener_keyword(std::move(name), [flag](Config& c, const KeywordArgs& a) {
        const bool on = parse_bool(a[0]);
        if (on || current_listener(c).tls) {
            tls_of(c).*flag = on;
        }
    });
}

void set_tls_version_keyword(Config& c, const KeywordArgs& args) {
    const std::string& version = args[0];
    net::TlsSettings& tls = tls_of(c);
    if (version == "tlsv1.2") {
        tls.min_version = net::TlsVersion::Tls12;
    } else if (version == "tlsv1.3") {
        tls.min_version = net::TlsVersion::Tls13;
    } else if (version == "tlsv1.1") {
        // Stricter than asked, never weaker: TLS 1.1 is deprecated (RFC 8996).
        tls.min_version = net::TlsVersion::Tls12;
        c.warnings.push_back(
            "tls_version tlsv1.1: Petrel's oldest TLS version is 1.2; clients that only speak "
            "TLS 1.1 cannot connect");
    } else {
        throw std::invalid_argument("expected tlsv1.2 or tlsv1.3, got '" + version + "'");
    }
}

}  // namespace

void add_listener_keywords(std::vector<KeywordEntry>& table) {
    KeywordEntry listener;
    listener.name = "listener";
    listener.max_args = 2;
    listener.apply = [](Config& c, const KeywordArgs& a) {
        ListenerConfig added;
        added.port = parse_integer<std::uint16_t>(a[0], 0, 65535);
        if (a.size() > 1) {
            added.bind_address = a[1];
        }
        c.listeners.push_back(added);
    };
    table.push_back(std::move(listener));

    table.push_back(tls_keyword("certfile", [](auto& t, const auto& v) { t.certfile = v; }));
    table.push_back(tls_keyword("keyfile", [](auto& t, const auto& v) { t.keyfile = v; }));
    table.push_back(tls_keyword("cafile", [](auto& t, const auto& v) { t.cafile = v; }));
    table.push_back(tls_keyword("capath", [](auto& t, const auto& v) { t.capath = v; }));
    table.push_back(tls_keyword("crlfile", [](auto& t, const auto& v) { t.crlfile = v; }));
    table.push_back(tls_keyword("ciphers", [](auto& t, const auto& v) { t.ciphers = v; }));
    // Mosquitto's name, and OpenSSL's.
    table.push_back(
        tls_keyword("ciphers_tls1.3", [](auto& t, const auto& v) { t.ciphersuites = v; }));
    KeywordEntry suites =
        tls_keyword("ciphersuites", [](auto& t, const auto& v) { t.ciphersuites = v; });
    suites.mosquitto = false;
    table.push_back(std::move(suites));
    table.push_back(listener_keyword("tls_version", set_tls_version_keyword));
    table.push_back(tls_flag("require_certificate", &net::TlsSettings::require_certificate));
    // Mosquitto: use_identity_as_username takes priority over use_subject_as_username
    // when both are true; check_listener_tls() refuses the pair instead, since one of the
    // two lines would be silently without effect.
    table.push_back(
        tls_flag("use_identity_as_username", &net::TlsSettings::use_identity_as_username));
    table.push_back(
        tls_flag("use_subject_as_username", &net::TlsSettings::use_subject_as_username));
    // TLS-PSK, as in Mosquitto: the hint switches it on for the listener.
    table.push_back(tls_keyword("psk_hint", [](auto& t, const auto& v) { t.psk_hint = v; }));
    table.push_back(listener_keyword("tls_keyform", [](Config&, const KeywordArgs& a) {
        // pem is what Petrel reads; OpenSSL engines (TPM keys) are not supported.
        if (a[0] != "pem") {
            throw std::invalid_argument(
                "only 'pem' is supported (OpenSSL engines are not): give keyfile a PEM key, got '" +
                a[0] + "'");
        }
    }));
    table.push_back(listener_keyword("mount_point", [](Config& c, const KeywordArgs& a) {
        if (a[0].find_first_of("+#") != std::string::npos) {
            throw std::invalid_argument("a mount point may not hold '+' or '#', got '" + a[0] +
                                        "'");
        }
        current_listener(c).mount_point = a[0];
    }));
    table.push_back(listener_keyword("protocol", [](Config&, const KeywordArgs& a) {
        // A listener that silently spoke the wrong protocol would be worse than no start.
        if (a[0] == "websockets") {
            throw std::invalid_argument(
                "WebSocket is not supported yet: use 'protocol mqtt' (MQTT over TCP or TLS)");
        }
        if (a[0] != "mqtt") {
            throw std::invalid_argument("only 'mqtt' is supported, got '" + a[0] + "'");
        }
    }));
    table.push_back(
        listener_keyword("use_username_as_clientid", [](Config& c, const KeywordArgs& a) {
            current_listener(c).use_username_as_clientid = parse_bool(a[0]);
        }));
}

}  // namespace petrel::broker
