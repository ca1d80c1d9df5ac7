// What every worker shares: the configuration, the router, the store, the other workers
// and the log. Passed by reference instead of globals, so two brokers can run in one
// process.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "connection_admission.hpp"
#include "credential_checker.hpp"
#include "petrel/auth/acl.hpp"
#include "petrel/auth/authenticator.hpp"
#include "petrel/auth/password_file.hpp"
#include "petrel/broker/config.hpp"
#include "petrel/store/store.hpp"
#include "router.hpp"
#include "store_health.hpp"

namespace petrel::broker {

class Worker;

struct BrokerContext {
    // `memory_limit`: config.memory_limit resolved (its default depends on the machine).
    BrokerContext(const Config& config_in, spdlog::logger& log_in,
                  std::unique_ptr<store::Store> store_in, std::size_t memory_limit)
        : config(config_in),
          log(log_in),
          allow_anonymous(config_in.effective_allow_anonymous()),
          admission(config_in, memory_limit, log_in),
          router(config_in.shared_subscription_strategy),
          store(std::move(store_in)),
          store_health(log_in) {}

    // Thread-safe: the id for a new message the store may keep. Ids keep increasing across
    // restarts (recovery starts above the highest stored one).
    std::uint64_t next_message_id() { return message_ids.fetch_add(1, std::memory_order_relaxed); }

    const Config& config;
    spdlog::logger& log;
    const bool allow_anonymous;  // Config::effective_allow_anonymous, decided once
    // Connection limits and the memory guard; before `workers`, whose connections hold
    // its slots.
    ConnectionAdmission admission;
    Router router;
    // Enhanced authentication (4.12) and CONNECT passwords, from password_file; null when
    // none is configured.
    std::shared_ptr<const auth::PasswordFile> passwords;
    std::unique_ptr<auth::Authenticator> authenticator;
    std::unique_ptr<CredentialChecker> credentials;  // with `passwords`
    // From acl_file; null when none is configured (everything allowed).
    std::unique_ptr<const auth::Acl> acl;
    std::atomic<std::uint64_t> denied_publishes{0};  // dropped by the ACL, for metrics
    // LmdbStore with persistence, MemoryStore without. Outlives the workers' sessions but
    // not their event loops: its completion callbacks post to them.
    std::unique_ptr<store::Store> store;
    StoreHealth store_health;
    std::atomic<std::uint64_t> message_ids{1};
    // Offline queues beyond this many messages per session live only in the store (0: all
    // in memory, as without persistence).
    std::size_t queue_memory_window = 0;
    std::vector<std::unique_ptr<Worker>> workers;
};

}  // namespace petrel::broker
