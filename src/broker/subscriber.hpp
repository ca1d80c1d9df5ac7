// A subscriber: whoever the router can route a published message to. A local session
// (SessionHandle) is one kind; a bridge to another broker and a remote cluster node will be
// others.
//
// It lives in the broker layer, not in topic or session, because what makes it a delivery
// target is where it lives (a home worker, a thread) and how a delivery reaches it there;
// the subscription trie stays generic over its subscriber type, and a session's state
// stays free of threads.
//
// Matching a message calls nothing virtual: the router keys the trie by the subscriber's
// address, so overlapping subscriptions of one subscriber merge into one delivery by
// pointer, and what a shared group reads of its members (online or not) and what routing
// reads (the home worker) are plain fields. The virtual calls come once per delivery: the
// client id for a No Local subscription, and the steps below on the publishing worker and
// on the home worker.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "petrel/session/message.hpp"

namespace petrel::broker {

class SessionRecorder;
class Worker;

class Subscriber {
  public:
    explicit Subscriber(unsigned home) : home_worker(home) {}
    virtual ~Subscriber() = default;
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    // The worker whose thread the subscriber lives on, fixed for its life: deliveries are
    // handed to it there, posted when they were routed elsewhere.
    const unsigned home_worker;
    // Written by the home worker, read by any router: the subscriber can take a delivery
    // now (a session: a connection is attached). A shared subscription prefers members
    // that are online.
    std::atomic<bool> online{false};

    // The client id it publishes as: a No Local subscription [MQTT-3.8.3-3] gets no
    // message whose publisher has this id.
    virtual const std::string& client_id() const = 0;

    // ---- on the publishing worker (any worker's thread), for each message routed here ----

    // Whether `topic` may reach this subscriber; asked when an ACL is configured.
    virtual bool may_receive(const Worker& publisher, std::string_view topic) const = 0;
    // For a QoS 1 or 2 delivery: stages into the publishing worker's batch what must be
    // committed together with the message (a persistent session's queue entry, numbered in
    // `delivery.seq`), and the message itself when `with_message`. True when something was
    // staged.
    virtual bool stage(SessionRecorder& publisher, session::Delivery& delivery,
                       bool with_message) = 0;

    // ---- on the home worker ----

    // Takes `delivery`: sends it, queues it or drops it, as the subscriber's flow says.
    // `self` is the reference to this subscriber that the delivery was routed with, handed
    // on: a kind that needs an owning pointer to itself has one without counting another.
    virtual void deliver(Worker& home, std::shared_ptr<Subscriber> self,
                         session::Delivery&& delivery) = 0;
};
using SubscriberPtr = std::shared_ptr<Subscriber>;

}  // namespace petrel::broker
