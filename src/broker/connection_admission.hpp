// Which accepted sockets may become connections: the limits checked right after accept(),
// before a byte is read or a TLS handshake begins — the memory guard, max_connections
// (global and per listener) and max_connection_rate per source address.
//
// A refused socket is closed at once, without an MQTT reply, as Mosquitto does for
// max_connections. A v5 CONNACK (0x97 Quota exceeded, 0x9F Connection rate exceeded) would
// need the CONNECT first: the socket held for up to connect_timeout, a TLS handshake on a
// TLS listener — the very costs a flood is refused to avoid. Clients see the connection
// closed and retry with their back-off.
//
// An admitted socket holds a ConnectionSlot, which counts it as open until it is
// destroyed; the slot moves with the socket when a connection is handed to its session's
// home worker, so the counts hold whichever thread ends the connection.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "log_throttle.hpp"
#include "memory_guard.hpp"
#include "petrel/broker/config.hpp"
#include "petrel/net/listener.hpp"
#include "source_rate_limiter.hpp"

namespace petrel::broker {

// One open connection, counted globally and on its listener until destroyed. Move-only.
class ConnectionSlot {
  public:
    ConnectionSlot() = default;
    ConnectionSlot(ConnectionSlot&& other) noexcept;
    ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    ~ConnectionSlot() { release(); }

  private:
    friend class ConnectionAdmission;
    ConnectionSlot(std::atomic<std::size_t>* global, std::atomic<std::size_t>* listener)
        : global_(global), listener_(listener) {}
    void release() noexcept;

    std::atomic<std::size_t>* global_ = nullptr;
    std::atomic<std::size_t>* listener_ = nullptr;
};

class ConnectionAdmission {
  public:
    using Clock = std::chrono::steady_clock;

    // The limits come from `config` (per listener: its effective_listeners(), in order);
    // `memory_limit` is the resolved one (0: the guard is off). Must outlive every slot it
    // hands out (BrokerContext outlives the workers and their connections).
    ConnectionAdmission(const Config& config, std::size_t memory_limit, spdlog::logger& log);

    // Thread-safe. A slot for a socket just accepted on `listener` (the `index`-th), or
    // nullopt when a limit refuses it: the refusal is logged (at most one line per reason
    // every 10 s) and the caller closes the socket.
    std::optional<ConnectionSlot> admit(std::size_t index, const net::Listener& listener,
                                        const net::AcceptedSocket& socket, Clock::time_point now);

    // Worker 0's 1 s tick: measures the memory, forgets idle rate buckets.
    void tick(Clock::time_point now);

    MemoryGuard& memory_guard() { return memory_guard_; }
    std::size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

  private:
    enum Reason { kMemory, kGlobal, kListener, kRate, kReasons };
    // Logs a refusal unless its reason was logged in the last 10 s; `why()` names the
    // limit (built only when a line is written: a flood is refused many times a second).
    template <class Why>
    void log_refusal(Reason reason, const std::string& peer, Clock::time_point now, Why why);

    const std::size_t max_connections_;
    const std::vector<std::size_t> listener_limits_;
    const unsigned max_connection_rate_;
    spdlog::logger& log_;
    std::atomic<std::size_t> open_{0};
    std::unique_ptr<std::atomic<std::size_t>[]> listener_open_;
    SourceRateLimiter rate_;
    MemoryGuard memory_guard_;
    std::vector<std::unique_ptr<LogThrottle>> throttles_;  // one per Reason
};

}  // namespace petrel::broker
