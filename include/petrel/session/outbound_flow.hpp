// Outgoing QoS 1/2 flow for one session: the in-flight window, the queue of messages
// waiting for room in it, and packet identifier allocation.
//
// A pure state machine: callers feed it deliveries and acknowledgements and it says what
// to put on the wire. The same state serves an online and an offline session (the queue
// simply keeps growing up to its limit while nobody drains it), and every field is plain
// data so that the store can persist it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "petrel/session/message.hpp"

namespace petrel::session {

// Mosquitto names each in-flight state; so do we.
enum class OutboundState : std::uint8_t {
    AwaitingPuback,   // QoS 1 PUBLISH sent
    AwaitingPubrec,   // QoS 2 PUBLISH sent
    AwaitingPubcomp,  // QoS 2 PUBREC received, PUBREL sent
};

struct InflightMessage {
    protocol::PacketId packet_id = 0;
    OutboundState state = OutboundState::AwaitingPuback;
    Delivery delivery;
};

// Something to write: a PUBLISH (dup set on a resend) or a PUBREL.
struct OutboundPacket {
    enum class Kind : std::uint8_t { Publish, Pubrel } kind = Kind::Publish;
    protocol::PacketId packet_id = 0;  // 0 for a QoS 0 PUBLISH
    bool dup = false;
    Delivery delivery;  // empty for a PUBREL
};

struct OutboundCounters {
    std::uint64_t dropped_queue_full = 0;
    std::uint64_t dropped_qos0_offline = 0;
    std::uint64_t dropped_too_large = 0;  // over the client's Maximum Packet Size
};

struct OutboundLimits {
    std::size_t max_inflight = 20;  // also capped by the client's Receive Maximum
    std::size_t max_queued = 1000;  // messages waiting for room in the window
};

class OutboundFlow {
  public:
    using Limits = OutboundLimits;

    // Every flow in flight holds a packet id, so the window is at most 65535; and it is
    // never 0 [MQTT-4.9.0-1], which would stall the session.
    explicit OutboundFlow(Limits limits = {})
        : limits_(limits), window_(std::clamp<std::size_t>(limits.max_inflight, 1, 0xFFFF)) {}

    // by_id_ points into inflight_: a copy re-indexes its own list (a snapshot stands on
    // its own); a move keeps the list nodes, so the index stays valid.
    OutboundFlow(const OutboundFlow& other);
    OutboundFlow& operator=(const OutboundFlow& other);
    OutboundFlow(OutboundFlow&&) = default;
    OutboundFlow& operator=(OutboundFlow&&) = default;

    // The window for the current connection: min(our limit, the client's Receive Maximum).
    void set_receive_maximum(std::uint16_t client_receive_maximum);
    std::size_t window() const { return window_; }

    // Offers a delivery. Online: returns the packets to write now (a QoS 0 message goes
    // out at once, a QoS 1/2 one when the window has room, else it is queued). Offline:
    // QoS 1/2 is queued and QoS 0 dropped. A full queue drops the new message (counted).
    std::vector<OutboundPacket> offer(Delivery delivery, bool online);

    // Acknowledgements. Each returns the packets now due (the PUBREL for a PUBREC, and
    // queued messages that fit into the window just freed), or nullopt when the packet
    // id is not in flight in the state the acknowledgement expects.
    std::optional<std::vector<OutboundPacket>> on_puback(protocol::PacketId id);
    std::optional<std::vector<OutboundPacket>> on_pubrec(protocol::PacketId id);
    std::optional<std::vector<OutboundPacket>> on_pubcomp(protocol::PacketId id);
    // A v5 PUBREC with a failure reason ends the QoS 2 flow (no PUBREL follows):
    // the message is released and the window slot freed.
    std::optional<std::vector<OutboundPacket>> on_pubrec_failed(protocol::PacketId id);

    // On reconnect of a surviving session: everything in flight, in order, PUBLISH with
    // DUP=1 or PUBREL [MQTT-4.4.0-1], followed by queued messages that fit the window.
    std::vector<OutboundPacket> resume();

    std::size_t inflight_count() const { return inflight_.size(); }
    std::size_t queued_count() const { return queue_.size(); }
    const std::list<InflightMessage>& inflight() const { return inflight_; }
    const std::deque<Delivery>& queued() const { return queue_; }
    const OutboundCounters& counters() const { return counters_; }
    // A message the client could not accept (larger than its Maximum Packet Size) is
    // dropped before it takes a packet id [MQTT-3.1.2-25]; counted here.
    void count_too_large() { ++counters_.dropped_too_large; }

    // Restores persisted state (used by the store on recovery).
    void restore_inflight(InflightMessage message);
    void restore_queued(Delivery delivery);

  private:
    std::optional<std::vector<OutboundPacket>> release(protocol::PacketId id,
                                                       OutboundState expected);
    void fill_window(std::vector<OutboundPacket>& out);
    OutboundPacket start_flight(Delivery delivery);
    protocol::PacketId allocate_packet_id();

    Limits limits_;
    std::size_t window_ = 20;
    std::list<InflightMessage> inflight_;  // in send order: resend order on reconnect
    std::unordered_map<protocol::PacketId, std::list<InflightMessage>::iterator> by_id_;
    std::deque<Delivery> queue_;
    protocol::PacketId last_packet_id_ = 0;
    OutboundCounters counters_;
};

}  // namespace petrel::session
