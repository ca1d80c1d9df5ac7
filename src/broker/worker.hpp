// One worker: an event loop on its own thread, the connections it serves, and the
// sessions whose home it is.
//
// A session's home worker is fixed by its client id. After CONNECT, a connection is handed
// to its session's home worker, so a session and its connection always share one thread
// and session state needs no lock. Deliveries to sessions homed elsewhere are batched per
// worker and posted once per event batch (one wake-up for many messages).
#pragma once

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "broker_context.hpp"
#include "petrel/net/event_loop.hpp"
#include "petrel/net/listener.hpp"
#include "petrel/protocol/packet.hpp"

namespace petrel::broker {

class ClientConnection;

// A CONNECT that passed the checks of the accepting worker.
struct AcceptedConnect {
    protocol::Connect connect;
    bool client_id_assigned = false;
};

class Worker {
  public:
    Worker(unsigned index, BrokerContext& context);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    unsigned index() const { return index_; }
    BrokerContext& context() { return context_; }
    net::EventLoop& loop() { return loop_; }
    spdlog::logger& log() { return context_.log; }

    // Lifecycle (called from the main thread).
    void accept_from(net::Listener& listener);
    void start();
    // Closes every connection (v5 clients get DISCONNECT 0x8B) and stops the loop.
    void shut_down();
    void join();

    // ---- on this worker's thread ----

    // Routes a message to every matching session.
    void publish(const session::MessagePtr& message);
    // Offers a delivery to a session homed here.
    void deliver(const SessionHandlePtr& target, session::Delivery delivery);

    // Sessions homed here. Attaches `connection` to the session for its client id,
    // taking the session over from an older connection and creating or discarding the
    // session as clean start says. Returns the session and whether it was present.
    std::pair<SessionHandlePtr, bool> attach_session(ClientConnection& connection,
                                                     const protocol::Connect& connect);
    // The connection ended: publish the will if due, and end the session if its expiry
    // interval is 0.
    void detach_session(ClientConnection& connection, bool publish_will);
    // Removes a session and its subscriptions.
    void discard_session(const SessionHandlePtr& session);

    unsigned home_worker_for(const std::string& client_id) const;
    std::string assign_client_id();

    // Moves a connection whose CONNECT was read here to the worker that homes its session.
    void hand_over(int fd, std::string peer, std::string unread, AcceptedConnect connect,
                   unsigned home);
    // The connection is finished; it is destroyed after the current event batch.
    void retire(ClientConnection* connection);

    // ---- thread-safe ----
    void post_deliveries(std::vector<RoutedDelivery> batch);
    void adopt(int fd, std::string peer, std::string unread, AcceptedConnect connect);

  private:
    void watch_listener(net::Listener& listener);
    void accept_ready(net::Listener& listener);
    void add_connection(int fd, std::string peer, std::string unread,
                        std::optional<AcceptedConnect> connect);
    void tick();
    void flush_outboxes();
    void publish_will(const SessionHandlePtr& session);

    const unsigned index_;
    BrokerContext& context_;
    net::EventLoop loop_;
    std::thread thread_;

    std::unordered_map<ClientConnection*, std::unique_ptr<ClientConnection>> connections_;
    std::vector<std::unique_ptr<ClientConnection>> retired_;
    std::unordered_map<std::string, SessionHandlePtr> sessions_;

    std::vector<RoutedDelivery> routed_;                 // scratch for publish()
    std::vector<std::vector<RoutedDelivery>> outboxes_;  // per target worker
    bool outbox_flush_scheduled_ = false;
    std::mt19937_64 random_;
    bool shutting_down_ = false;
};

}  // namespace petrel::broker
