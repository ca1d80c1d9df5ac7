// One client's network connection: the adapter between its socket and the server role of
// the MQTT endpoint (connection::ServerEndpoint), which decides what the protocol says.
// It feeds the endpoint the socket's bytes and the time, and carries the endpoint's events
// out against the worker, the router, the store and the security policy. The session it
// serves lives on (SessionHandle); this object lives exactly as long as the TCP connection.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "commit_waiter.hpp"
#include "connection_admission.hpp"
#include "credential_checker.hpp"
#include "message_admission.hpp"
#include "petrel/auth/authenticator.hpp"
#include "petrel/auth/login_decision.hpp"
#include "petrel/connection/server_endpoint.hpp"
#include "petrel/net/stream.hpp"
#include "petrel/protocol/codec.hpp"
#include "reply_gate.hpp"
#include "session_connection.hpp"
#include "session_handle.hpp"
#include "worker.hpp"

namespace petrel::broker {

// The SessionConnection of a client's session while it is connected.
class ClientConnection final : public SessionConnection {
  public:
    using Clock = std::chrono::steady_clock;

    // `tls`: the socket's TLS session (null on a plain TCP listener). `slot`: its place in
    // the connection count, held as long as this object and handed on with the socket.
    ClientConnection(Worker& worker, int fd, std::string peer, std::string unread,
                     net::TlsSessionPtr tls, ConnectionSlot slot, const ListenerPolicy& listener);
    ~ClientConnection() override;
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    // Runs the second half of CONNECT on the session's home worker.
    void complete_connect(AcceptedConnect accepted);

    // Periodic: keep-alive and connect timeout.
    void tick(Clock::time_point now);

    // Writes publishes / PUBRELs the session's outbound flow produced, after any reply
    // still waiting for a commit.
    void send_outbound(std::vector<session::OutboundPacket> packets) override;
    // The same, once the batch that holds the returned token is committed.
    CommitToken send_after_commit(std::vector<session::OutboundPacket> packets) override;
    // A reply that keeps its place among the others and runs once the batch holding the
    // returned token is committed (or has failed: the reply sees the result).
    CommitToken reply_after_commit(ReplyGate::Reply reply);
    // Encodes and writes `packet` (see ServerEndpoint::send).
    bool send(const protocol::Packet& packet);

    // Ends the connection from the broker's side: a v5 client gets DISCONNECT `reason`
    // (with `why` as its Reason String, when given). The will is published unless the
    // broker is shutting down.
    void disconnect(protocol::DisconnectReason reason, bool publish_will = true,
                    std::string_view why = {});
    void close_for_takeover() override { disconnect(protocol::ReasonCode::SessionTakenOver); }

    // Encoded size of the PUBLISH that would carry `delivery` to a client of `version`.
    static std::size_t publish_size(const session::Delivery& delivery,
                                    protocol::ProtocolVersion version);

    const std::string& client_id() const;
    const std::string& peer() const override { return peer_; }
    protocol::ProtocolVersion version() const { return endpoint_.version(); }
    bool connected() const { return !closed_ && endpoint_.connected(); }
    const SessionHandlePtr& session() const { return session_; }

  private:
    void on_data(std::string& input);
    void on_stream_closed(std::error_code error);
    // Carries out the endpoint's events, in order; what handling one produces goes before
    // the next.
    void handle_events();
    void handle(connection::ServerEvent& event);
    void on_ended(const connection::ConnectionEnded& ended);

    struct PendingHandover {
        unsigned home = 0;
        AcceptedConnect connect;
    };
    // CONNECT (connect_flow.cpp): the server's policy on top of the protocol's rules.
    void handle_connect(protocol::Connect&& connect);
    // Sends an accepted CONNECT on to the session's home worker (or completes it here).
    void route_connect(AcceptedConnect accepted);
    // The login decision for a CONNECT (auth_flow.cpp): who the client is and what it
    // must still prove; a refusal is sent at once. Empty when it was refused.
    std::optional<auth::LoginDecision> decide_login(protocol::Connect& connect);
    // Carries out an Admit, CheckPassword or Authenticate decision (auth_flow.cpp). True
    // when the CONNECT may go on at once; false when a check or an AUTH exchange has begun.
    bool start_authentication(AcceptedConnect& accepted, auth::LoginDecision decision);
    void on_connect_auth_step(auth::AuthStep step);
    void on_credentials_checked(CredentialChecker::Outcome outcome);
    void on_reauth_step(auth::AuthStep step);
    void handle_auth(const connection::AuthReceived& auth);
    void hand_over(PendingHandover handover);
    void refuse_connect(protocol::ConnackReason reason, const char* why);
    // PUBLISH and acknowledgements (message_flow.cpp).
    void handle_publish(protocol::Publish&& publish);
    void handle_acknowledged(connection::DeliveryAcknowledged& acknowledged);
    void handle_release(const connection::ReleaseReceived& release);
    void handle_subscribe(protocol::Subscribe subscribe);
    // Why one filter of a SUBSCRIBE is refused (its SUBACK reason code), if it is.
    std::optional<protocol::SubackReason> subscription_refusal(
        const protocol::Subscription& subscription, bool has_subscription_id,
        const connection::ServerCapabilities& capabilities) const;
    void handle_unsubscribe(protocol::Unsubscribe unsubscribe);
    // PUBACK/PUBREC for an incoming QoS 1/2 PUBLISH once its writes are committed; on a
    // failed commit: v5 gets the reason code, 3.1.1 is closed without acknowledgement.
    void acknowledge_publish(protocol::Qos qos, protocol::PacketId packet_id,
                             const store::CommitResult& result);
    // A QoS 1/2 PUBLISH not accepted (see ServerEndpoint::refuse_publish).
    void refuse_publish(protocol::Qos qos, protocol::PacketId packet_id,
                        protocol::PubackReason reason, const std::string& why);
    // A PUBLISH the ACL forbids: dropped; v5 QoS 1/2 get 0x87, 3.1.1 a normal acknowledgement.
    void refuse_unauthorized_publish(protocol::Qos qos, protocol::PacketId packet_id,
                                     const std::string& topic);
    // A PUBLISH the broker will not take for good (the ACL, a topic too deep): dropped; v5
    // QoS 1/2 get `reason` and `why`. 3.1.1 cannot say no (3.3.5): it gets the normal
    // acknowledgement, since closing would only make the client resend it forever.
    void drop_publish(protocol::Qos qos, protocol::PacketId packet_id,
                      protocol::PubackReason reason, const std::string& why);
    // message_size_limit: true when the PUBLISH's payload is over it and was dropped as
    // drop_publish does (v5 QoS 1/2 get 0x83); mosquitto_options.cpp.
    bool drop_oversized_publish(const protocol::Publish& publish);
    // The log line of a PUBLISH that check_message_acceptance refused (counted where the
    // metrics want it).
    void log_refused_publish(const MessageRefusal& refusal, const protocol::Publish& publish);
    // Runs `reply` in order, after the staged batch's commit when `wait_for_commit` (rule 5
    // in session_recorder.hpp).
    void reply_when_stored(bool wait_for_commit, std::function<void()> reply);
    void write_outbound(const std::vector<session::OutboundPacket>& packets);

    // Common end of the connection: close the socket, detach the session, retire.
    void finish(bool publish_will);
    std::string describe() const;  // "client 'id' (peer)" for logs

    Worker& worker_;
    const ListenerPolicy& listener_;  // the listener the client came in on
    ConnectionSlot slot_;
    std::unique_ptr<net::Stream> stream_;
    std::string peer_;
    // What the protocol decides: phases, framing, the client's limits, topic aliases both
    // ways, the inbound window, keep alive.
    connection::ServerEndpoint endpoint_;
    bool closed_ = false;  // finished, or handed over: the socket is going or gone
    SessionHandlePtr session_;
    Clock::time_point closed_at_;
    std::string encode_buffer_;
    std::optional<PendingHandover> pending_handover_;
    ReplyGate gate_;
    // Enhanced authentication: the exchange in progress (at CONNECT or re-authenticating),
    // who was authenticated, and the CONNECT waiting for the exchange or a password check.
    std::unique_ptr<auth::AuthExchange> auth_exchange_;
    std::string auth_username_;
    std::optional<AcceptedConnect> pending_connect_;
    // handle_events' batches by nesting level.
    std::array<std::vector<connection::ServerEvent>, 4> event_batches_;
    std::size_t event_depth_ = 0;
    // Replies that come back from the store hold a weak reference: a connection that is
    // gone by then has nobody to reply to.
    std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace petrel::broker
