#include "endpoint_broker.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "connection_input.hpp"
#include "finding.hpp"
#include "petrel/auth/password_file.hpp"
#include "petrel/auth/scram.hpp"
#include "petrel/connection/subscribe_rules.hpp"
#include "petrel/protocol/codec.hpp"
#include "petrel/topic/topic_name.hpp"

namespace petrel::fuzz {

using connection::ServerEndpoint;
using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;
using Phase = ServerEndpoint::Phase;

namespace {

// Cheap logins: the harness pays for every one. The users are those of the restricted
// broker's password file (connection_input.hpp).
constexpr unsigned kPasswordIterations = 1000;
constexpr unsigned kScramIterations = 64;
constexpr std::int64_t kEpochMs = 1'700'000'000'000;

protocol::ByteView view(std::string_view bytes) {
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

// PETREL_FUZZ_TRACE=1 prints every packet both ways, as fuzz_broker does.
bool tracing() {
    static const bool enabled = std::getenv("PETREL_FUZZ_TRACE") != nullptr;
    return enabled;
}

const char* event_name(const connection::ServerEvent& event) {
    static constexpr const char* kNames[] = {"SendBytes",
                                             "ConnectReceived",
                                             "AuthReceived",
                                             "PublishReceived",
                                             "DeliveryAcknowledged",
                                             "ReleaseReceived",
                                             "AcknowledgementIgnored",
                                             "SubscribeReceived",
                                             "UnsubscribeReceived",
                                             "ConnectionEnded"};
    return kNames[event.index()];
}

const auth::Authenticator& scram_authenticator() {
    static const auth::ScramAuthenticator authenticator = [] {
        std::string lines;
        for (std::string_view user : {kUser, kOtherUser}) {
            const auth::UserRecord record{std::string(user),
                                          auth::make_password_hash(kPassword, kPasswordIterations),
                                          auth::make_scram_verifier(kPassword, kScramIterations)};
            lines += auth::format_user_line(record) + '\n';
        }
        auto users = std::make_shared<const auth::PasswordFile>(
            auth::PasswordFile::parse(lines, "fuzz passwords"));
        // A fixed nonce: what the server sends depends on the input alone.
        return auth::ScramAuthenticator(users, [] { return std::string("fuzz-server-nonce"); });
    }();
    return authenticator;
}

session::MessagePtr message_of(std::string topic, protocol::Payload payload, protocol::Qos qos,
                               bool retain, protocol::Properties properties, std::string publisher,
                               std::int64_t now_ms) {
    auto message = std::make_shared<session::Message>();
    message->topic = std::move(topic);
    message->payload = std::move(payload);
    message->qos = qos;
    message->retain = retain;
    properties.remove(PropertyId::TopicAlias);
    properties.remove(PropertyId::SubscriptionIdentifier);
    if (const auto expiry = properties.number(PropertyId::MessageExpiryInterval)) {
        message->expires_at_ms = now_ms + std::int64_t{*expiry} * 1000;
    }
    message->properties = std::move(properties);
    message->publisher = std::move(publisher);
    return message;
}

}  // namespace

// --- the two servers (broker_fuzz.cpp's brokers, as endpoint settings) ---

struct TestBroker::Profile {
    connection::ServerSettings settings;
    session::OutboundLimits limits;
    std::size_t max_subscriptions = 0;  // 0: no limit
    bool restricted = false;
};

namespace {

TestBroker::Profile make_open_profile() {
    TestBroker::Profile profile;
    connection::ServerCapabilities& capabilities = profile.settings.capabilities;
    capabilities.maximum_packet_size = 16384;
    capabilities.receive_maximum = 8;
    capabilities.topic_alias_maximum = 4;
    profile.settings.outgoing_topic_alias_maximum = 2;
    profile.limits.max_inflight = 4;
    profile.limits.max_queued = 50;
    return profile;
}

TestBroker::Profile make_restricted_profile() {
    TestBroker::Profile profile;
    profile.restricted = true;
    connection::ServerCapabilities& capabilities = profile.settings.capabilities;
    capabilities.maximum_packet_size = 2048;
    capabilities.maximum_qos = 1;
    capabilities.retain_available = false;
    capabilities.wildcard_subscription_available = false;
    capabilities.subscription_identifier_available = false;
    capabilities.shared_subscription_available = false;
    capabilities.receive_maximum = 2;
    capabilities.topic_alias_maximum = 0;
    profile.settings.outgoing_topic_alias_maximum = 0;
    profile.settings.max_keepalive = 30;
    // Not in fuzz_broker's restricted broker: here it costs nothing to fuzz the limit.
    profile.settings.max_inbound_message_rate = 20;
    profile.limits.max_inflight = 2;
    profile.limits.max_queued = 5;
    profile.limits.max_queued_bytes = 2048;
    profile.max_subscriptions = 3;
    return profile;
}

}  // namespace

// --- EndpointLink ---

EndpointLink::EndpointLink(TestBroker& broker, connection::ServerSettings settings,
                           connection::TimePoint now)
    : broker_(broker),
      endpoint_(settings, now),
      sent_(settings.capabilities.maximum_packet_size),
      opened_at_(now),
      last_received_(now) {}

EndpointLink::~EndpointLink() {
    if (!ended_) {
        close_transport();
    }
    broker_.forget(*this);
}

bool EndpointLink::send_raw(std::string_view bytes) {
    if (tracing() && can_write()) {
        std::fprintf(stderr, "[%p] > %zu bytes:", static_cast<void*>(this), bytes.size());
        for (const unsigned char c : bytes.substr(0, 64)) {
            std::fprintf(stderr, " %02x", c);
        }
        std::fprintf(stderr, "\n");
    }
    return take(bytes);
}

bool EndpointLink::take(std::string_view bytes) {
    if (!can_write()) {
        return false;
    }
    sent_.add(bytes);
    inbox_.append(bytes);
    last_received_ = broker_.now();
    pump();
    return !ended_;
}

bool EndpointLink::send(const protocol::Packet& packet) {
    std::string bytes;
    protocol::encode(packet, version(), bytes);
    if (tracing()) {
        std::fprintf(stderr, "[%p] > %s\n", static_cast<void*>(this), describe(packet).c_str());
    }
    return take(bytes);
}

void EndpointLink::pump() {
    while (!ended_ && !endpoint_.ended()) {
        const std::size_t consumed = endpoint_.receive(view(inbox_), broker_.now());
        if (consumed > inbox_.size()) {
            finding("receive() consumed more bytes than it was given");
        }
        // Whole packets only.
        std::size_t at = 0;
        while (at < consumed) {
            const protocol::FrameResult framed = protocol::frame(view(inbox_).subspan(at));
            if (framed.status != protocol::FrameStatus::Complete ||
                at + framed.frame.total_length() > consumed) {
                finding("receive() consumed part of a packet", inbox_.substr(0, consumed));
            }
            at += framed.frame.total_length();
        }
        inbox_.erase(0, consumed);
        flush();
        if (consumed == 0) {
            break;
        }
    }
    flush();
    if (endpoint_.ended() != ended_) {
        finding("the endpoint ended without ConnectionEnded (or the reverse)");
    }
    if (ended_) {
        return;
    }
    // What is left is the start of a packet the endpoint waits for the rest of.
    if (!inbox_.empty() &&
        protocol::frame(view(inbox_)).status != protocol::FrameStatus::Incomplete) {
        finding(
            "receive() left a packet it could read (or one that must end the connection) unread",
            inbox_);
    }
    if (sent_.doomed() && inbox_.empty()) {
        finding("the endpoint read bytes that must end the connection and did not end it");
    }
}

void EndpointLink::flush() {
    endpoint_.take_events(taken_);
    for (connection::ServerEvent& event : taken_) {
        pending_.push_back(std::move(event));
    }
    while (!pending_.empty()) {
        connection::ServerEvent event = std::move(pending_.front());
        pending_.pop_front();
        handle(event);
        if (pending_.empty()) {
            endpoint_.take_events(taken_);
            for (connection::ServerEvent& more : taken_) {
                pending_.push_back(std::move(more));
            }
        }
    }
}

void EndpointLink::check_phase_for(const connection::ServerEvent& event) const {
    const Phase phase = endpoint_.phase();
    const auto wrong = [&event](const char* why) {
        finding(std::string("endpoint event ") + event_name(event) + " " + why);
    };
    if (ended_) {
        wrong("after ConnectionEnded");
    }
    if (std::holds_alternative<connection::ConnectReceived>(event)) {
        if (connect_seen_ || phase != Phase::Connecting) {
            wrong("not first, or not in phase Connecting");
        }
    } else if (const auto* auth = std::get_if<connection::AuthReceived>(&event)) {
        if (auth->connecting ? (accepted_ || !exchange_begun || phase != Phase::Authenticating)
                             : (!accepted_ || phase != Phase::Connected)) {
            wrong("in the wrong phase");
        }
    } else if (std::holds_alternative<connection::ConnectionEnded>(event)) {
        if (phase != Phase::Ended) {
            wrong("while the endpoint is not Ended");
        }
    } else if (!std::holds_alternative<connection::SendBytes>(event)) {
        if (!accepted_ || phase != Phase::Connected) {
            wrong("before CONNACK accepted the connection");
        }
    }
}

void EndpointLink::handle(connection::ServerEvent& event) {
    check_phase_for(event);
    std::visit(
        [this](auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, connection::SendBytes>) {
                write(e.bytes);
            } else if constexpr (std::is_same_v<T, connection::ConnectReceived>) {
                connect_seen_ = true;
                connect = std::move(e.connect);
                broker_.on_connect(*this);
            } else if constexpr (std::is_same_v<T, connection::AuthReceived>) {
                broker_.on_auth(*this, e);
            } else if constexpr (std::is_same_v<T, connection::PublishReceived>) {
                broker_.on_publish(*this, e.publish);
            } else if constexpr (std::is_same_v<T, connection::DeliveryAcknowledged>) {
                write_packets(std::move(e.next));
            } else if constexpr (std::is_same_v<T, connection::ReleaseReceived>) {
                endpoint_.complete_release(e.packet_id, e.known);
            } else if constexpr (std::is_same_v<T, connection::AcknowledgementIgnored>) {
                // only the log hears of it
            } else if constexpr (std::is_same_v<T, connection::SubscribeReceived>) {
                broker_.on_subscribe(*this, e.subscribe);
            } else if constexpr (std::is_same_v<T, connection::UnsubscribeReceived>) {
                broker_.on_unsubscribe(*this, e.unsubscribe);
            } else if constexpr (std::is_same_v<T, connection::ConnectionEnded>) {
                check_end_cause(e);
                ended_ = true;
                output_.at_eof();
                broker_.on_ended(*this, e.publish_will && accepted_);
            }
        },
        event);
}

void EndpointLink::check_end_cause(const connection::ConnectionEnded& ended) const {
    using Cause = connection::ConnectionEnded::Cause;
    const connection::TimePoint now = broker_.now();
    if (ended.cause == Cause::KeepAliveTimeout) {
        const auto silent = now - last_received_;
        const unsigned seconds = endpoint_.keep_alive().seconds();
        if (!accepted_ || seconds == 0 || silent * 2 < std::chrono::seconds(seconds * 3)) {
            finding("ended for keep alive within 1.5 times the keep alive (or without one)");
        }
    }
    if (ended.cause == Cause::ClientDisconnect && !sent_.disconnect_sent()) {
        finding("ended for the client's DISCONNECT, which it did not send");
    }
    if (ended.cause == Cause::NotConnectFirst && !sent_.doomed()) {
        finding("ended for a first packet other than CONNECT, which it was not");
    }
    if (ended.cause == Cause::ConnectTimeout &&
        (accepted_ || now - opened_at_ <= endpoint_.settings().connect_timeout)) {
        finding("ended for the connect timeout before it passed (or after CONNACK)");
    }
}

void EndpointLink::check_timers() const {
    if (ended_) {
        return;
    }
    const connection::TimePoint now = broker_.now();
    const std::chrono::seconds grace{1};
    const unsigned seconds = endpoint_.keep_alive().seconds();
    if (accepted_ && seconds > 0 &&
        (now - last_received_) * 2 > std::chrono::seconds(seconds * 3) + grace * 2) {
        finding(
            "tick(): a client silent for more than 1.5 times its keep alive is still connected");
    }
    if (!accepted_ && now - opened_at_ > endpoint_.settings().connect_timeout + grace) {
        finding("tick(): no CONNACK after the connect timeout, and the connection goes on");
    }
}

void EndpointLink::write(std::string_view bytes) {
    if (ended_) {
        finding("harness: the embedder wrote after the end");
    }
    output_bytes_ += bytes.size();
    const std::size_t before = received_.size();
    output_.feed(bytes, sent_, received_);
    for (std::size_t i = before; tracing() && i < received_.size(); ++i) {
        std::fprintf(stderr, "[%p] < %s\n", static_cast<void*>(this),
                     describe(received_[i]).c_str());
    }
}

void EndpointLink::write_packets(std::vector<session::OutboundPacket> packets) {
    for (session::OutboundPacket& packet : packets) {
        flush();  // what the endpoint has to send goes first
        if (ended_ || endpoint_.ended() || session_ == nullptr) {
            return;
        }
        if (packet.kind == session::OutboundPacket::Kind::Pubrel) {
            endpoint_.send(protocol::Pubrel{packet.packet_id, ReasonCode::Success, {}});
            continue;
        }
        const session::Message& message = *packet.delivery.message;
        if (message.expired(broker_.now_ms())) {
            if (packet.packet_id != 0) {
                write_packets(session_->outbound().drop_unsent(packet.packet_id));
            }
            continue;
        }
        // Over the client's Maximum Packet Size: dropped [MQTT-3.1.2-25]. Measured without
        // a Topic Alias, plus the most one adds (3 bytes), so that no alias is given out
        // for a PUBLISH that is not sent.
        const std::uint32_t limit = endpoint_.peer().maximum_packet_size;
        const connection::PublishFrame plain = connection::frame_delivery(
            packet, endpoint_.version(), message.topic, nullptr, broker_.now_ms());
        if (limit > 0 && connection::encoded_size(plain) + 3 > limit) {
            if (packet.packet_id != 0) {
                write_packets(session_->outbound().drop_unsent(
                    packet.packet_id, session::OutboundFlow::Unsendable::TooLarge));
            }
            continue;
        }
        const connection::PublishFrame frame =
            endpoint_.frame(packet, message.topic, broker_.now_ms());
        std::string bytes;
        connection::write_header(frame, bytes);
        if (message.payload) {
            bytes.append(*message.payload);
        }
        write(bytes);
    }
    flush();
}

void EndpointLink::wait(const std::function<bool()>& done, const char* what) {
    // Everything sent has been answered already: a wait that makes no progress is stuck.
    std::size_t seen = std::numeric_limits<std::size_t>::max();
    while (!done() && !closed()) {
        if (seen == output_bytes_) {
            finding(std::string("the endpoint neither answered nor closed: ") + what);
        }
        seen = output_bytes_;
    }
}

void EndpointLink::sync() {
    if (!answerable()) {
        return;
    }
    send(protocol::Pingreq{});
    wait([this] { return output_.pingresps() >= sent_.pingreqs(); }, "PINGREQ");
}

void EndpointLink::drain(const char* what) {
    if (!ended_) {
        finding(std::string("the endpoint did not end the connection: ") + what);
    }
}

void EndpointLink::close_transport() {
    write_closed_ = true;
    if (ended_) {
        return;
    }
    flush();
    endpoint_.transport_closed();
    flush();
    if (ended_) {
        return;
    }
    ended_ = true;
    output_.at_eof();
    // Without DISCONNECT: the will is due.
    broker_.on_ended(*this, accepted_);
}

// --- TestBroker ---

TestBroker::TestBroker() : now_(connection::TimePoint{} + std::chrono::hours(1)) {}

TestBroker::~TestBroker() = default;

std::int64_t TestBroker::now_ms() const {
    return kEpochMs +
           std::chrono::duration_cast<std::chrono::milliseconds>(now_.time_since_epoch()).count();
}

std::unique_ptr<ScriptLink> TestBroker::connect(bool restricted) {
    static const Profile open = make_open_profile();
    static const Profile restricted_profile = make_restricted_profile();
    if (profile_ == nullptr) {
        profile_ = restricted ? &restricted_profile : &open;
    }
    auto link = std::make_unique<EndpointLink>(*this, profile_->settings, now_);
    links_.push_back(link.get());
    return link;
}

void TestBroker::forget(EndpointLink& link) {
    links_.erase(std::remove(links_.begin(), links_.end(), &link), links_.end());
}

void TestBroker::before_op(std::uint8_t opcode_byte) {
    const unsigned seconds = opcode_byte / kOpCount;
    if (seconds == 0) {
        return;
    }
    now_ += std::chrono::seconds(seconds);
    const std::vector<EndpointLink*> links = links_;
    for (EndpointLink* link : links) {
        if (!link->ended()) {
            link->endpoint().tick(now_);
            link->flush();
            if (link->endpoint().ended() != link->ended()) {
                finding("tick(): the endpoint ended without ConnectionEnded (or the reverse)");
            }
            link->check_timers();
        }
    }
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (it->second->expired(now_) && live_link_of(*it->second) == nullptr) {
            graveyard_.push_back(std::move(it->second));
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
}

EndpointLink* TestBroker::live_link_of(const session::Session& session) {
    for (EndpointLink* link : links_) {
        if (!link->ended() && link->session() == &session) {
            return link;
        }
    }
    return nullptr;
}

void TestBroker::on_connect(EndpointLink& link) {
    ServerEndpoint& endpoint = link.endpoint();
    const protocol::Connect& connect = link.connect;
    const bool v5 = connect.version == ProtocolVersion::V5;
    if (profile_->restricted && connect.username) {
        const bool known = *connect.username == kUser || *connect.username == kOtherUser;
        if (!known || !connect.password || *connect.password != kPassword) {
            endpoint.refuse(ReasonCode::BadUserNameOrPassword, "bad user name or password");
            return;
        }
    }
    if (connection::negotiate_keep_alive(connect.keep_alive, profile_->settings.max_keepalive,
                                         connect.version)
            .refuse) {
        // A 3.x client cannot be told a Server Keep Alive.
        endpoint.refuse(ReasonCode::ClientIdentifierNotValid, "keep alive above the maximum");
        return;
    }
    if (connect.client_id.empty() && !v5 && !connect.clean_start) {
        endpoint.refuse(ReasonCode::ClientIdentifierNotValid, "empty client id, no clean start");
        return;
    }
    const auto method = connect.properties.text(PropertyId::AuthenticationMethod);
    if (!method) {
        accept(link, {});
        return;
    }
    if (!profile_->restricted || *method != kScramMethod) {
        endpoint.refuse(ReasonCode::BadAuthenticationMethod, "authentication method not supported");
        return;
    }
    link.exchange = scram_authenticator().begin(*method);
    link.auth_method = std::string(*method);
    const auth::AuthStep step =
        link.exchange->start(connect.properties.text(PropertyId::AuthenticationData).value_or(""));
    if (step.kind == auth::AuthStep::Kind::Continue) {
        link.exchange_begun = true;
        endpoint.begin_authentication(link.auth_method);
        endpoint.continue_authentication(step.data);
        return;
    }
    endpoint.refuse(ReasonCode::BadUserNameOrPassword, "authentication failed");
}

void TestBroker::on_auth(EndpointLink& link, const connection::AuthReceived& auth) {
    ServerEndpoint& endpoint = link.endpoint();
    if (auth.reauthenticate) {
        link.exchange = scram_authenticator().begin(link.auth_method);
    }
    if (!link.exchange) {
        finding("harness: AUTH with no exchange to continue");
    }
    const auth::AuthStep step =
        auth.reauthenticate ? link.exchange->start(auth.data) : link.exchange->next(auth.data);
    if (step.kind == auth::AuthStep::Kind::Continue) {
        endpoint.continue_authentication(step.data);
        return;
    }
    link.exchange.reset();
    const bool success = step.kind == auth::AuthStep::Kind::Success;
    if (auth.connecting) {
        if (!success) {
            endpoint.refuse(ReasonCode::BadUserNameOrPassword, "authentication failed");
            return;
        }
        endpoint.authenticated();
        link.username = step.username;
        connection::ConnectAccepted terms;
        terms.authentication_method = link.auth_method;
        terms.authentication_data = step.data;
        accept(link, std::move(terms));
        return;
    }
    if (!success || step.username != link.username) {
        endpoint.disconnect(ReasonCode::NotAuthorized, true, "re-authentication failed");
        return;
    }
    endpoint.reauthenticated(step.data);
}

void TestBroker::accept(EndpointLink& link, connection::ConnectAccepted terms) {
    protocol::Connect& connect = link.connect;
    std::string id = connect.client_id;
    if (id.empty()) {
        id = "fz-assigned-" + std::to_string(++assigned_ids_);
        if (connect.version == ProtocolVersion::V5) {
            terms.assigned_client_id = id;
        }
    }
    // Takeover: the live connection of this client id ends first.
    const std::vector<EndpointLink*> links = links_;
    for (EndpointLink* other : links) {
        if (other != &link && !other->ended() && other->session() != nullptr &&
            other->session()->client_id() == id) {
            other->endpoint().disconnect(ReasonCode::SessionTakenOver, true, "session taken over");
            other->flush();
        }
    }
    auto found = sessions_.find(id);
    if (found != sessions_.end() && connect.clean_start) {
        graveyard_.push_back(std::move(found->second));
        sessions_.erase(found);
        found = sessions_.end();
    }
    terms.session_present = found != sessions_.end();
    if (found == sessions_.end()) {
        found =
            sessions_.emplace(id, std::make_unique<session::Session>(id, profile_->limits)).first;
    }
    session::Session& session = *found->second;
    terms.response_information = "fz/response/" + id;  // sent only when asked for
    if (!link.endpoint().accept(session, connect, std::move(terms), now_)) {
        link.flush();
        return;
    }
    link.attached(session);
    session.on_connection_attached();
    link.flush();
    link.write_packets(session.outbound().resume());
}

void TestBroker::on_publish(EndpointLink& link, protocol::Publish& publish) {
    ServerEndpoint& endpoint = link.endpoint();
    session::Session& session = *link.session();
    const protocol::Qos qos = publish.qos;
    const protocol::PacketId id = publish.packet_id;
    if (publish.topic.starts_with("fz/deny/") || topic::is_broker_topic(publish.topic)) {
        // The ACL's refusal; QoS 0 is dropped unseen.
        if (qos > 0) {
            endpoint.refuse_publish(qos, id, ReasonCode::NotAuthorized, "not authorized");
        }
        return;
    }
    const bool fresh = qos < 2 || session.inbound_qos2().on_publish(id);
    if (fresh) {
        const session::MessagePtr message =
            message_of(publish.topic, publish.payload, qos, publish.retain,
                       std::move(publish.properties), session.client_id(), now_ms());
        if (message->retain) {
            retain(message);
        }
        route(message);
    }
    if (qos > 0 && !link.ended()) {
        endpoint.acknowledge_publish(qos, id);
    }
}

void TestBroker::retain(const session::MessagePtr& message) {
    if (!message->payload || message->payload->empty()) {
        retained_.erase(message->topic);  // an empty retained message clears the topic
    } else {
        retained_[message->topic] = message;
    }
}

void TestBroker::route(const session::MessagePtr& message) {
    // Deliveries first, then offered: writing one may end a connection and drop a session.
    std::vector<std::pair<std::string, session::Delivery>> deliveries;
    for (const auto& [id, session] : sessions_) {
        std::optional<session::Delivery> delivery;
        for (const auto& [filter, record] : session->subscriptions) {
            std::string_view plain = filter;
            if (const auto shared = topic::parse_shared(filter)) {
                plain = shared->filter;
            }
            if (!topic::matches(plain, message->topic) ||
                (record.options.no_local && id == message->publisher)) {
                continue;
            }
            if (!delivery) {
                delivery.emplace();
                delivery->message = message;
            }
            delivery->qos = std::max(delivery->qos, std::min(message->qos, record.options.qos));
            delivery->retain =
                delivery->retain || (record.options.retain_as_published && message->retain);
            if (record.subscription_id) {
                delivery->subscription_ids.push_back(*record.subscription_id);
            }
        }
        if (delivery) {
            deliveries.emplace_back(id, std::move(*delivery));
        }
    }
    for (auto& [id, delivery] : deliveries) {
        const auto found = sessions_.find(id);
        if (found == sessions_.end()) {
            continue;
        }
        session::Session& session = *found->second;
        EndpointLink* live = live_link_of(session);
        std::vector<session::OutboundPacket> packets =
            session.outbound().offer(std::move(delivery), live != nullptr);
        if (live != nullptr) {
            live->write_packets(std::move(packets));
        }
    }
}

void TestBroker::on_subscribe(EndpointLink& link, const protocol::Subscribe& subscribe) {
    session::Session& session = *link.session();
    const connection::SubscribeLimits limits{profile_->settings.capabilities, 0};
    const auto identifier = subscribe.properties.number(PropertyId::SubscriptionIdentifier);
    protocol::Suback suback;
    suback.packet_id = subscribe.packet_id;
    std::vector<session::Delivery> retained;
    for (const protocol::Subscription& subscription : subscribe.subscriptions) {
        if (const auto refusal =
                connection::filter_refusal(subscription, identifier.has_value(), limits)) {
            suback.reasons.push_back(*refusal);
        } else if (subscription.filter.starts_with("fz/deny")) {
            suback.reasons.push_back(ReasonCode::NotAuthorized);
        } else if (profile_->max_subscriptions > 0 &&
                   !session.subscriptions.contains(subscription.filter) &&
                   session.subscriptions.size() >= profile_->max_subscriptions) {
            suback.reasons.push_back(ReasonCode::QuotaExceeded);
        } else {
            session::SubscriptionRecord record{subscription.options, identifier};
            record.options.qos =
                connection::granted_qos(subscription.options.qos, limits.capabilities);
            suback.reasons.push_back(protocol::granted_qos(record.options.qos));
            const auto shared = topic::parse_shared(subscription.filter);
            const bool is_new = !session.subscriptions.contains(subscription.filter);
            if (connection::sends_retained(record.options, shared.has_value(), is_new)) {
                for (const auto& [name, message] : retained_) {
                    if (topic::matches(subscription.filter, name)) {
                        session::Delivery delivery;
                        delivery.message = message;
                        delivery.qos = std::min(message->qos, record.options.qos);
                        delivery.retain = true;
                        if (identifier) {
                            delivery.subscription_ids.push_back(*identifier);
                        }
                        retained.push_back(std::move(delivery));
                    }
                }
            }
            session.subscriptions[subscription.filter] = record;
        }
    }
    link.endpoint().answer_subscribe(std::move(suback));
    // The retained messages follow the SUBACK.
    for (session::Delivery& delivery : retained) {
        if (link.ended()) {
            return;
        }
        link.write_packets(session.outbound().offer(std::move(delivery), true));
    }
}

void TestBroker::on_unsubscribe(EndpointLink& link, const protocol::Unsubscribe& unsubscribe) {
    session::Session& session = *link.session();
    protocol::Unsuback unsuback;
    unsuback.packet_id = unsubscribe.packet_id;
    for (const std::string& filter : unsubscribe.filters) {
        const auto found = session.subscriptions.find(filter);
        if (found == session.subscriptions.end()) {
            unsuback.reasons.push_back(ReasonCode::NoSubscriptionExisted);
        } else {
            session.subscriptions.erase(found);
            unsuback.reasons.push_back(ReasonCode::Success);
        }
    }
    link.endpoint().send(unsuback);
}

void TestBroker::on_ended(EndpointLink& link, bool publish_will) {
    session::Session* session = link.session();
    if (session == nullptr) {
        return;
    }
    std::optional<protocol::Will> will = std::move(session->will);
    session->will.reset();
    session->on_connection_lost(now_);
    const auto found = sessions_.find(session->client_id());
    if (session->expiry_interval == 0 && found != sessions_.end() &&
        found->second.get() == session) {
        graveyard_.push_back(std::move(found->second));
        sessions_.erase(found);
    }
    if (publish_will && will) {
        will->properties.remove(PropertyId::WillDelayInterval);  // the will's, not the message's
        const session::MessagePtr message =
            message_of(std::move(will->topic), std::move(will->payload), will->qos, will->retain,
                       std::move(will->properties), session->client_id(), now_ms());
        if (message->retain) {
            retain(message);
        }
        route(message);
    }
}

}  // namespace petrel::fuzz
