#include "connection_admission.hpp"

#include <string>
#include <utility>

namespace petrel::broker {

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
// One log line per refusal reason at most this often; the next one says how many it skipped.
constexpr std::chrono::seconds kRefusalLogInterval{10};

std::vector<std::size_t> listener_limits(const Config& config) {
    std::vector<std::size_t> limits;
    for (const ListenerConfig& listener : config.effective_listeners()) {
        limits.push_back(listener.max_connections);
    }
    return limits;
}

}  // namespace

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : global_(std::exchange(other.global_, nullptr)),
      listener_(std::exchange(other.listener_, nullptr)) {}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
    if (this != &other) {
        release();
        global_ = std::exchange(other.global_, nullptr);
        listener_ = std::exchange(other.listener_, nullptr);
    }
    return *this;
}

void ConnectionSlot::release() noexcept {
    if (global_ != nullptr) {
        global_->fetch_sub(1, std::memory_order_relaxed);
        global_ = nullptr;
    }
    if (listener_ != nullptr) {
        listener_->fetch_sub(1, std::memory_order_relaxed);
        listener_ = nullptr;
    }
}

ConnectionAdmission::ConnectionAdmission(const Config& config, std::size_t memory_limit,
                                         spdlog::logger& log)
    : max_connections_(config.max_connections),
      listener_limits_(listener_limits(config)),
      max_connection_rate_(config.max_connection_rate),
      log_(log),
      listener_open_(std::make_unique<std::atomic<std::size_t>[]>(listener_limits_.size())),
      rate_(config.max_connection_rate),
      memory_guard_(memory_limit, log) {
    for (int i = 0; i < kReasons; ++i) {
        throttles_.push_back(std::make_unique<LogThrottle>(kRefusalLogInterval));
    }
}

template <class Why>
void ConnectionAdmission::log_refusal(Reason reason, const std::string& peer, Clock::time_point now,
                                      Why why) {
    const std::optional<std::uint64_t> skipped = throttles_[reason]->permit(now);
    if (!skipped) {
        return;
    }
    if (*skipped == 0) {
        log_.warn("connection from {} refused: {}", peer, why());
    } else {
        log_.warn(
            "connection from {} refused: {} ({} more refused for this reason since the last "
            "such line)",
            peer, why(), *skipped);
    }
}

std::optional<ConnectionSlot> ConnectionAdmission::admit(std::size_t index,
                                                         const net::Listener& listener,
                                                         const net::AcceptedSocket& socket,
                                                         Clock::time_point now) {
    if (memory_guard_.refusing()) {
        log_refusal(kMemory, socket.peer, now, [&] {
            return "memory guard (resident memory above memory_limit " +
                   std::to_string(memory_guard_.limit() / kMiB) + " MiB)";
        });
        return std::nullopt;
    }
    // Counted first and given back on refusal (the slot's destructor), so that two workers
    // accepting at once cannot both take the last place.
    const std::size_t open = open_.fetch_add(1, std::memory_order_relaxed);
    ConnectionSlot slot(&open_, nullptr);
    if (max_connections_ > 0 && open >= max_connections_) {
        log_refusal(kGlobal, socket.peer, now, [&] {
            return "max_connections " + std::to_string(max_connections_) + " reached";
        });
        return std::nullopt;
    }
    if (index < listener_limits_.size()) {
        std::atomic<std::size_t>& on_listener = listener_open_[index];
        const std::size_t here = on_listener.fetch_add(1, std::memory_order_relaxed);
        slot.listener_ = &on_listener;
        if (listener_limits_[index] > 0 && here >= listener_limits_[index]) {
            log_refusal(kListener, socket.peer, now, [&] {
                return "max_connections " + std::to_string(listener_limits_[index]) +
                       " of listener " + listener.address() + ":" +
                       std::to_string(listener.port()) + " reached";
            });
            return std::nullopt;
        }
    }
    if (!rate_.allow(socket.address, now)) {
        log_refusal(kRate, socket.peer, now, [&] {
            return "more than max_connection_rate " + std::to_string(max_connection_rate_) +
                   " new connections per second from " + socket.address;
        });
        return std::nullopt;
    }
    return slot;
}

void ConnectionAdmission::tick(Clock::time_point now) {
    memory_guard_.check();
    rate_.forget_idle(now);
}

}  // namespace petrel::broker
