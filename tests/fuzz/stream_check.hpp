// Both directions of one fuzzed connection, framed and decoded as the broker frames and
// decodes them, with no I/O (the socket side is broker_link.hpp).
//
// SentStream follows what the client wrote, so that the harness knows what the broker
// must do with it: whether it is waiting for the rest of a packet (then no answer can
// come), whether it must close the connection, and how many PINGREQs it must answer.
// OutputCheck takes what the broker wrote and holds it to what a server owes a client:
// every byte frames and decodes with our decoder under the connection's protocol version,
// and the rules below hold. A violation is a finding (abort).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "petrel/protocol/codec.hpp"
#include "petrel/protocol/packet.hpp"

namespace petrel::fuzz {

// One line for a packet, for traces: "PUBLISH(topic=fz/t qos=1 id=3 dup=0 retain=0 5 bytes)".
std::string describe(const protocol::Packet& packet);

// What a client's CONNECT told the broker, on which the checks of its output depend.
struct ClientTerms {
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;
    bool connect_decoded = false;  // false: the broker must not accept it
    bool clean_start = true;
    bool empty_client_id = false;
    std::uint32_t maximum_packet_size = 0;  // 0: none
    std::uint16_t topic_alias_maximum = 0;
    std::uint16_t receive_maximum = 65535;
    bool problem_information = true;
    bool response_information = false;
    bool authentication_method = false;
};

class SentStream {
  public:
    explicit SentStream(std::uint32_t broker_maximum_packet_size)
        : broker_maximum_packet_size_(broker_maximum_packet_size) {}

    // Bytes about to be written to the broker, in order.
    void add(std::string_view bytes);

    // The first packet is complete, so terms() is final.
    bool connect_complete() const { return connect_complete_; }
    const ClientTerms& terms() const { return terms_; }
    // The broker must close the connection because of bytes already sent: a fixed header it
    // cannot frame, a packet over its maximum size, a first packet that is not a CONNECT, a
    // packet that does not decode. It reads nothing after them.
    bool doomed() const { return doomed_; }
    // The stream stops inside a packet: the broker waits for its rest before it can answer
    // anything sent since.
    bool mid_packet() const { return !doomed_ && !partial_.empty(); }
    // PINGREQs the broker reads (it answers each unless it closes the connection first).
    unsigned pingreqs() const { return pingreqs_; }
    // A whole DISCONNECT that decodes was sent: the broker reads nothing after it. (The
    // bytes of one written after an unfinished packet complete that packet instead.)
    bool disconnect_sent() const { return disconnect_sent_; }
    // Packet ids of the acknowledgements sent that end a QoS 1/2 delivery to the client
    // (PUBACK, PUBCOMP, v5 PUBREC with a failure reason), in order.
    const std::vector<protocol::PacketId>& releases() const { return releases_; }
    // Packets the broker answers by id: SUBSCRIBE, UNSUBSCRIBE, QoS 1/2 PUBLISH, PUBREL.
    struct Request {
        protocol::PacketType answer = protocol::PacketType::Suback;  // what answers it
        protocol::PacketId id = 0;
        std::size_t filters = 0;  // SUBSCRIBE, UNSUBSCRIBE: one reason code each
    };
    const std::vector<Request>& requests() const { return requests_; }

  private:
    void on_packet(protocol::ByteView packet);

    const std::uint32_t broker_maximum_packet_size_;
    std::string partial_;  // the packet in progress
    bool connect_complete_ = false;
    bool doomed_ = false;
    ClientTerms terms_;
    unsigned pingreqs_ = 0;
    bool disconnect_sent_ = false;
    std::vector<protocol::PacketId> releases_;
    std::vector<Request> requests_;
};

// The rules besides "frames and decodes":
//   - nothing before the client's CONNECT is complete; the first packet is CONNACK, or AUTH
//     when the CONNECT named an authentication method [MQTT-3.2.0-1], [MQTT-4.12.0-2];
//     one CONNACK only [MQTT-3.2.0-2]; no success for a CONNECT our decoder refuses;
//   - CONNACK: Session Present 0 after a clean start or with a refusal [MQTT-3.2.2-2],
//     [MQTT-3.2.2-6]; v5: an Assigned Client Identifier for an empty one [MQTT-3.2.2-16];
//   - nothing after a refusing CONNACK [MQTT-3.2.2-7] or a DISCONNECT [MQTT-3.14.4-1];
//     no DISCONNECT or AUTH to a 3.x client; no packet only a client sends;
//   - no packet over the client's Maximum Packet Size [MQTT-3.1.2-24];
//   - no Topic Alias above the client's Topic Alias Maximum [MQTT-3.3.2-10], and an empty
//     topic only with an alias this connection defined;
//   - no QoS 1/2 PUBLISH with a packet id still in flight on this connection
//     [MQTT-2.2.1-3] (v5: not even as a resend [MQTT-4.4.0-2]), and no more of them
//     unacknowledged than the client's Receive Maximum (v5) [MQTT-3.3.4-9]. A delivery is
//     in flight from its PUBLISH until the client sends what ends it; an acknowledgement
//     sent before its PUBLISH arrived may have crossed it on the way and counts as
//     ending the next one with that id, so the check can miss but never invents;
//   - every SUBACK, UNSUBACK, PUBACK, PUBREC and PUBCOMP answers a packet the client
//     sent with that id and not yet answered, a SUBACK (v5 UNSUBACK) with one reason
//     code per filter [MQTT-3.8.4-6], [MQTT-3.9.3-1], [MQTT-3.11.3-1];
//   - no Reason String or User Property outside PUBLISH, CONNACK and DISCONNECT when the
//     client asked for none [MQTT-3.1.2-29]; Response Information only when asked for
//     [MQTT-3.1.2-28].
class OutputCheck {
  public:
    // Bytes the broker wrote; each whole packet is checked and appended to `out`.
    void feed(std::string_view bytes, const SentStream& sent, std::deque<protocol::Packet>& out);
    // The broker closed the connection in order (EOF, not a reset): no packet cut short.
    void at_eof() const;
    unsigned pingresps() const { return pingresps_; }

  private:
    void check(const protocol::Packet& packet, std::string_view bytes, const ClientTerms& terms);
    void check_publish(const protocol::Publish& publish, std::string_view bytes,
                       const ClientTerms& terms);
    void check_packet_id(const protocol::Publish& publish, std::string_view bytes,
                         const ClientTerms& terms);
    void check_answer(const protocol::Packet& packet, std::string_view bytes,
                      const ClientTerms& terms);
    // Takes what the client sent since the last call: acknowledgements, requests.
    void take_sent(const SentStream& sent);

    std::string buffer_;
    bool connack_seen_ = false;
    bool ended_ = false;  // a refusing CONNACK or a DISCONNECT was sent
    unsigned pingresps_ = 0;
    std::vector<std::string> aliases_;  // index alias - 1
    std::set<protocol::PacketId> in_flight_;
    std::map<protocol::PacketId, unsigned> early_releases_;
    std::size_t releases_taken_ = 0;
    // Requests not answered yet, by answer type and packet id, oldest first.
    std::map<std::pair<protocol::PacketType, protocol::PacketId>, std::deque<std::size_t>>
        unanswered_;
    std::size_t requests_taken_ = 0;
};

}  // namespace petrel::fuzz
