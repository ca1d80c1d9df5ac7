#include "listener_policy.hpp"

#include <spdlog/logger.h>

#include "petrel/auth/scram.hpp"
#include "petrel/topic/topic_name.hpp"

namespace petrel::broker {

Security::Security(const SecurityConfig& config, spdlog::logger& log, const std::string& what)
    : allow_anonymous(config.allow_anonymous),
      allow_zero_length_clientid(config.allow_zero_length_clientid),
      auto_id_prefix(config.auto_id_prefix) {
    const std::string whose = what.empty() ? "" : " (" + what + ")";
    if (!config.password_file.empty()) {
        passwords = std::make_shared<const auth::PasswordFile>(
            auth::PasswordFile::load(config.password_file));
        authenticator = std::make_unique<auth::ScramAuthenticator>(passwords);
        credentials = std::make_unique<CredentialChecker>(passwords);
        log.info("password file {}: {} users{}", config.password_file, passwords->size(), whose);
    }
    if (!config.acl_file.empty()) {
        acl = std::make_unique<const auth::Acl>(auth::Acl::load(config.acl_file));
        log.info("acl file {}: {} rules{}", config.acl_file, acl->rule_count(), whose);
    }
}

std::string ListenerPolicy::mount_topic(std::string topic) const {
    if (mount_point.empty()) {
        return topic;
    }
    return mount_point + topic;
}

std::string ListenerPolicy::mount_filter(std::string filter) const {
    if (mount_point.empty() || !topic::is_valid_topic_filter(filter)) {
        return filter;
    }
    if (const auto shared = topic::parse_shared(filter)) {
        return "$share/" + std::string(shared->group) + "/" + mount_point +
               std::string(shared->filter);
    }
    return mount_point + filter;
}

std::string_view ListenerPolicy::unmount_topic(std::string_view topic) const {
    if (!mount_point.empty() && topic.size() > mount_point.size() &&
        topic.starts_with(mount_point)) {
        topic.remove_prefix(mount_point.size());
    }
    return topic;
}

}  // namespace petrel::broker
