#include "worker.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "client_connection.hpp"
#include "petrel/net/tls_context.hpp"
#include "petrel/topic/topic_name.hpp"

namespace petrel::broker {

Worker::Worker(unsigned index, BrokerContext& context)
    : index_(index),
      context_(context),
      random_(std::random_device{}()),
      recorder_(loop_, context) {}

Worker::~Worker() {
    join();
    // Connections and sessions hold sockets and shared pointers into each other; drop the
    // sessions' back-pointers first so nothing dangles while tearing down.
    for (auto& [id, session] : sessions_) {
        session->connection = nullptr;
    }
}

void Worker::accept_from(net::Listener& listener, std::size_t index) {
    loop_.post([this, &listener, index] { watch_listener(listener, index); });
}

void Worker::watch_listener(net::Listener& listener, std::size_t index) {
    loop_.watch(listener.fd(), EPOLLIN | EPOLLEXCLUSIVE,
                [this, &listener, index](std::uint32_t) { accept_ready(listener, index); });
}

void Worker::start() {
    outboxes_.resize(context_.workers.size());
    loop_.every(std::chrono::seconds(1), [this] { tick(); });
    thread_ = std::thread([this] { loop_.run(); });
}

void Worker::shut_down() {
    loop_.post([this] {
        shutting_down_ = true;
        std::vector<ClientConnection*> open;
        open.reserve(connections_.size());
        for (auto& [raw, owned] : connections_) {
            open.push_back(raw);
        }
        for (ClientConnection* connection : open) {
            connection->disconnect(protocol::ReasonCode::ServerShuttingDown, false);
        }
        recorder_.submit();  // the sessions' last state: no end of batch will come for it
        loop_.stop();
    });
}

void Worker::join() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Worker::accept_ready(net::Listener& listener, std::size_t index) {
    // Bounded per wake-up so one busy listener cannot starve the connections already here.
    for (int accepted = 0; accepted < 64; ++accepted) {
        int error = 0;
        std::optional<net::AcceptedSocket> socket = listener.accept(&error);
        if (!socket) {
            if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
                // Out of descriptors or memory: the listener stays readable, so watching it
                // now would spin. Step back for a moment and let connections close.
                log().warn("accept on {}:{} failed: {}; pausing accepts for 100 ms",
                           listener.address(), listener.port(), std::strerror(error));
                loop_.unwatch(listener.fd());
                loop_.after(std::chrono::milliseconds(100), [this, &listener, index] {
                    if (!shutting_down_) {
                        watch_listener(listener, index);
                    }
                });
            } else if (error != 0) {
                log().debug("accept on {}:{} failed: {}", listener.address(), listener.port(),
                            std::strerror(error));
            }
            return;
        }
        if (shutting_down_) {
            ::close(socket->fd);
            continue;
        }
        // Before a byte is read or a TLS handshake begins: a refused socket costs nothing more.
        std::optional<ConnectionSlot> slot =
            context_.admission.admit(index, listener, *socket, std::chrono::steady_clock::now());
        if (!slot) {
            ::close(socket->fd);
            continue;
        }
        net::TlsSessionPtr tls;
        if (listener.tls() != nullptr) {
            try {
                tls = listener.tls()->new_session(socket->fd);
            } catch (const std::exception& error) {
                log().warn("{}: {}", socket->peer, error.what());
                ::close(socket->fd);
                continue;
            }
        }
        add_connection(socket->fd, std::move(socket->peer), {}, std::nullopt, std::move(tls),
                       std::move(*slot), context_.listener_policy(index));
    }
}

void Worker::add_connection(int fd, std::string peer, std::string unread,
                            std::optional<AcceptedConnect> connect, net::TlsSessionPtr tls,
                            ConnectionSlot slot, const ListenerPolicy& policy) {
    auto connection = std::make_unique<ClientConnection>(
        *this, fd, std::move(peer), std::move(unread), std::move(tls), std::move(slot), policy);
    ClientConnection* raw = connection.get();
    connections_.emplace(raw, std::move(connection));
    if (connect) {
        raw->complete_connect(std::move(*connect));
    }
}

void Worker::retire(ClientConnection* connection) {
    auto found = connections_.find(connection);
    if (found == connections_.end()) {
        return;
    }
    // Destroyed after the current batch: the caller may still be inside its own callback.
    if (retired_.empty()) {
        loop_.defer([this] { retired_.clear(); });
    }
    retired_.push_back(std::move(found->second));
    connections_.erase(found);
}

void Worker::tick() {
    const auto now = ClientConnection::Clock::now();
    // Worker 0 tells the store every few seconds that the broker is alive: after a crash,
    // the clients connected then are taken to have been disconnected at that time, so
    // their session expiry counts the time the broker was down.
    if (index_ == 0 && ++ticks_ % kClockTicks == 0) {
        recorder_.alive_at(wall_clock_ms());
    }
    if (index_ == 0) {
        context_.admission.tick(now);  // one thread measures the memory for all
    }
    std::vector<ClientConnection*> open;
    open.reserve(connections_.size());
    for (auto& [raw, owned] : connections_) {
        open.push_back(raw);
    }
    for (ClientConnection* connection : open) {
        if (connections_.contains(connection)) {
            connection->tick(now);
        }
    }
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        SessionHandlePtr session = it->second;
        ++it;
        if (session->connection != nullptr) {
            continue;
        }
        if (session->will_due_at && *session->will_due_at <= now) {
            publish_due_will(session);
        }
        if (session->state.expired(now)) {
            log().info("session '{}' expired", session->state.client_id());
            if (session->will_due_at) {
                publish_due_will(session);  // the session ends before the will delay
            }
            discard_session(session);
        }
    }
}

namespace {

// `check` with the ACL of `listener` for the client `client_id` logged in as `username`.
template <class Check>
bool acl_allows(const ListenerPolicy& listener, std::string_view client_id,
                const std::shared_ptr<const std::string>& username, Check check) {
    const auth::Acl* acl = listener.security->acl.get();
    if (acl == nullptr) {
        return true;
    }
    const auth::Principal principal{
        client_id, username ? std::optional<std::string_view>(*username) : std::nullopt};
    return check(*acl, principal);
}

// The ACL of the listener the session last connected through: an offline session keeps
// it, as in Mosquitto with per_listener_settings.
template <class Check>
bool acl_allows(const BrokerContext& context, const SessionHandle& session, Check check) {
    const ListenerPolicy* listener = session.listener.load(std::memory_order_acquire);
    return acl_allows(listener != nullptr ? *listener : context.listener_policy(0),
                      session.state.client_id(), session.username.load(), check);
}

}  // namespace

bool Worker::may_publish(const SessionHandle& session, std::string_view topic) const {
    return acl_allows(context_, session, [&](const auth::Acl& acl, const auto& who) {
        return acl.can_publish(who, topic);
    });
}

bool Worker::source_may_publish(const session::Message& message) const {
    if (!message.source) {
        return true;  // stored before sources were kept: nothing to check against
    }
    return acl_allows(context_.listener_policy(message.source->listener), message.publisher,
                      message.source->username, [&](const auth::Acl& acl, const auto& who) {
                          return acl.can_publish(who, message.topic);
                      });
}

bool Worker::may_receive(const SessionHandle& session, std::string_view topic) const {
    return acl_allows(context_, session, [&](const auth::Acl& acl, const auto& who) {
        return acl.can_receive(who, topic);
    });
}

bool Worker::may_subscribe(const SessionHandle& session, std::string_view filter) const {
    return acl_allows(context_, session, [&](const auth::Acl& acl, const auto& who) {
        return acl.can_subscribe(who, filter);
    });
}

unsigned Worker::home_worker_for(const std::string& client_id) const {
    return static_cast<unsigned>(std::hash<std::string>{}(client_id) % context_.workers.size());
}

std::string Worker::assign_client_id(const std::string& prefix) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = prefix;
    std::uint64_t bits = random_();
    for (int i = 0; i < 16; ++i, bits >>= 4) {
        id.push_back(kHex[bits & 0xF]);
    }
    return id;
}

void Worker::hand_over(int fd, std::string peer, std::string unread, AcceptedConnect connect,
                       unsigned home, net::TlsSessionPtr tls, ConnectionSlot slot) {
    context_.workers[home]->adopt(fd, std::move(peer), std::move(unread), std::move(connect),
                                  std::move(tls), std::move(slot));
}

void Worker::adopt(int fd, std::string peer, std::string unread, AcceptedConnect connect,
                   net::TlsSessionPtr tls, ConnectionSlot slot) {
    // std::function needs a copyable callable; the CONNECT, the TLS session and the slot
    // travel in a shared box (whose end, should the task never run, frees the slot).
    struct Box {
        AcceptedConnect connect;
        net::TlsSessionPtr tls;
        ConnectionSlot slot;
    };
    auto box = std::make_shared<Box>(Box{std::move(connect), std::move(tls), std::move(slot)});
    loop_.post([this, fd, peer = std::move(peer), unread = std::move(unread), box]() mutable {
        if (shutting_down_) {
            box->tls.reset();
            ::close(fd);
            return;
        }
        const ListenerPolicy& policy = *box->connect.listener;
        add_connection(fd, std::move(peer), std::move(unread), std::move(box->connect),
                       std::move(box->tls), std::move(box->slot), policy);
    });
}

std::pair<SessionHandlePtr, bool> Worker::attach_session(ClientConnection& connection,
                                                         const protocol::Connect& connect) {
    const std::string& client_id = connect.client_id;
    auto found = sessions_.find(client_id);
    if (found != sessions_.end() && found->second->connection != nullptr) {
        // [MQTT-3.1.4-3] session takeover: the older connection is closed first.
        SessionConnection* older = found->second->connection;
        log().info("{}: taken over by a new connection from {}", older->peer(), connection.peer());
        older->close_for_takeover();
        found = sessions_.find(client_id);  // it may have ended with its connection
    }
    if (found != sessions_.end() && found->second->will_due_at) {
        // [MQTT-3.1.2-8] a new connection before the will delay ends cancels the will.
        found->second->will_due_at.reset();
        found->second->state.will.reset();
    }
    const bool clean_start = connect.clean_start;
    if (found != sessions_.end() && clean_start) {
        discard_session(found->second);
        found = sessions_.end();
    }
    bool present = false;
    SessionHandlePtr session;
    if (found != sessions_.end()) {
        session = found->second;
        present = true;
    } else {
        session = std::make_shared<SessionHandle>(client_id, index_, session_limits());
        sessions_.emplace(client_id, session);
    }
    session->connection = &connection;
    session->online.store(true, std::memory_order_relaxed);
    session->state.on_connection_attached();
    return {session, present};
}

void Worker::detach_session(ClientConnection& connection, bool publish_will_now) {
    const SessionHandlePtr& session = connection.session();
    if (!session || session->connection != &connection) {
        return;
    }
    session->connection = nullptr;
    session->online.store(false, std::memory_order_relaxed);
    session::Session& state = session->state;
    const auto now = ClientConnection::Clock::now();
    if (publish_will_now && state.will) {
        // [MQTT-3.1.3-9] a delayed will waits for its delay or the end of the session,
        // whichever comes first; a new connection in time cancels it.
        const std::uint32_t delay =
            state.will->properties.number(protocol::PropertyId::WillDelayInterval).value_or(0);
        if (delay == 0 || state.expiry_interval == 0) {
            publish_will(session);
            state.will.reset();
        } else {
            const std::uint32_t wait = std::min(delay, state.expiry_interval);
            session->will_due_at = now + std::chrono::seconds(wait);
        }
    } else {
        state.will.reset();
    }
    hand_over_shared(session);
    state.on_connection_lost(now);
    if (state.expiry_interval == 0) {
        discard_session(session);
    } else {
        session->disconnected_at_ms = wall_clock_ms();
        recorder_.disconnected(*session);
    }
}

void Worker::publish_due_will(const SessionHandlePtr& session) {
    session->will_due_at.reset();
    publish_will(session);
    session->state.will.reset();
    recorder_.will_published(*session);
}

void Worker::publish_will(const SessionHandlePtr& session) {
    if (!session->state.will) {
        return;
    }
    const protocol::Will& will = *session->state.will;
    if (topic::is_broker_topic(will.topic) || !may_publish(*session, will.topic)) {
        log().info("will of '{}' to '{}' not published: not authorized by the ACL",
                   session->state.client_id(), will.topic);
        return;
    }
    log().debug("publishing the will of '{}' to '{}'", session->state.client_id(), will.topic);
    publish(will_message(will, session->state.client_id(), context_.next_message_id(),
                         source_of(*session)));
}

session::MessageSource Worker::source_of(const SessionHandle& session) const {
    const ListenerPolicy* listener = session.listener.load(std::memory_order_acquire);
    return session::MessageSource{session.username.load(),
                                  listener != nullptr ? listener->index : std::uint16_t{0}};
}

session::MessagePtr will_message(const protocol::Will& will, const std::string& client_id,
                                 std::uint64_t id, session::MessageSource source) {
    auto message = std::make_shared<session::Message>();
    if (will.retain) {
        message->source = std::move(source);
    }
    message->topic = will.topic;
    message->payload = will.payload;
    message->qos = will.qos;
    message->retain = will.retain;
    message->properties = will.properties;
    message->properties.remove(protocol::PropertyId::WillDelayInterval);
    message->publisher = client_id;
    message->id = id;
    if (const auto expiry = will.properties.number(protocol::PropertyId::MessageExpiryInterval);
        expiry && *expiry > 0) {
        message->expires_at_ms = wall_clock_ms() + std::int64_t{*expiry} * 1000;
    }
    return message;
}

void Worker::discard_session(const SessionHandlePtr& session) {
    for (const auto& [filter, record] : session->state.subscriptions) {
        context_.router.unsubscribe(filter, session);
    }
    session->state.subscriptions.clear();
    session->discarded = true;
    recorder_.ended(*session);
    auto found = sessions_.find(session->state.client_id());
    if (found != sessions_.end() && found->second == session) {
        sessions_.erase(found);
    }
}

void Worker::publish(const session::MessagePtr& message, const CommitToken& token) {
    routed_.clear();
    context_.router.match(message, routed_);
    if (context_.any_acl) {
        // An allowed subscription may still match a topic the subscriber may not read.
        std::erase_if(routed_, [&](const RoutedDelivery& routed) {
            return !routed.target->may_receive(*this, message->topic);
        });
    }
    // The queue entries first, then the retained update, which submits the batch: rule 1
    // in session_recorder.hpp.
    recorder_.routed(routed_, token);
    if (message->retain) {
        recorder_.retained(message, token);
    }
    send_routed(routed_);
    routed_.clear();
}

void Worker::send_routed(std::vector<RoutedDelivery>& routed) {
    for (RoutedDelivery& delivery : routed) {
        const unsigned home = delivery.target->home_worker;
        if (home == index_) {
            Subscriber& target = *delivery.target;
            target.deliver(*this, std::move(delivery.target), std::move(delivery.delivery));
        } else {
            outboxes_[home].push_back(std::move(delivery));
            if (!outbox_flush_scheduled_) {
                outbox_flush_scheduled_ = true;
                loop_.defer([this] { flush_outboxes(); });
            }
        }
    }
}

void Worker::hand_over_shared(const SessionHandlePtr& session) {
    session::OutboundFlow& outbound = session->state.outbound();
    // At shutdown every member leaves at once: nobody to hand to, and the store keeps it.
    if (shutting_down_ || (outbound.inflight_count() == 0 && outbound.queued().empty())) {
        return;
    }
    Router& router = context_.router;
    session::OutboundFlow::Taken taken = outbound.take_if([&](const session::Delivery& d) {
        return d.shared && router.has_other_online_member(*d.shared, session);
    });
    if (taken.deliveries.empty()) {
        return;
    }
    recorder_.handed_over(*session, taken);
    std::vector<RoutedDelivery> rerouted;
    for (session::Delivery& delivery : taken.deliveries) {
        if (auto next = router.reroute_shared(delivery, session)) {
            rerouted.push_back(std::move(*next));
        } else {
            // The other member went offline meanwhile: it stays with this session, queued
            // (and stored again) like any message for an offline member.
            delivery.seq = 0;
            deliver(session, std::move(delivery));
        }
    }
    log().info("client '{}': {} message(s) of shared subscriptions handed to other members",
               session->state.client_id(), rerouted.size());
    recorder_.routed(rerouted, nullptr);
    send_routed(rerouted);
}

void Worker::flush_outboxes() {
    outbox_flush_scheduled_ = false;
    // The queue entries first (rule 3 in session_recorder.hpp).
    recorder_.submit();
    for (unsigned home = 0; home < outboxes_.size(); ++home) {
        if (!outboxes_[home].empty()) {
            context_.workers[home]->post_deliveries(std::move(outboxes_[home]));
            outboxes_[home].clear();
        }
    }
}

void Worker::post_deliveries(std::vector<RoutedDelivery> batch) {
    auto box = std::make_shared<std::vector<RoutedDelivery>>(std::move(batch));
    loop_.post([this, box] {
        for (RoutedDelivery& routed : *box) {
            Subscriber& target = *routed.target;
            target.deliver(*this, std::move(routed.target), std::move(routed.delivery));
        }
    });
}

void Worker::deliver(const SessionHandlePtr& target, session::Delivery&& delivery) {
    if (target->discarded) {
        return;  // its queue entry, if any, went with the session's EraseSession
    }
    // Stored already by the publishing worker (rule 3 in session_recorder.hpp).
    const bool already_stored = delivery.seq != 0;
    session::OutboundFlow& outbound = target->state.outbound();
    // A Topic Alias is counted whenever one may be added.
    if (target->client_maximum_packet_size > 0 &&
        ClientConnection::publish_size(delivery, target->state.version) +
                (target->client_topic_aliases ? kTopicAliasBytes : 0) >
            target->client_maximum_packet_size) {
        outbound.count_too_large();
        log().debug("client '{}': message on '{}' exceeds its maximum packet size, dropped",
                    target->state.client_id(), delivery.message->topic);
        if (already_stored) {
            recorder_.stored_delivery_dropped(*target, delivery.seq);
        }
        return;
    }
    SessionConnection* connection = target->connection;
    // A delivery that did not come through publish() (a retained message on subscribe):
    // numbered and stored here.
    std::optional<session::Delivery> record;
    if (!already_stored) {
        record = recorder_.numbered_here(*target, delivery);
    }
    const std::uint64_t seq = delivery.seq;
    const auto& counters = outbound.counters();
    const std::uint64_t dropped_before = counters.dropped_queue_full + counters.dropped_queue_bytes;
    session::OfferOutcome outcome = session::OfferOutcome::Dropped;
    std::vector<session::OutboundPacket> ready =
        outbound.offer(std::move(delivery), connection != nullptr, &outcome);
    const std::uint64_t dropped = counters.dropped_queue_full + counters.dropped_queue_bytes;
    if (dropped != dropped_before && (dropped & (dropped - 1)) == 0) {
        // Logged at 1, 2, 4, 8 … drops: visible without flooding the log.
        log().warn(
            "client '{}': queue full ({} messages, {} bytes), {} message(s) dropped so far "
            "({} over max_queued_messages, {} over max_queued_bytes)",
            target->state.client_id(), outbound.queued_count(), outbound.queued_bytes(), dropped,
            counters.dropped_queue_full, counters.dropped_queue_bytes);
    }
    if (record) {
        recorder_.offered(target, *record, outcome);
    } else if (already_stored && outcome == session::OfferOutcome::Dropped) {
        recorder_.stored_delivery_dropped(*target, seq);
    }
    if (!ready.empty()) {
        dispatch_outbound(target, std::move(ready));
    }
}

}  // namespace petrel::broker
