// One worker: an event loop on its own thread, the connections it serves, and the
// sessions whose home it is.
//
// A session's home worker is fixed by its client id. After CONNECT, a connection is handed
// to its session's home worker, so a session and its connection always share one thread
// and session state needs no lock. Deliveries to subscribers homed elsewhere are batched per
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
#include "commit_waiter.hpp"
#include "listener_policy.hpp"
#include "petrel/net/event_loop.hpp"
#include "petrel/net/listener.hpp"
#include "petrel/net/stream.hpp"
#include "petrel/protocol/packet.hpp"
#include "session_handle.hpp"
#include "session_recorder.hpp"

namespace petrel::broker {

class ClientConnection;

// Unix time in milliseconds: what the store keeps for "disconnected at", since a steady
// clock's time points mean nothing after a restart.
std::int64_t wall_clock_ms();

// The most a Topic Alias adds to a PUBLISH: the 3-byte property, plus a byte each when
// the Property Length and the Remaining Length grow a digit.
inline constexpr std::uint32_t kTopicAliasBytes = 5;

// Worker 0 writes the broker's "alive at" time to the store this often (in 1 s ticks).
inline constexpr unsigned kClockTicks = 5;

// The message a will becomes when it is published, under store id `id`; a retained one
// remembers `source`, its client's user name and listener (check_retain_source).
session::MessagePtr will_message(const protocol::Will& will, const std::string& client_id,
                                 std::uint64_t id, session::MessageSource source);

// A CONNECT that passed the checks of the accepting worker.
struct AcceptedConnect {
    protocol::Connect connect;
    bool client_id_assigned = false;
    // Enhanced authentication that succeeded: the method and the last Authentication Data
    // for the CONNACK (4.12).
    struct Authentication {
        std::string method;
        std::string data;
    };
    std::optional<Authentication> authentication;
    // The listener the client came in on; it travels along when the connection moves to
    // the session's home worker.
    const ListenerPolicy* listener = nullptr;
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

    // Lifecycle (called from the main thread). `index`: the listener's place in the
    // effective listeners, for its max_connections.
    void accept_from(net::Listener& listener, std::size_t index);
    void start();
    // Closes every connection (v5 clients get DISCONNECT 0x8B) and stops the loop.
    void shut_down();
    void join();

    // ---- on this worker's thread ----

    // Routes a message to every matching subscriber. `token`, when given, is held by the
    // batch that stores what the message causes (persistent sessions' queue entries, the
    // retained update), so its reply (the PUBACK/PUBREC) waits for that commit (rule 1 in
    // session_recorder.hpp).
    void publish(const session::MessagePtr& message, const CommitToken& token = nullptr);
    // Offers a delivery to a session homed here (SessionHandle::deliver).
    void deliver(const SessionHandlePtr& target, session::Delivery&& delivery);

    // ---- outbound and the store (on this worker's thread; see session_storage.cpp) ----

    // Every store write about this worker's sessions (session_recorder.hpp).
    SessionRecorder& recorder() { return recorder_; }
    // Sends what a session's outbound flow produced, recording first in the store what it
    // started (a queued message now in flight). Packets that must not leave before their
    // state is committed (rules 8 and 9 in session_recorder.hpp: a QoS 2 PUBLISH, or
    // anything when `after_commit`) wait for the staged batch's commit; order is kept.
    void dispatch_outbound(const SessionHandlePtr& session,
                           std::vector<session::OutboundPacket> packets, bool after_commit = false);
    // Takes out of `packets` the PUBLISHes that must not be sent: new flights whose
    // message expired, and any larger than the client's Maximum Packet Size. Their place in
    // the window (and their store record) is released.
    void drop_unsendable(const SessionHandlePtr& session,
                         std::vector<session::OutboundPacket>& packets);
    // Reads spilled queue entries back when the session's in-memory queue runs low.
    void refill(const SessionHandlePtr& session);
    // The queue and in-flight limits a new session gets, from the config.
    session::OutboundFlow::Limits session_limits() const;
    // Before start(): takes a session recovered from the store.
    void adopt_recovered(SessionHandlePtr session);

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

    // The access control list's verdict for `session` (thread-safe; true without an ACL).
    bool may_publish(const SessionHandle& session, std::string_view topic) const;
    // check_retain_source: whether a retained message's publisher may still publish to its
    // topic (true for a message whose publisher is unknown).
    bool source_may_publish(const session::Message& message) const;
    // Who a session publishes as: what a retained message remembers of its publisher.
    session::MessageSource source_of(const SessionHandle& session) const;
    bool may_receive(const SessionHandle& session, std::string_view topic) const;
    bool may_subscribe(const SessionHandle& session, std::string_view filter) const;

    unsigned home_worker_for(const std::string& client_id) const;
    // A client id for a client that sent none: `prefix` and 16 random hex digits.
    std::string assign_client_id(const std::string& prefix);

    // Moves a connection whose CONNECT was read here to the worker that homes its session.
    // A TLS connection's session (`tls`) and its place in the connection count (`slot`)
    // move along with its socket.
    void hand_over(int fd, std::string peer, std::string unread, AcceptedConnect connect,
                   unsigned home, net::TlsSessionPtr tls, ConnectionSlot slot);
    // The connection is finished; it is destroyed after the current event batch.
    void retire(ClientConnection* connection);

    // ---- thread-safe ----
    void post_deliveries(std::vector<RoutedDelivery> batch);
    void adopt(int fd, std::string peer, std::string unread, AcceptedConnect connect,
               net::TlsSessionPtr tls, ConnectionSlot slot);

  private:
    void watch_listener(net::Listener& listener, std::size_t index);
    void accept_ready(net::Listener& listener, std::size_t index);
    void add_connection(int fd, std::string peer, std::string unread,
                        std::optional<AcceptedConnect> connect, net::TlsSessionPtr tls,
                        ConnectionSlot slot, const ListenerPolicy& policy);
    void tick();
    void flush_outboxes();
    void publish_will(const SessionHandlePtr& session);
    // Publishes a disconnected session's delayed will and forgets it.
    void publish_due_will(const SessionHandlePtr& session);
    // A member of shared subscriptions lost its connection: its unsent and QoS 1 in-flight
    // messages from those subscriptions go to other members that are online.
    void hand_over_shared(const SessionHandlePtr& session);
    // Sends routed deliveries on their way: delivered here or posted to their home.
    void send_routed(std::vector<RoutedDelivery>& routed);

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
    SessionRecorder recorder_;
    unsigned ticks_ = 0;
};

}  // namespace petrel::broker
