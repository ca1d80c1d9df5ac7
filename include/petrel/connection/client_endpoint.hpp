// The MQTT endpoint in the client role: what a bridge does with a remote broker. CONNECT
// out and CONNACK in, SUBSCRIBE out, PUBLISH and its acknowledgements both ways, keep
// alive with PINGREQ, and resume after a reconnect (PUBLISH again with DUP=1, PUBREL
// again, in order [MQTT-4.4.0-1]).
//
// Built from the pieces both roles share: EndpointCore (framing, the peer's limits, topic
// aliases, keep alive), session::OutboundFlow (the window of QoS 1/2 in flight, bounded by
// the server's Receive Maximum, packet ids, resume) and session::InboundQos2 (exactly once
// in). Pure: no socket, thread or clock. The embedder feeds bytes, time and its decisions
// in, and drains events (bytes to send among them) after every call.
//
// One object lives as long as the client's session does, across network connections:
// start() opens one, connection_lost() or a Closed event ends it, start() again resumes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "petrel/connection/client_events.hpp"
#include "petrel/connection/endpoint_core.hpp"
#include "petrel/connection/inbound_window.hpp"
#include "petrel/session/inbound_qos2.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::connection {

class ClientEndpoint {
  public:
    // `max_inflight`: our own cap on QoS 1/2 in flight; the window is the smaller of it and
    // the server's Receive Maximum.
    explicit ClientEndpoint(std::size_t max_inflight = 0xFFFF);

    // Opens a network connection: sends CONNECT. After a loss, this resumes the session.
    void start(ClientOptions options, TimePoint now);
    void receive(protocol::ByteView bytes, TimePoint now);
    // Keep alive (PINGREQ when nothing was sent for the keep alive; a PINGRESP that does
    // not come within it closes), and the CONNACK timeout.
    void tick(TimePoint now);
    // The transport is gone (or the embedder closed it after Closed). QoS 1/2 in flight and
    // unanswered SUBSCRIBE/UNSUBSCRIBE stay for the next start().
    void connection_lost();
    // Ends the connection from our side (v5: DISCONNECT with `reason`; 0x04 asks the
    // server to publish the will).
    void disconnect(protocol::DisconnectReason reason, TimePoint now);

    // Subscriptions the endpoint keeps for the session: sent now when connected, else at
    // the next CONNACK; all of them again whenever the server has lost the session.
    void subscribe(std::vector<protocol::Subscription> subscriptions, TimePoint now);
    void unsubscribe(std::vector<std::string> filters, TimePoint now);

    // A message for the server. It waits (in order, whatever its QoS) while there is no
    // connection or the window is full. Sent at min(QoS, the server's Maximum QoS) and
    // without RETAIN when the server has no retained messages (see docs/architecture.md).
    void publish(session::Delivery delivery, TimePoint now);

    // The embedder has stored or routed the message of MessageReceived `receipt`: PUBACK or
    // PUBREC now. A failure `reason` refuses it (v5: in the PUBACK/PUBREC; 3.1.1 cannot say
    // no, so the connection is closed and the server sends it again).
    void acknowledge(std::uint64_t receipt, TimePoint now,
                     protocol::PubackReason reason = protocol::ReasonCode::Success);

    // Every input takes the current time: what is written counts for the keep alive.

    // Everything that happened since the last call, in order.
    std::vector<ClientEvent> take_events();

    bool connected() const { return phase_ == Phase::Connected; }
    std::size_t queued_count() const { return pending_.size(); }
    const session::OutboundFlow& outbound() const { return flow_; }
    const session::InboundQos2& inbound_qos2() const { return inbound_qos2_; }

  private:
    enum class Phase : std::uint8_t { Idle, AwaitingConnack, Connected, Closed };

    // A SUBSCRIBE or UNSUBSCRIBE sent, waiting for its SUBACK / UNSUBACK.
    struct Request {
        std::vector<protocol::Subscription> subscriptions;  // SUBSCRIBE
        std::vector<std::string> filters;                   // UNSUBSCRIBE
        bool subscribe = true;
    };
    // An incoming QoS 1/2 PUBLISH the embedder has not acknowledged yet.
    struct Unacknowledged {
        protocol::Qos qos = 1;
        std::uint64_t receipt = 0;
    };

    void dispatch(protocol::Packet&& packet);
    void on_connack(const protocol::Connack& connack);
    void resume_session();
    // Resuming: flights above the server's (new) Maximum QoS wait again as new messages.
    void requeue_above_maximum_qos();
    void restart_session(std::uint16_t receive_maximum);
    void on_publish(protocol::Publish&& publish);
    void on_puback(const protocol::Puback& ack);
    void on_pubrec(const protocol::Pubrec& ack);
    void on_pubrel(const protocol::Pubrel& release);
    void on_pubcomp(const protocol::Pubcomp& ack);
    void on_suback(const protocol::Suback& suback);
    void on_unsuback(const protocol::Unsuback& unsuback);
    void on_disconnect(const protocol::Disconnect& disconnect);

    // Moves waiting publishes into the window while it has room.
    void fill_window();
    // Writes what the flow says is due (PUBLISH, PUBREL).
    void write_flow(std::vector<session::OutboundPacket> packets);
    // After the acknowledgement of `id` was applied: the event, then what is now due.
    void complete(protocol::PacketId id, std::uint64_t seq, protocol::ReasonCode reason,
                  std::vector<session::OutboundPacket> next);
    protocol::Publish make_publish(const session::OutboundPacket& packet) const;
    // The Delivery::seq of the flight with packet id `id` (0 if none).
    std::uint64_t seq_of(protocol::PacketId id) const;
    const session::InflightMessage* find_inflight(protocol::PacketId id) const;
    void send_request(Request request);
    protocol::PacketId allocate_request_id();
    // Whether the id the flow would give the next flight is a request's still unanswered.
    bool next_flight_collides() const;
    // Not a protocol violation: true when `outcome` was one (closed with `what`).
    bool wrong_acknowledgement(session::AckOutcome outcome, const char* what);

    InboundWindow our_window() const;
    bool write(const protocol::Packet& packet);
    // Bytes for the server: joined to the SendBytes event just before, if any.
    void append_output(std::string bytes);
    void emit(ClientEvent event);
    // A protocol violation by the server: v5 gets DISCONNECT with the reason, then closed.
    void fail(const protocol::Error& error);
    void close(Closed closed);

    std::size_t max_inflight_;
    ClientOptions options_;
    Phase phase_ = Phase::Idle;
    EndpointCore core_;
    TimePoint now_{};  // of the call in progress
    TimePoint started_at_{};
    std::optional<TimePoint> ping_sent_at_;  // PINGREQ waiting for its PINGRESP
    ServerCapabilities server_;              // the server's terms, this connection

    session::OutboundFlow flow_;
    std::deque<session::Delivery> pending_;  // not in flight yet, in publish() order
    protocol::PacketId last_flow_id_ = 0;    // the newest packet id the flow gave out

    session::InboundQos2 inbound_qos2_;
    std::unordered_map<protocol::PacketId, Unacknowledged> unacknowledged_;
    // Our Receive Maximum, held against the server (the same count as the server role's).
    InboundWindow inbound_window_;
    std::uint64_t next_receipt_ = 1;

    std::vector<protocol::Subscription> subscriptions_;  // what the session should hold
    std::map<protocol::PacketId, Request> requests_;     // sent, unanswered
    std::vector<Request> unsent_requests_;               // waiting for a connection

    std::vector<ClientEvent> events_;
};

}  // namespace petrel::connection
