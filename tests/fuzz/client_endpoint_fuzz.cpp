// The client role of the MQTT endpoint (connection::ClientEndpoint) driven in process by a
// script of operations: start and resume, what a server sends (packets encoded from fuzzed
// fields, or raw bytes, split at fuzzed points), time passing, publishes, subscriptions,
// acknowledgements, disconnects and lost connections. No socket, thread or clock.
//
// After every operation the events are drained and the harness checks what must hold:
//   - every byte written decodes, frame by frame in the connection's version, into packets
//     a client may send; only CONNECT (and DISCONNECT) before Connected, nothing after
//     Closed until the next start;
//   - after Connected, no packet over the server's Maximum Packet Size, no topic alias
//     over its Topic Alias Maximum, never more QoS 1/2 PUBLISHes sent on the connection
//     and not completed than its Receive Maximum [MQTT-3.3.4-9], no packet id reused
//     while in flight [MQTT-2.2.1-3];
//   - every publish() handed in ends at most once (one PublishCompleted), and what has
//     not ended is still held by the endpoint (queued or in flight).
//
// The input, byte by byte (a missing byte reads 0): an operation byte, modulo 14, then its
// arguments (`split`: where the server's bytes are cut in two receive() calls).
//   0      start        flags (1 v5, 2 clean start, 4 our Maximum Packet Size), keep alive,
//                       our Receive Maximum % 8, [Maximum Packet Size 64 + 4n], Topic
//                       Alias Maximum % 4
//   1      CONNACK      flags (1 session present, 2 reason follows, then one bit per
//                       property: 4 Receive Maximum, 8 Maximum Packet Size, 16 Topic Alias
//                       Maximum, 32 Maximum QoS, 64 Retain Available, 128 Server Keep
//                       Alive), [reason], [property bytes in that order], split
//   2, 3   PUBLISH in   flags (% 3 QoS, 4 DUP, 8 RETAIN, 16 empty topic, 32 alias),
//                       [topic], [id % 8], [alias % 5], payload size % 64, split
//   4, 5   PUBACK/PUBREC/PUBREL/PUBCOMP  kind % 4, id (< 0x80: one we have in flight),
//                       reason (< 0x80: success), split
//   6      SUBACK/UNSUBACK/PINGRESP/DISCONNECT  kind % 4, id or reason, count % 3 + 1,
//                       [count reasons], split
//   7      raw bytes    length % 64, split, the bytes
//   8      tick         >= 0x80: (n & 0x7F) * 10 ms, else n seconds
//   9, 10  publish      flags (% 3 QoS, 4 RETAIN, 8 payload x4, 16 a Topic Alias property
//                       to be left out), payload size
//   11     (un)subscribe  flags (1 unsubscribe, 2 "f/#", bits 2-3 QoS)
//   12     acknowledge  a receipt we were given (>= 0x80: refused)
//   13     end          % 3: disconnect(), connection_lost(), connection_lost() + resume
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fuzz/finding.hpp"
#include "petrel/connection/client_endpoint.hpp"
#include "petrel/protocol/codec.hpp"

namespace {

using namespace std::chrono_literals;
using petrel::fuzz::finding;
namespace connection = petrel::connection;
namespace protocol = petrel::protocol;
using protocol::PacketId;
using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

class Script {
  public:
    Script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool done() const { return pos_ >= size_; }
    std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
    std::uint16_t u16() { return static_cast<std::uint16_t>(byte() << 8 | byte()); }
    bool flag() { return (byte() & 1) != 0; }
    std::string bytes(std::size_t count) {
        std::string out;
        while (out.size() < count && !done()) {
            out.push_back(static_cast<char>(byte()));
        }
        return out;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

template <class R>
R reason_from(std::uint8_t byte) {
    // Mostly success; otherwise whatever code the byte names, if the packet allows it.
    return byte < 0x80 ? R{} : R::from_byte(byte).value_or(R{});
}

// A publish handed to the endpoint: the topic carries its seq, so the wire says which it is.
struct Handed {
    protocol::Qos qos = 0;
};

class Harness {
  public:
    void start(Script& in) {
        const std::uint8_t flags = in.byte();
        connection::ClientOptions options;
        options.version = (flags & 1) != 0 ? ProtocolVersion::V5 : ProtocolVersion::V311;
        options.client_id = "fuzz";
        options.clean_start = (flags & 2) != 0;
        options.keep_alive = in.byte();
        options.receive_maximum = static_cast<std::uint16_t>(in.byte() % 8);  // 0: invalid
        options.maximum_packet_size = (flags & 4) != 0 ? 64u + in.byte() * 4u : 0u;
        options.topic_alias_maximum = static_cast<std::uint16_t>(in.byte() % 4);
        begin(std::move(options));
    }

    // connection_lost() and start() again with the same options, keeping the session.
    void resume() {
        lose_connection();
        drain();
        options_.clean_start = false;
        begin(options_);
    }

    void receive_connack(Script& in) {
        const std::uint8_t flags = in.byte();
        protocol::Connack connack;
        connack.session_present = (flags & 1) != 0;
        connack.reason = (flags & 2) != 0 ? reason_from<protocol::ConnackReason>(in.byte())
                                          : protocol::ConnackReason{};
        protocol::Properties& p = connack.properties;
        if ((flags & 4) != 0) {
            p.add_number(PropertyId::ReceiveMaximum, in.byte() % 6);  // 0 is a violation
        }
        if ((flags & 8) != 0) {
            p.add_number(PropertyId::MaximumPacketSize, in.byte() * 2u);
        }
        if ((flags & 16) != 0) {
            p.add_number(PropertyId::TopicAliasMaximum, in.byte() % 4);
        }
        if ((flags & 32) != 0) {
            p.add_number(PropertyId::MaximumQos, in.byte() % 3);
        }
        if ((flags & 64) != 0) {
            p.add_number(PropertyId::RetainAvailable, in.byte() % 3);
        }
        if ((flags & 128) != 0) {
            p.add_number(PropertyId::ServerKeepAlive, in.byte());
        }
        send_server(connack, in);
    }

    void receive_publish(Script& in) {
        const std::uint8_t flags = in.byte();
        protocol::Publish publish;
        publish.qos = static_cast<protocol::Qos>(flags % 3);
        publish.dup = (flags & 4) != 0;
        publish.retain = (flags & 8) != 0;
        publish.topic = (flags & 16) != 0 ? "" : "s/" + std::to_string(in.byte() % 4);
        publish.packet_id = publish.qos > 0 ? static_cast<PacketId>(in.byte() % 8) : 0;
        if ((flags & 32) != 0) {
            publish.properties.add_number(PropertyId::TopicAlias, in.byte() % 5);
        }
        publish.payload = protocol::make_payload(std::string(in.byte() % 64, 'p'));
        send_server(publish, in);
    }

    // PUBACK, PUBREC, PUBREL or PUBCOMP; mostly for an id we have in flight.
    void receive_acknowledgement(Script& in) {
        const std::uint8_t kind = in.byte();
        const PacketId id = pick_id(in.byte());
        const std::uint8_t reason = in.byte();
        switch (kind % 4) {
            case 0:
                send_server(protocol::Puback{id, reason_from<protocol::PubackReason>(reason), {}},
                            in);
                break;
            case 1:
                send_server(protocol::Pubrec{id, reason_from<protocol::PubrecReason>(reason), {}},
                            in);
                break;
            case 2:
                send_server(protocol::Pubrel{id, reason_from<protocol::PubrelReason>(reason), {}},
                            in);
                break;
            default:
                send_server(protocol::Pubcomp{id, reason_from<protocol::PubcompReason>(reason), {}},
                            in);
                break;
        }
    }

    // SUBACK, UNSUBACK (for a request we sent, or not), PINGRESP or DISCONNECT.
    void receive_other(Script& in) {
        const std::uint8_t kind = in.byte();
        const std::uint8_t arg = in.byte();
        const PacketId id = requests_.empty() || (arg & 0x80) != 0
                                ? static_cast<PacketId>(arg % 8)
                                : *std::next(requests_.begin(), arg % requests_.size());
        const std::size_t count = 1 + in.byte() % 3;
        switch (kind % 4) {
            case 0: {
                protocol::Suback suback{id, {}, {}};
                for (std::size_t i = 0; i < count; ++i) {
                    suback.reasons.push_back(reason_from<protocol::SubackReason>(in.byte()));
                }
                send_server(suback, in);
                break;
            }
            case 1: {
                protocol::Unsuback unsuback{id, {}, {}};
                for (std::size_t i = 0; i < count; ++i) {
                    unsuback.reasons.push_back(reason_from<protocol::UnsubackReason>(in.byte()));
                }
                send_server(unsuback, in);
                break;
            }
            case 2:
                send_server(protocol::Pingresp{}, in);
                break;
            default:
                send_server(protocol::Disconnect{reason_from<protocol::DisconnectReason>(arg), {}},
                            in);
                break;
        }
    }

    void receive_raw(Script& in) {
        const std::size_t length = in.byte() % 64;
        const std::uint8_t split = in.byte();
        feed(in.bytes(length), split);
    }

    void tick(Script& in) {
        const std::uint8_t step = in.byte();
        now_ += (step & 0x80) != 0 ? std::chrono::milliseconds((step & 0x7F) * 10)
                                   : std::chrono::milliseconds(std::chrono::seconds(step));
        endpoint_.tick(now_);
    }

    void publish(Script& in) {
        const std::uint8_t flags = in.byte();
        auto message = std::make_shared<petrel::session::Message>();
        const std::uint64_t seq = next_seq_++;
        message->topic = "p/" + std::to_string(seq);
        message->qos = static_cast<protocol::Qos>(flags % 3);
        message->retain = (flags & 4) != 0;
        message->payload =
            protocol::make_payload(std::string(in.byte() * ((flags & 8) ? 4 : 1), 'x'));
        if ((flags & 16) != 0) {
            // Connection-bound: the endpoint must leave it out.
            message->properties.add_number(PropertyId::TopicAlias, 1);
        }
        petrel::session::Delivery delivery;
        delivery.message = message;
        delivery.qos = message->qos;
        delivery.retain = message->retain;
        delivery.seq = seq;
        handed_[seq] = Handed{message->qos};
        endpoint_.publish(std::move(delivery), now_);
    }

    void subscribe(Script& in) {
        const std::uint8_t flags = in.byte();
        if ((flags & 1) != 0) {
            endpoint_.unsubscribe({"f/" + std::to_string(flags % 5)}, now_);
            return;
        }
        protocol::Subscription subscription;
        subscription.filter = (flags & 2) != 0 ? "f/#" : "f/" + std::to_string(flags % 5);
        subscription.options.qos = static_cast<protocol::Qos>((flags >> 2) % 3);
        endpoint_.subscribe({subscription}, now_);
    }

    void acknowledge(Script& in) {
        const std::uint8_t choice = in.byte();
        const std::uint64_t receipt =
            receipts_.empty() ? choice : receipts_[choice % receipts_.size()];
        endpoint_.acknowledge(receipt, now_,
                              (choice & 0x80) != 0
                                  ? protocol::PubackReason(ReasonCode::QuotaExceeded)
                                  : protocol::PubackReason{});
    }

    void disconnect() { endpoint_.disconnect(protocol::DisconnectReason{}, now_); }

    void lose_connection() {
        endpoint_.connection_lost();
        connection_ = Connection::None;
    }

    // Takes the events of the last operation and checks every one of them.
    void drain() {
        for (connection::ClientEvent& event : endpoint_.take_events()) {
            if (const auto* bytes = std::get_if<connection::SendBytes>(&event)) {
                check_sent(bytes->bytes);
            } else if (const auto* connected = std::get_if<connection::Connected>(&event)) {
                on_connected(*connected);
            } else if (const auto* completed = std::get_if<connection::PublishCompleted>(&event)) {
                on_completed(*completed);
            } else if (const auto* received = std::get_if<connection::MessageReceived>(&event)) {
                if (received->receipt != 0) {
                    receipts_.push_back(received->receipt);
                }
            } else if (std::holds_alternative<connection::Closed>(event) ||
                       std::holds_alternative<connection::ConnectRefused>(event)) {
                connection_ = Connection::Closed;
            }
        }
        check_held();
    }

  private:
    enum class Connection : std::uint8_t { None, AwaitingConnack, Connected, Closed };

    void begin(connection::ClientOptions options) {
        options_ = options;
        connection_ = Connection::AwaitingConnack;
        on_connection_.clear();  // the server's quota starts afresh on each connection (4.9)
        connect_sent_ = false;
        endpoint_.start(std::move(options), now_);
    }

    void send_server(const protocol::Packet& packet, Script& in) {
        std::string bytes;
        protocol::encode(packet, options_.version, bytes);
        feed(bytes, in.byte());
    }

    // Two calls, split where `split` says: the endpoint must put the packet together.
    void feed(const std::string& bytes, std::uint8_t split) {
        const std::size_t at = bytes.empty() ? 0 : split % (bytes.size() + 1);
        const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
        endpoint_.receive(protocol::ByteView(data, at), now_);
        endpoint_.receive(protocol::ByteView(data + at, bytes.size() - at), now_);
    }

    PacketId pick_id(std::uint8_t choice) const {
        if (in_flight_.empty() || (choice & 0x80) != 0) {
            return static_cast<PacketId>(choice % 8);
        }
        return std::next(in_flight_.begin(), choice % in_flight_.size())->first;
    }

    void on_connected(const connection::Connected& connected) {
        if (connection_ != Connection::AwaitingConnack) {
            finding("Connected without a CONNECT waiting for its CONNACK");
        }
        connection_ = Connection::Connected;
        server_ = connected.server;
        if (!connected.session_present) {
            // A new session on the server: no id of ours is in use there any more.
            in_flight_.clear();
            id_of_.clear();
        }
    }

    void on_completed(const connection::PublishCompleted& completed) {
        const auto handed = handed_.find(completed.seq);
        if (handed == handed_.end()) {
            finding("PublishCompleted twice, or for a seq never published");
        }
        handed_.erase(handed);
        id_of_.erase(completed.seq);
        if (completed.packet_id != 0) {
            in_flight_.erase(completed.packet_id);
            on_connection_.erase(completed.packet_id);
        }
    }

    void check_sent(const std::string& bytes) {
        if (connection_ == Connection::Closed || connection_ == Connection::None) {
            finding("bytes written after Closed or without a connection", bytes);
        }
        protocol::ByteView rest(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        while (!rest.empty()) {
            const protocol::FrameResult framed = protocol::frame(rest);
            if (framed.status != protocol::FrameStatus::Complete) {
                finding("a partial or malformed frame written", bytes);
            }
            const protocol::ByteView whole = rest.first(framed.frame.total_length());
            auto decoded = protocol::decode(whole, options_.version);
            if (!decoded) {
                finding("written bytes do not decode", bytes);
            }
            check_packet(decoded.value(), whole.size(), bytes);
            rest = rest.subspan(whole.size());
        }
    }

    void check_packet(const protocol::Packet& packet, std::size_t size, const std::string& bytes) {
        const protocol::PacketType type = protocol::packet_type(packet);
        switch (type) {
            case protocol::PacketType::Connack:
            case protocol::PacketType::Suback:
            case protocol::PacketType::Unsuback:
            case protocol::PacketType::Pingresp:
            case protocol::PacketType::Auth:  // never: we send no Authentication Method
                finding("a packet only a server sends", bytes);
            default:
                break;
        }
        if (type == protocol::PacketType::Connect) {
            if (connection_ != Connection::AwaitingConnack || connect_sent_) {
                finding("CONNECT other than first on a connection", bytes);
            }
            connect_sent_ = true;
            return;
        }
        if (connection_ != Connection::Connected && type != protocol::PacketType::Disconnect) {
            finding("a packet other than CONNECT or DISCONNECT before Connected", bytes);
        }
        if (connection_ != Connection::Connected) {
            return;
        }
        if (server_.maximum_packet_size != 0 && size > server_.maximum_packet_size) {
            finding("a packet over the server's Maximum Packet Size", bytes);
        }
        if (const auto* publish = std::get_if<protocol::Publish>(&packet)) {
            check_publish(*publish, bytes);
        } else if (const auto* subscribe = std::get_if<protocol::Subscribe>(&packet)) {
            requests_.insert(subscribe->packet_id);
        } else if (const auto* unsubscribe = std::get_if<protocol::Unsubscribe>(&packet)) {
            requests_.insert(unsubscribe->packet_id);
        }
    }

    void check_publish(const protocol::Publish& publish, const std::string& bytes) {
        const auto alias = publish.properties.number(PropertyId::TopicAlias);
        if (alias && (*alias == 0 || *alias > server_.topic_alias_maximum)) {
            finding("a topic alias over the server's Topic Alias Maximum", bytes);
        }
        if (publish.topic.rfind("p/", 0) != 0) {
            finding("a PUBLISH of a topic never published", bytes);
        }
        const std::uint64_t seq = std::stoull(publish.topic.substr(2));
        const auto handed = handed_.find(seq);
        if (handed == handed_.end()) {
            finding("a PUBLISH of a message already completed", bytes);
        }
        if (publish.qos > handed->second.qos || publish.qos > server_.maximum_qos) {
            finding("a PUBLISH above its QoS or the server's Maximum QoS", bytes);
        }
        if (publish.qos == 0) {
            if (handed->second.qos == 0) {
                handed_.erase(handed);  // written: a QoS 0 message is done
            }
            return;
        }
        if (const auto before = id_of_.find(seq);
            before != id_of_.end() && before->second != publish.packet_id) {
            // Sent again as a new message (a restarted session, a lower Maximum QoS): its
            // old id is free.
            in_flight_.erase(before->second);
            on_connection_.erase(before->second);
        }
        id_of_[seq] = publish.packet_id;
        const auto [flight, inserted] = in_flight_.emplace(publish.packet_id, seq);
        if (!inserted && (flight->second != seq || !publish.dup)) {
            finding("a packet id reused while in flight", bytes);
        }
        on_connection_.insert(publish.packet_id);
        if (on_connection_.size() > server_.receive_maximum) {
            finding("more QoS 1/2 PUBLISHes in flight than the server's Receive Maximum", bytes);
        }
    }

    // Every publish not completed is still queued or in flight in the endpoint.
    void check_held() const {
        if (handed_.size() != endpoint_.queued_count() + endpoint_.outbound().inflight_count()) {
            finding("a published message lost, or held and completed");
        }
    }

    connection::ClientEndpoint endpoint_;
    connection::ClientOptions options_;
    connection::TimePoint now_ = connection::TimePoint{} + 1000s;
    Connection connection_ = Connection::None;
    bool connect_sent_ = false;
    connection::ServerCapabilities server_;

    std::uint64_t next_seq_ = 1;
    std::map<std::uint64_t, Handed> handed_;       // by seq: published, not completed
    std::map<PacketId, std::uint64_t> in_flight_;  // sent QoS 1/2 PUBLISHes, to their seq
    std::map<std::uint64_t, PacketId> id_of_;      // the other way
    std::set<PacketId> on_connection_;             // of those, sent on this connection
    std::vector<std::uint64_t> receipts_;
    std::set<PacketId> requests_;  // ids of SUBSCRIBE/UNSUBSCRIBE sent, for SUBACK/UNSUBACK
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Script in(data, size);
    Harness h;
    while (!in.done()) {
        switch (in.byte() % 14) {
            case 0:
                h.start(in);
                break;
            case 1:
                h.receive_connack(in);
                break;
            case 2:
            case 3:
                h.receive_publish(in);
                break;
            case 4:
            case 5:
                h.receive_acknowledgement(in);
                break;
            case 6:
                h.receive_other(in);
                break;
            case 7:
                h.receive_raw(in);
                break;
            case 8:
                h.tick(in);
                break;
            case 9:
            case 10:
                h.publish(in);
                break;
            case 11:
                h.subscribe(in);
                break;
            case 12:
                h.acknowledge(in);
                break;
            default:
                switch (in.byte() % 3) {
                    case 0:
                        h.disconnect();
                        break;
                    case 1:
                        h.lose_connection();
                        break;
                    default:
                        h.resume();
                        break;
                }
                break;
        }
        h.drain();
    }
    return 0;
}
