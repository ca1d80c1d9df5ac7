// What the listener a client came in on decides for it: who may connect and what clients
// may do there (one Security for every listener, or one each with per_listener_settings),
// and the listener's mount point.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "credential_checker.hpp"
#include "petrel/auth/acl.hpp"
#include "petrel/auth/authenticator.hpp"
#include "petrel/auth/login_decision.hpp"
#include "petrel/auth/password_file.hpp"
#include "petrel/broker/config.hpp"

namespace spdlog {
class logger;
}

namespace petrel::broker {

struct Security {
    // Loads the files `config` names; a bad file stops start-up (its error names the file
    // and line). `what` says whose settings they are in the log ("" or "listener 8883").
    Security(const SecurityConfig& config, spdlog::logger& log, const std::string& what);

    bool allow_anonymous = false;
    // Mosquitto's allow_zero_length_clientid and auto_id_prefix (see SecurityConfig).
    bool allow_zero_length_clientid = true;
    std::string auto_id_prefix;
    // Enhanced authentication (4.12) and CONNECT passwords, from password_file; all three
    // null when none is configured.
    std::shared_ptr<const auth::PasswordFile> passwords;
    std::unique_ptr<auth::Authenticator> authenticator;
    std::unique_ptr<CredentialChecker> credentials;
    // From acl_file; null when none is configured (everything allowed).
    std::unique_ptr<const auth::Acl> acl;

    auth::LoginPolicy login_policy() const { return {allow_anonymous, passwords != nullptr}; }
};

struct ListenerPolicy {
    // The listener's place in the configuration: a persistent session remembers the
    // listener it last connected through, whose ACL applies while it is offline.
    std::uint16_t index = 0;
    const Security* security = nullptr;
    std::string mount_point;
    bool use_username_as_clientid = false;

    // A client's topic or filter as the broker keeps it: under the mount point. A shared
    // subscription's filter is mounted after its group; an invalid filter is left alone
    // so that it is refused as the client wrote it.
    std::string mount_topic(std::string topic) const;
    std::string mount_filter(std::string filter) const;
    // A topic on its way to the client: without the mount point. A topic outside it (a
    // session that subscribed through another listener) goes out whole.
    std::string_view unmount_topic(std::string_view topic) const;
};

}  // namespace petrel::broker
