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
#include "listener_policy.hpp"
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
          admission(config_in, memory_limit, log_in),
          router(config_in.shared_subscription_strategy, config_in.upgrade_outgoing_qos),
          store(std::move(store_in)),
          store_health(log_in) {}

    // Thread-safe: the id for a new message the store may keep. Ids keep increasing across
    // restarts (recovery starts above the highest stored one).
    std::uint64_t next_message_id() { return message_ids.fetch_add(1, std::memory_order_relaxed); }

    const Config& config;
    spdlog::logger& log;
    // Connection limits and the memory guard; before `workers`, whose connections hold
    // its slots.
    ConnectionAdmission admission;
    Router router;
    // One per configured listener (the loopback default included), in config order; each
    // points into `securities`: one for all of them, or one each with
    // per_listener_settings.
    std::vector<std::unique_ptr<Security>> securities;
    std::vector<ListenerPolicy> listeners;
    // Whether any listener has an ACL: without one, deliveries skip the check altogether.
    bool any_acl = false;
    // The policy of listener `index`; the first one for an index the configuration no
    // longer has (a session stored before the listeners were changed).
    const ListenerPolicy& listener_policy(std::size_t index) const {
        return index < listeners.size() ? listeners[index] : listeners.front();
    }
    std::atomic<std::uint64_t> denied_publishes{0};  // dropped by the ACL, for metrics
    // Client PUBLISHes to $SYS topics refused (the broker's own namespace), for metrics.
    std::atomic<std::uint64_t> broker_topic_publishes{0};
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
