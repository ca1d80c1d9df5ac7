#include "petrel/broker/broker.hpp"

#include <spdlog/spdlog.h>

#include "broker_context.hpp"
#include "memory_guard.hpp"
#include "petrel/net/listener.hpp"
#include "petrel/net/tls_context.hpp"
#include "petrel/store/lmdb_store.hpp"
#include "petrel/store/memory_store.hpp"
#include "recovery.hpp"
#include "worker.hpp"

namespace petrel::broker {

struct Broker::Listeners {
    std::vector<net::Listener> open;
    std::vector<session::MessagePtr> due_wills;  // recovered, published once workers run
};

namespace {

// memory_limit as configured, or its default for this machine; logged either way, so
// that the operator sees what the guard will do.
std::size_t resolve_memory_limit(const Config& config, spdlog::logger& log) {
    constexpr std::size_t kMiB = std::size_t{1} << 20;
    if (config.memory_limit) {
        if (*config.memory_limit == 0) {
            log.info("memory guard off (memory_limit 0)");
        } else {
            log.info("memory guard: memory_limit {} MiB", *config.memory_limit / kMiB);
        }
        return *config.memory_limit;
    }
    const DefaultMemoryLimit found = default_memory_limit();
    if (found.bytes == 0) {
        log.warn("memory guard off: the size of physical memory is unknown");
        return 0;
    }
    log.info("memory guard: memory_limit {} MiB (3/4 of {})", found.bytes / kMiB, found.basis);
    return found.bytes;
}

std::unique_ptr<store::Store> open_store(const Config& config, spdlog::logger& log) {
    if (!config.persistence) {
        log.info("persistence off: sessions and retained messages live in memory only");
        return std::make_unique<store::MemoryStore>();
    }
    store::LmdbOptions options;
    options.directory = config.persistence_location;
    options.sync = config.persistence_mode == PersistenceMode::Sync;
    options.batch_interval = std::chrono::milliseconds(config.persistence_batch_ms);
    options.map_size = config.store_map_size;
    options.max_map_size = config.store_max_map_size;
    auto opened = std::make_unique<store::LmdbStore>(options);
    log.info("store {} opened (persistence_mode {}{})", config.persistence_location,
             options.sync ? "sync" : "batch",
             options.sync ? "" : ", " + std::to_string(config.persistence_batch_ms) + " ms");
    return opened;
}

// One Security for all listeners, or one per listener with per_listener_settings; the
// policies in listener order.
void build_listener_policies(const Config& config, spdlog::logger& log, BrokerContext& context) {
    const std::vector<ListenerConfig> listeners = config.effective_listeners();
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        const ListenerConfig& listener = listeners[i];
        if (i == 0 || config.per_listener_settings) {
            const SecurityConfig security = config.security_for(listener);
            const std::string what = config.per_listener_settings
                                         ? "listener " + std::to_string(listener.port)
                                         : std::string();
            context.securities.push_back(std::make_unique<Security>(security, log, what));
            context.any_acl = context.any_acl || context.securities.back()->acl != nullptr;
            if (!security.allow_anonymous && !config.allow_anonymous && !listener.allow_anonymous) {
                log.warn(
                    "anonymous clients are refused{}: {} not on loopback "
                    "(allow_anonymous true allows them)",
                    what.empty() ? "" : " on " + what, what.empty() ? "a listener is" : "it is");
            }
        }
        ListenerPolicy policy;
        policy.index = static_cast<std::uint16_t>(i);
        policy.security = context.securities.back().get();
        policy.mount_point = listener.mount_point;
        policy.use_username_as_clientid = listener.use_username_as_clientid;
        const bool tls_names_users =
            listener.tls && listener.tls->username_source() != net::TlsUsernameSource::Connect;
        if (auth::nobody_can_log_in(policy.security->login_policy(), tls_names_users)) {
            log.warn(
                "listener {} {}: nobody can log in: anonymous clients are refused and there is "
                "no password_file to check a user name (set password_file, allow_anonymous "
                "true, or use_identity_as_username on a TLS listener)",
                listener.port, listener.bind_address);
        }
        context.listeners.push_back(std::move(policy));
    }
}

}  // namespace

Broker::Broker(Config config, std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)), log_(std::move(log)), listeners_(std::make_unique<Listeners>()) {
    for (const std::string& warning : config_.warnings) {
        log_->warn("{}", warning);
    }
    context_ = std::make_unique<BrokerContext>(config_, *log_, open_store(config_, *log_),
                                               resolve_memory_limit(config_, *log_));
    context_->queue_memory_window = config_.persistence ? config_.queue_memory_window : 0;
    build_listener_policies(config_, *log_, *context_);
    const unsigned threads = config_.effective_threads();
    for (unsigned i = 0; i < threads; ++i) {
        context_->workers.push_back(std::make_unique<Worker>(i, *context_));
    }
    listeners_->due_wills = recover_state(*context_);
}

Broker::~Broker() {
    stop();
    // The store next: committing what is left may post replies to the workers' loops.
    context_->store.reset();
    // The password checkers' threads post to the workers' loops: gone before they are.
    for (auto& security : context_->securities) {
        security->credentials.reset();
    }
    // Then the workers: their connections and sessions refer to the router.
    context_->workers.clear();
}

void Broker::start() {
    for (const ListenerConfig& listener : config_.effective_listeners()) {
        // A bad certificate or key stops start-up; the error names the file.
        std::shared_ptr<net::TlsContext> tls;
        if (listener.tls) {
            tls = std::make_shared<net::TlsContext>(*listener.tls);
        }
        listeners_->open.emplace_back(listener.bind_address, listener.port);
        listeners_->open.back().set_tls(std::move(tls));
    }
    // Measured once before the first accept: a limit the broker is already above (a large
    // store recovered, a limit set too low) refuses from the start.
    context_->admission.memory_guard().check();
    for (std::size_t index = 0; index < listeners_->open.size(); ++index) {
        for (auto& worker : context_->workers) {
            worker->accept_from(listeners_->open[index], index);
        }
    }
    for (auto& worker : context_->workers) {
        worker->start();
    }
    if (!listeners_->due_wills.empty()) {
        Worker& first = *context_->workers.front();
        first.loop().post([&first, wills = std::move(listeners_->due_wills)] {
            for (const session::MessagePtr& will : wills) {
                first.publish(will);
            }
        });
        listeners_->due_wills.clear();
    }
    running_ = true;
    for (const net::Listener& listener : listeners_->open) {
        const bool v6 = listener.address().find(':') != std::string::npos;
        log_->info("listening on {}{}{}:{}{}", v6 ? "[" : "", listener.address(), v6 ? "]" : "",
                   listener.port(), listener.tls() != nullptr ? " (TLS)" : "");
        if (listener.tls() != nullptr && listener.tls()->settings().uses_psk()) {
            const std::size_t identities = listener.tls()->psk_identities();
            log_->info("TLS listener {}: TLS-PSK with {} {} from {}", listener.port(), identities,
                       identities == 1 ? "identity" : "identities",
                       listener.tls()->settings().psk_file);
        }
    }
    log_->info("petrel {} running with {} worker threads", PETREL_VERSION,
               context_->workers.size());
}

void Broker::stop() {
    if (!running_) {
        return;
    }
    running_ = false;
    for (auto& worker : context_->workers) {
        worker->shut_down();
    }
    for (auto& worker : context_->workers) {
        worker->join();
    }
    context_->store->flush();
    log_->info("stopped");
}

void Broker::reload_tls() {
    for (const net::Listener& listener : listeners_->open) {
        if (listener.tls() == nullptr) {
            continue;
        }
        const net::TlsSettings& settings = listener.tls()->settings();
        try {
            listener.tls()->reload();
            if (settings.uses_certificate()) {
                log_->info("TLS listener {}: certificate, key and CA reloaded", listener.port());
            }
            if (settings.uses_psk()) {
                const std::size_t identities = listener.tls()->psk_identities();
                log_->info("TLS listener {}: PSK file {} reloaded, {} {}", listener.port(),
                           settings.psk_file, identities,
                           identities == 1 ? "identity" : "identities");
            }
        } catch (const std::exception& error) {
            const char* kept = !settings.uses_psk()          ? "certificate"
                               : settings.uses_certificate() ? "certificate and PSK keys"
                                                             : "PSK keys";
            log_->error("TLS listener {}: reload failed, keeping the current {}: {}",
                        listener.port(), kept, error.what());
        }
    }
}

std::vector<std::uint16_t> Broker::listening_ports() const {
    std::vector<std::uint16_t> ports;
    for (const net::Listener& listener : listeners_->open) {
        ports.push_back(listener.port());
    }
    return ports;
}

}  // namespace petrel::broker
