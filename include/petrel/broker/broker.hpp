// The broker: opens the listeners, runs one worker per thread, and stops cleanly.
//
// Construction does no I/O; start() opens listeners (throwing std::system_error naming
// the address on failure, a start-up error) and starts the workers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "petrel/broker/config.hpp"

namespace spdlog {
class logger;
}

namespace petrel::broker {

struct BrokerContext;

class Broker {
  public:
    Broker(Config config, std::shared_ptr<spdlog::logger> log);
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    void start();
    // Disconnects every client (v5: DISCONNECT 0x8B) and stops the workers. Idempotent.
    void stop();

    // Re-reads every TLS listener's certificate, key, CA and PSK files (SIGHUP): new
    // handshakes use them, live connections carry on. A listener whose files fail to load
    // keeps its current ones (logged). Thread-safe.
    void reload_tls();

    // The bound ports, in listener order (useful when port 0 was configured).
    std::vector<std::uint16_t> listening_ports() const;

  private:
    struct Listeners;
    Config config_;
    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<BrokerContext> context_;
    std::unique_ptr<Listeners> listeners_;
    bool running_ = false;
};

}  // namespace petrel::broker
