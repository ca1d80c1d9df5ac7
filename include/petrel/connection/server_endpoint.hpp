// The MQTT endpoint in the server role: what the broker does with one client's network
// connection, as far as the protocol decides it. Framing and the first-packet rules, the
// phases (CONNECT, an AUTH exchange, connected, ended), the CONNACK and its properties,
// the rules a PUBLISH must keep (topic aliases, Subscription Identifier, form under the
// server's capabilities, Receive Maximum, the PUBLISH rate), the acknowledgements of the
// session's deliveries against its outbound flow, PUBREL against its incoming QoS 2
// state, SUBSCRIBE's form, DISCONNECT and its rules, keep alive and the connect timeout,
// and what a violation, a refusal or a packet over the client's Maximum Packet Size ends
// the connection with.
//
// What the protocol leaves to the server's policy (who may log in, which client id, the
// ACL, where a message goes and when it is stored) is the embedder's: it is told through
// events and answers through the calls below. Built from the pieces the client role
// shares (EndpointCore, InboundWindow, session::OutboundFlow, session::InboundQos2).
// Pure: no socket, thread or clock. Bytes and time come in as arguments; the embedder
// drains events (bytes to send among them) after every call.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "petrel/connection/endpoint_core.hpp"
#include "petrel/connection/inbound_window.hpp"
#include "petrel/connection/publish_encoder.hpp"
#include "petrel/connection/server_events.hpp"
#include "petrel/connection/token_bucket.hpp"
#include "petrel/session/session.hpp"

namespace petrel::connection {

class ServerEndpoint {
  public:
    enum class Phase : std::uint8_t {
        AwaitingConnect,  // nothing read yet
        Connecting,       // ConnectReceived is with the embedder: nothing more is read
        Authenticating,   // an AUTH exchange at CONNECT: only AUTH is read
        Connected,
        Ended,
    };

    // A new network connection, opened at `now` (the connect timeout counts from it).
    ServerEndpoint(const ServerSettings& settings, TimePoint now);

    // Reads packets from the start of `bytes` (what the embedder buffers) and reacts to
    // them. Stops after the first packet that produced an event the embedder must act on
    // before the next is read (any but SendBytes, DeliveryAcknowledged and
    // AcknowledgementIgnored), at an incomplete packet, and once the connection has ended. Returns
    // how many bytes it consumed; the embedder drops them and calls again with the rest.
    std::size_t receive(protocol::ByteView bytes, TimePoint now);
    // The connect timeout and keep alive.
    void tick(TimePoint now);

    // --- CONNECT, answered by the embedder ---
    // The state a ConnectReceived for `connect` leaves: for the endpoint of the worker that
    // took the connection over from the one that read its CONNECT.
    void adopt_connect(const protocol::Connect& connect, TimePoint now);
    // CONNACK with `reason` (v5: `why` as its Reason String, and `server_reference` as
    // Server Reference when given), then the end.
    void refuse(protocol::ConnackReason reason, std::string why,
                std::string_view server_reference = {});
    // The CONNECT chose enhanced authentication `method`: AUTH packets are read until the
    // embedder accepts or refuses.
    void begin_authentication(std::string method);
    // AUTH 0x18 with `data`: the exchange (at CONNECT or re-authenticating) goes on.
    void continue_authentication(std::string_view data);
    // The exchange at CONNECT succeeded: accept() (or refuse()) comes next.
    void authenticated();
    // Re-authentication succeeded: AUTH 0x00 with `data`.
    void reauthenticated(std::string_view data);
    // The CONNECT is accepted for `session`, which takes its terms (version, session
    // expiry, will, the client's Receive Maximum): CONNACK goes out and the connection is
    // connected. False when not even the smallest CONNACK fits the client's Maximum Packet
    // Size (ConnectionEnded follows).
    bool accept(session::Session& session, protocol::Connect& connect, const ConnectAccepted& terms,
                TimePoint now);

    // --- PUBLISH from the client, answered by the embedder ---
    // The QoS 1/2 PUBLISH `packet_id` is taken: PUBACK or PUBREC.
    void acknowledge_publish(protocol::Qos qos, protocol::PacketId packet_id);
    // It is not: v5 gets PUBACK/PUBREC with `reason` (and `why`, when the client allows
    // Reason Strings); 3.1.1 cannot say no, so the connection ends unacknowledged and the
    // client sends it again.
    void refuse_publish(protocol::Qos qos, protocol::PacketId packet_id,
                        protocol::PubackReason reason, std::string_view why);
    // PUBCOMP for ReleaseReceived `packet_id` (0x92 when it was not known).
    void complete_release(protocol::PacketId packet_id, bool known);
    // SUBACK for a SubscribeReceived; a v5 one with a failure says so in a Reason String.
    void answer_subscribe(protocol::Suback suback);

    // Encodes `packet` for the client. False when it was not sent: the connection has
    // ended, or the packet is over the client's Maximum Packet Size even without problem
    // information, which ends the connection now [MQTT-3.1.2-24].
    bool send(const protocol::Packet& packet);
    // Ends the connection from the server's side: a v5 client gets DISCONNECT `reason`
    // (with `why` as its Reason String, when given).
    void disconnect(protocol::DisconnectReason reason, bool publish_will = true,
                    std::string_view why = {});
    // The socket is gone (closed by the client or failed) without a DISCONNECT: the will is
    // due. Emits nothing; the embedder knows.
    void transport_closed() { phase_ = Phase::Ended; }

    // A delivery's PUBLISH for this client: `topic` as it sees it; a Topic Alias may stand
    // for it. The embedder writes the header, then the shared payload.
    PublishFrame frame(const session::OutboundPacket& packet, std::string_view topic,
                       std::int64_t now_ms) {
        return frame_delivery(packet, core_.version(), topic, &core_.outbound_aliases(), now_ms);
    }

    // Everything that happened since the last call, in order (`into` is cleared first).
    void take_events(std::vector<ServerEvent>& into);
    bool has_events() const { return !events_.empty(); }

    Phase phase() const { return phase_; }
    bool connected() const { return phase_ == Phase::Connected; }
    bool ended() const { return phase_ == Phase::Ended; }
    protocol::ProtocolVersion version() const { return core_.version(); }
    const PeerLimits& peer() const { return core_.peer(); }
    const KeepAlive& keep_alive() const { return core_.keep_alive(); }
    bool outbound_aliases_enabled() { return core_.outbound_aliases().enabled(); }
    const ServerSettings& settings() const { return settings_; }
    // The enhanced authentication method of the connection (empty: none).
    const std::string& authentication_method() const { return auth_method_; }

  private:
    // Opens the core in the CONNECT's version; until CONNACK only the client's Maximum
    // Packet Size is known of its terms (a refusal must fit it too).
    void open_for(const protocol::Connect& connect, TimePoint now);
    void dispatch(protocol::Packet&& packet);
    void on_connect(protocol::Connect&& connect);
    void on_auth(const protocol::Auth& auth);
    void on_publish(protocol::Publish&& publish);
    // The protocol's checks of a client's PUBLISH that end the connection; true when it
    // may go on.
    bool publish_allowed(protocol::Publish& publish);
    void on_puback(const protocol::Puback& ack);
    void on_pubrec(const protocol::Pubrec& ack);
    void on_pubrel(const protocol::Pubrel& release);
    void on_pubcomp(const protocol::Pubcomp& ack);
    void on_subscribe(protocol::Subscribe&& subscribe);
    void on_disconnect(const protocol::Disconnect& disconnect);
    // An acknowledgement of the wrong kind for its packet id is a Protocol Error; true when
    // `outcome` was one (the connection then ends; `what` says which).
    bool wrong_acknowledgement(session::AckOutcome outcome, const char* what);
    void acknowledged(protocol::PacketId id, bool completed,
                      std::optional<std::vector<session::OutboundPacket>>&& next,
                      session::AckOutcome outcome, protocol::PacketType type, const char* wrong);
    void send_auth(protocol::AuthReason reason, std::string_view data);
    void close_over_client_limit(protocol::PacketType type, std::size_t size);
    // A protocol violation by the client: a v5 client is told why (a CONNACK while
    // authenticating, DISCONNECT once connected), then the end.
    void fail(const protocol::Error& error);
    void end(ConnectionEnded ended);
    // An event for the embedder. receive() stops after the packet that produced it, unless
    // nothing the endpoint reads next depends on the embedder's answer: an acknowledgement
    // of a delivery carries all it changed, so a burst of them is read in one call.
    template <class Event, class... Args>
    void emit(Args&&... args) {
        // Braces, not parentheses: clang 14 (the fuzz build) cannot build aggregates from
        // parentheses.
        events_.emplace_back(std::in_place_type<Event>, Event{std::forward<Args>(args)...});
        if constexpr (!std::is_same_v<Event, DeliveryAcknowledged> &&
                      !std::is_same_v<Event, AcknowledgementIgnored>) {
            for_embedder_ = true;
        }
    }

    ServerSettings settings_;
    Phase phase_ = Phase::AwaitingConnect;
    EndpointCore core_;
    TimePoint opened_at_;
    TimePoint now_{};                      // of the receive() in progress
    session::Session* session_ = nullptr;  // the embedder's, from accept() on
    // Our Receive Maximum held against the client (v5; set at CONNACK).
    InboundWindow inbound_window_;
    std::optional<TokenBucket> publish_rate_;  // set at CONNACK when there is a limit
    // Enhanced authentication: the method the CONNECT chose (empty: none), and whether an
    // exchange is in progress.
    std::string auth_method_;
    bool exchange_open_ = false;
    std::string encode_buffer_;
    std::vector<ServerEvent> events_;
    bool for_embedder_ = false;  // since receive() read its last packet
};

}  // namespace petrel::connection
