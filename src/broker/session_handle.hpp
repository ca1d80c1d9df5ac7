// A session as the broker holds it: the pure session state plus where it lives.
//
// Every session has a home worker, fixed for its life (chosen from its client id), and is
// touched only on that worker's thread. Other workers reach it by posting to that worker,
// so session state needs no lock, and a reconnecting client's connection is handed to the
// session's home worker rather than the session being moved: messages already on their
// way to the session can never be overtaken by newer ones.
//
// To the router a session is one kind of Subscriber; it sees its connection through the
// SessionConnection interface.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "petrel/session/session.hpp"
#include "subscriber.hpp"

namespace petrel::broker {

class SessionConnection;
struct ListenerPolicy;

// Made with std::make_shared only: stage() hands the recorder a SessionHandlePtr to itself.
struct SessionHandle final : Subscriber, std::enable_shared_from_this<SessionHandle> {
    SessionHandle(std::string client_id, unsigned home, session::OutboundFlow::Limits limits)
        : Subscriber(home), state(std::move(client_id), limits) {}

    // Subscriber (session_handle.cpp): the ACL of the session's latest listener, its queue
    // entry staged when it is persistent, and Worker::deliver on its home worker. It is
    // online while a connection is attached.
    const std::string& client_id() const override { return state.client_id(); }
    bool may_receive(const Worker& publisher, std::string_view topic) const override;
    bool stage(SessionRecorder& publisher, session::Delivery& delivery, bool with_message) override;
    void deliver(Worker& home, SubscriberPtr self, session::Delivery&& delivery) override;

    session::Session state;

    // Home-worker only. The connection currently attached, if any.
    SessionConnection* connection = nullptr;
    // Home-worker only. Set when the session ended (clean start, expiry): deliveries that
    // were already on their way are then dropped.
    bool discarded = false;
    // The client's Maximum Packet Size (v5), 0 when it set none.
    std::uint32_t client_maximum_packet_size = 0;
    // The broker may put a Topic Alias into PUBLISHes to the current connection (the
    // client allows aliases): up to 4 bytes more than the PUBLISH without it.
    bool client_topic_aliases = false;

    // Home-worker only (SessionRecorder). The store holds a record of this session: it
    // outlives its connection (expiry > 0) or has a will that must survive a crash.
    bool stored = false;
    // Written by the home worker (SessionRecorder), read by any router: the session
    // outlives its connection, so its subscriptions, queue and in-flight state are stored,
    // and a QoS 1/2 message for it is acknowledged to the publisher only once its queue
    // entry is committed.
    std::atomic<bool> persistent{false};
    // The seq the next stored delivery gets: taken by the publishing worker, which writes
    // the queue entry in the same commit as the message (rules 1 and 3 in
    // session_recorder.hpp).
    std::atomic<std::uint64_t> next_seq{1};
    // Home-worker only. A read of spilled queue entries is scheduled.
    bool refill_scheduled = false;

    // Written by the home worker at attach, read by any publishing worker for the ACL: the
    // user name of the latest connection (null: anonymous).
    std::atomic<std::shared_ptr<const std::string>> username;
    // Written by the home worker at attach (and by recovery), read by any publishing
    // worker: the listener of the latest connection, whose ACL applies (null: the first).
    std::atomic<const ListenerPolicy*> listener{nullptr};

    // Home-worker only. While disconnected with a delayed will (Will Delay Interval,
    // 3.1.3.2.2): when it is due, and when the connection was lost (for the store record).
    std::optional<session::Clock::time_point> will_due_at;
    std::int64_t disconnected_at_ms = 0;
};
using SessionHandlePtr = std::shared_ptr<SessionHandle>;

}  // namespace petrel::broker
