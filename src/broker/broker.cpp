#include "petrel/broker/broker.hpp"

#include <spdlog/spdlog.h>

#include "broker_context.hpp"
#include "memory_guard.hpp"
#include "petrel/auth/scram.hpp"
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

}  // namespace

Broker::Broker(Config config, std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)), log_(std::move(log)), listeners_(std::make_unique<Listeners>()) {
    context_ = std::make_unique<BrokerContext>(config_, *log_, open_store(config_, *log_),
                                               resolve_memory_limit(config_, *log_));
    context_->queue_memory_window = config_.persistence ? config_.queue_memory_window : 0;
    if (!config_.password_file.empty()) {
        // A bad file stops start-up: its error names the file and line.
        context_->passwords = std::make_shared<const auth::PasswordFile>(
            auth::PasswordFile::load(config_.password_file));
        context_->authenticator = std::make_unique<auth::ScramAuthenticator>(context_->passwords);
        context_->credentials = std::make_unique<CredentialChecker>(context_->passwords);
        log_->info("password file {}: {} users", config_.password_file,
                   context_->passwords->size());
    }
    if (!config_.acl_file.empty()) {
        // A bad file stops start-up: its error names the file and line.
        context_->acl = std::make_unique<const auth::Acl>(auth::Acl::load(config_.acl_file));
        log_->info("acl file {}: {} rules", config_.acl_file, context_->acl->rule_count());
    }
    if (!config_.allow_anonymous && !context_->allow_anonymous) {
        log_->warn(
            "anonymous clients are refused: a listener is not on loopback "
            "(allow_anonymous true allows them)");
    }
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
    // The password checker's thread posts to the workers' loops: gone before they are.
    context_->credentials.reset();
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
        try {
            listener.tls()->reload();
            log_->info("TLS listener {}: certificate, key and CA reloaded", listener.port());
        } catch (const std::exception& error) {
            log_->error("TLS listener {}: reload failed, keeping the current certificate: {}",
                        listener.port(), error.what());
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
