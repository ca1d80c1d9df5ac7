#include "petrel/broker/broker.hpp"

#include <spdlog/spdlog.h>

#include "broker_context.hpp"
#include "petrel/net/listener.hpp"
#include "worker.hpp"

namespace petrel::broker {

struct Broker::Listeners {
    std::vector<net::Listener> open;
};

Broker::Broker(Config config, std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)), log_(std::move(log)), listeners_(std::make_unique<Listeners>()) {
    context_ = std::make_unique<BrokerContext>(config_, *log_);
    const unsigned threads = config_.effective_threads();
    for (unsigned i = 0; i < threads; ++i) {
        context_->workers.push_back(std::make_unique<Worker>(i, *context_));
    }
}

Broker::~Broker() {
    stop();
    // Workers go first: their connections and sessions refer to the router.
    context_->workers.clear();
}

void Broker::start() {
    for (const ListenerConfig& listener : config_.effective_listeners()) {
        listeners_->open.emplace_back(listener.bind_address, listener.port);
    }
    for (net::Listener& listener : listeners_->open) {
        for (auto& worker : context_->workers) {
            worker->accept_from(listener);
        }
    }
    for (auto& worker : context_->workers) {
        worker->start();
    }
    running_ = true;
    for (const net::Listener& listener : listeners_->open) {
        const bool v6 = listener.address().find(':') != std::string::npos;
        log_->info("listening on {}{}{}:{}", v6 ? "[" : "", listener.address(), v6 ? "]" : "",
                   listener.port());
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
    log_->info("stopped");
}

std::vector<std::uint16_t> Broker::listening_ports() const {
    std::vector<std::uint16_t> ports;
    for (const net::Listener& listener : listeners_->open) {
        ports.push_back(listener.port());
    }
    return ports;
}

}  // namespace petrel::broker
