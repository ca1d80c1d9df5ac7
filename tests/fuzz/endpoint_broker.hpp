// The server side of fuzz_connection: connection::ServerEndpoint in process, with a
// small embedder (TestBroker) playing the broker's part, so that the fuzz_broker
// script (connection_script.hpp) runs its inputs with no socket, thread or clock.
//
// TestBroker answers what the endpoints tell it as a broker would, within the input:
//   - CONNECT: accepts into a session::Session it keeps by client id (Session Present when
//     one survived, a takeover of the same id's live connection), or refuses: on the
//     restricted profile a user name without the right password; a keep alive
//     negotiate_keep_alive cannot grant a 3.x client; an empty client id without clean
//     start (3.x); an authentication method other than SCRAM-SHA-256 on the restricted
//     profile (the open one has none). SCRAM
//     runs as the broker's ScramAuthenticator with the script's users, at CONNECT and on
//     re-authentication (as the same user only);
//   - PUBLISH: acknowledged (QoS 1/2; a QoS 2 id only once until PUBREL), refused for
//     fz/deny/#, retained when it says so (sent to a new subscription after its SUBACK),
//     routed to every live or stored session with a matching subscription through its
//     OutboundFlow, and written with endpoint.frame() + write_header + payload;
//   - acknowledgements: what the flow sends next; PUBREL: PUBCOMP; SUBSCRIBE: a reason per
//     filter (filter_refusal, granted_qos, fz/deny/# refused, at most 3 subscriptions on the
//     restricted profile); UNSUBSCRIBE: UNSUBACK; the end: the will routed, the session
//     dropped when it expires with the connection.
// Time passes only as the input says (ScriptTarget::before_op): byte / kOpCount seconds
// before each op, every endpoint ticked.
//
// Every byte the endpoint (or the embedder, for deliveries) writes goes through the same
// OutputCheck as fuzz_broker's, and what the client writes through SentStream. On top
// EndpointLink holds the endpoint to what the embedder can see:
//   - receive() consumes whole packets only; what it leaves while not ended is the start
//     of an incomplete packet, and it never stops at a packet that dooms the connection
//     (SentStream::doomed) without ending it;
//   - no event after ConnectionEnded, and exactly one ConnectionEnded when it is closed;
//   - events only in phases that allow them: ConnectReceived first and once; AuthReceived
//     while connecting only during an exchange the embedder began, otherwise connected;
//     PUBLISH, acknowledgement, SUBSCRIBE and UNSUBSCRIBE events only after CONNACK;
//   - phase() agrees with the events: Ended exactly after ConnectionEnded, Connected only
//     after a successful accept();
//   - ConnectionEnded's cause agrees with what the client sent (a DISCONNECT, a first
//     packet other than CONNECT) and with the time (the timers below);
//   - timers: tick() ends a connected client silent for more than 1.5 times its keep alive
//     and one that has no CONNACK after the connect timeout (within a second), and neither
//     sooner.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "petrel/auth/authenticator.hpp"
#include "petrel/connection/server_endpoint.hpp"
#include "petrel/session/session.hpp"
#include "script_link.hpp"
#include "stream_check.hpp"

namespace petrel::fuzz {

class TestBroker;

class EndpointLink final : public ScriptLink {
  public:
    EndpointLink(TestBroker& broker, connection::ServerSettings settings,
                 connection::TimePoint now);
    ~EndpointLink() override;
    EndpointLink(const EndpointLink&) = delete;
    EndpointLink& operator=(const EndpointLink&) = delete;

    bool send_raw(std::string_view bytes) override;
    bool send(const protocol::Packet& packet) override;
    void poll() override {}  // everything is answered within send_raw()
    void wait(const std::function<bool()>& done, const char* what) override;
    void sync() override;
    void half_close() override { close_transport(); }
    void drain(const char* what) override;
    void reset() override { close_transport(); }

    bool answerable() const override {
        return can_write() && sent_.connect_complete() && !sent_.mid_packet() && !sent_.doomed();
    }
    bool closed() const override { return ended_; }
    bool can_write() const override { return !ended_ && !write_closed_; }
    std::deque<protocol::Packet>& received() override { return received_; }
    const SentStream& sent() const override { return sent_; }
    protocol::ProtocolVersion version() const override { return sent_.terms().version; }

    // --- for TestBroker ---
    connection::ServerEndpoint& endpoint() { return endpoint_; }
    // Hands the endpoint's events to the checks and the broker, in order, until it has no
    // more (calls the broker makes meanwhile add to them).
    void flush();
    // Bytes the embedder writes itself (deliveries).
    void write(std::string_view bytes);
    // Writes what the session's outbound flow says is due.
    void write_packets(std::vector<session::OutboundPacket> packets);
    // CONNACK accepted this connection for `session`.
    void attached(session::Session& session) {
        session_ = &session;
        accepted_ = true;
    }
    session::Session* session() const { return session_; }
    bool ended() const { return ended_; }
    // After tick(): a connection the endpoint should have ended by now has ended.
    void check_timers() const;

    // What the broker keeps of the connection between events.
    protocol::Connect connect;  // from ConnectReceived, for accept()
    std::unique_ptr<auth::AuthExchange> exchange;
    std::string auth_method;  // the method CONNECT chose, when it was accepted
    std::string username;     // who SCRAM authenticated
    bool exchange_begun = false;

  private:
    // The client's bytes, handed to the endpoint and answered.
    bool take(std::string_view bytes);
    void pump();
    void handle(connection::ServerEvent& event);
    void check_phase_for(const connection::ServerEvent& event) const;
    void close_transport();
    void check_end_cause(const connection::ConnectionEnded& ended) const;

    TestBroker& broker_;
    connection::ServerEndpoint endpoint_;
    SentStream sent_;
    OutputCheck output_;
    std::deque<protocol::Packet> received_;
    std::string inbox_;  // written by the client, not yet consumed by the endpoint
    std::deque<connection::ServerEvent> pending_;
    std::vector<connection::ServerEvent> taken_;
    const connection::TimePoint opened_at_;
    connection::TimePoint last_received_;  // the latest bytes handed to receive()
    std::size_t output_bytes_ = 0;
    bool connect_seen_ = false;
    bool accepted_ = false;  // a successful CONNACK went out
    bool ended_ = false;     // ConnectionEnded was handled
    bool write_closed_ = false;
    session::Session* session_ = nullptr;
};

// The broker's part, for one input.
class TestBroker final : public ScriptTarget {
  public:
    TestBroker();
    ~TestBroker() override;

    std::unique_ptr<ScriptLink> connect(bool restricted) override;
    void before_op(std::uint8_t opcode_byte) override;

    // --- the events of a link ---
    void on_connect(EndpointLink& link);
    void on_auth(EndpointLink& link, const connection::AuthReceived& auth);
    void on_publish(EndpointLink& link, protocol::Publish& publish);
    void on_subscribe(EndpointLink& link, const protocol::Subscribe& subscribe);
    void on_unsubscribe(EndpointLink& link, const protocol::Unsubscribe& unsubscribe);
    // The connection is over; `publish_will`: its will is due.
    void on_ended(EndpointLink& link, bool publish_will);
    void forget(EndpointLink& link);
    connection::TimePoint now() const { return now_; }
    std::int64_t now_ms() const;

    struct Profile;

  private:
    void accept(EndpointLink& link, connection::ConnectAccepted terms);
    // Routes `message` to every session with a matching subscription.
    void route(const session::MessagePtr& message);
    // Keeps (or, empty, clears) the retained message of its topic.
    void retain(const session::MessagePtr& message);
    EndpointLink* live_link_of(const session::Session& session);

    const Profile* profile_ = nullptr;  // chosen by the first connect()
    connection::TimePoint now_;
    std::vector<EndpointLink*> links_;
    std::map<std::string, std::unique_ptr<session::Session>, std::less<>> sessions_;
    // Sessions that ended, kept until the input is over: an ended endpoint still points
    // at its session.
    std::vector<std::unique_ptr<session::Session>> graveyard_;
    std::map<std::string, session::MessagePtr, std::less<>> retained_;  // by topic
    unsigned assigned_ids_ = 0;
};

}  // namespace petrel::fuzz
