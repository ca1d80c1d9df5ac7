// What every worker shares: the configuration, the router, the other workers and the log.
// Passed by reference instead of globals, so two brokers can run in one process.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <vector>

#include "petrel/broker/config.hpp"
#include "router.hpp"

namespace petrel::broker {

class Worker;

struct BrokerContext {
    BrokerContext(const Config& config_in, spdlog::logger& log_in)
        : config(config_in), log(log_in) {}

    const Config& config;
    spdlog::logger& log;
    Router router;
    std::vector<std::unique_ptr<Worker>> workers;
};

}  // namespace petrel::broker
