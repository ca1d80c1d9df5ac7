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
    // Sent on the current connection. After a reconnect only as many in-flight messages
    // are resent as the client's Receive Maximum allows; the rest wait their turn.
    bool sent = true;
    // What it counts against max_inflight_bytes until released (its delivery_size() when
    // it started; kept because the payload goes once PUBREC arrives).
    std::size_t bytes = 0;
};

// Something to write: a PUBLISH (dup set on a resend) or a PUBREL.
struct OutboundPacket {
    enum class Kind : std::uint8_t { Publish, Pubrel } kind = Kind::Publish;
    protocol::PacketId packet_id = 0;  // 0 for a QoS 0 PUBLISH
    bool dup = false;
    Delivery delivery;  // empty for a PUBREL
};

// What an acknowledgement (PUBACK, PUBREC, PUBCOMP) did to the flow.
enum class AckOutcome : std::uint8_t {
    Applied,  // it moved its delivery on (released it, or PUBREL is due)
    Ignored,  // its packet id is not in flight, or the flow is already past it
    // Its packet id is in flight but awaits another kind: PUBACK for QoS 2, PUBREC or
    // PUBCOMP for QoS 1, PUBCOMP before PUBREC. A Protocol Error (4.3.2, 4.3.3, 4.13);
    // the delivery stays in flight, to be sent again on the next connection.
    WrongKind,
};

struct OutboundCounters {
    std::uint64_t dropped_queue_full = 0;   // max_queued messages reached
    std::uint64_t dropped_queue_bytes = 0;  // max_queued_bytes reached
    std::uint64_t dropped_qos0_offline = 0;
    std::uint64_t dropped_too_large = 0;     // over the client's Maximum Packet Size
    std::uint64_t dropped_store_failed = 0;  // spilled, but the store could not keep it
    std::uint64_t dropped_expired = 0;       // Message Expiry Interval passed before sending
};

struct OutboundLimits {
    std::size_t max_inflight = 20;     // also capped by the client's Receive Maximum
    std::size_t max_queued = 1000;     // messages waiting for room in the window (0 = no limit)
    std::size_t max_queued_bytes = 0;  // their delivery_size() total (0 = no limit)
    // Mosquitto's max_inflight_bytes: no new flight starts while the in-flight messages'
    // delivery_size() total is this or more, so one larger message may fly alone (0 = no
    // limit).
    std::size_t max_inflight_bytes = 0;
    // 0: every queued delivery is held in memory. N > 0: at most N are; later ones are
    // "spilled" — counted (and their bytes) but held only by the store, and read back with
    // refill() as the queue drains, so an offline session's queue does not grow the RSS.
    std::size_t memory_window = 0;
};

// What offer() did with a delivery.
enum class OfferOutcome : std::uint8_t {
    Sent,     // in flight now (QoS 1/2) or written at once (QoS 0): it is in the returned packets
    Queued,   // held in the in-memory queue
    Spilled,  // counted in the queue but not held: the caller's store holds it
    Dropped,  // refused: queue full (count or bytes), or QoS 0 while offline; counted
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
    // Turns spilling on (N > 0) for a session the store keeps; see OutboundLimits.
    void set_memory_window(std::size_t n) { limits_.memory_window = n; }

    // Offers a delivery. Online: returns the packets to write now (a QoS 0 message goes
    // out at once, a QoS 1/2 one when the window has room, else it is queued). Offline:
    // QoS 1/2 is queued and QoS 0 dropped. A full queue (max_queued or max_queued_bytes)
    // drops the new message, counted by reason. With a memory_window, a delivery that
    // would be queued beyond the window — or behind deliveries already spilled, to keep
    // the order — is spilled. `outcome`, when given, says which of these happened.
    std::vector<OutboundPacket> offer(Delivery delivery, bool online,
                                      OfferOutcome* outcome = nullptr);

    // Acknowledgements. Each returns the packets now due (the PUBREL for a PUBREC, and
    // queued messages that fit into the window just freed), or nullopt when the packet
    // id is not in flight in the state the acknowledgement expects. `outcome`, when
    // given, says why: nullopt is Ignored, or WrongKind (a Protocol Error for the caller
    // to act on; the flow is left as it was).
    std::optional<std::vector<OutboundPacket>> on_puback(protocol::PacketId id,
                                                         AckOutcome* outcome = nullptr);
    std::optional<std::vector<OutboundPacket>> on_pubrec(protocol::PacketId id,
                                                         AckOutcome* outcome = nullptr);
    std::optional<std::vector<OutboundPacket>> on_pubcomp(protocol::PacketId id,
                                                          AckOutcome* outcome = nullptr);
    // A v5 PUBREC with a failure reason ends the QoS 2 flow (no PUBREL follows):
    // the message is released and the window slot freed.
    std::optional<std::vector<OutboundPacket>> on_pubrec_failed(protocol::PacketId id,
                                                                AckOutcome* outcome = nullptr);

    // On reconnect of a surviving session: what is in flight, in order, PUBLISH with
    // DUP=1 or PUBREL [MQTT-4.4.0-1], followed by queued messages that fit the window. At
    // most window() of them: the client's new Receive Maximum counts the resent ones too
    // [MQTT-3.3.4-9]; the others follow as acknowledgements free the window.
    std::vector<OutboundPacket> resume();
    // A flight that cannot be sent: its message expired before it was first sent
    // [MQTT-3.3.2-5], or it is larger than the client's (new) Maximum Packet Size
    // [MQTT-3.1.2-25]. Released as if acknowledged, counted as dropped_expired or
    // dropped_too_large. Returns the packets now due.
    enum class Unsendable : std::uint8_t { Expired, TooLarge };
    std::vector<OutboundPacket> drop_unsent(protocol::PacketId id,
                                            Unsendable why = Unsendable::Expired);

    // Takes out the deliveries that `wanted` picks among those queued in memory and the
    // QoS 1 ones in flight (a shared subscription's messages, when its member leaves), for
    // the caller to hand elsewhere. Spilled deliveries and QoS 2 flights stay: a QoS 2
    // message once started must be completed with this client [MQTT-4.8.2-4].
    struct Taken {
        std::vector<Delivery> deliveries;              // in delivery order
        std::vector<std::uint64_t> queued_seqs;        // of those that were queued (seq != 0)
        std::vector<protocol::PacketId> released_ids;  // of those that were in flight
    };
    template <class Predicate>
    Taken take_if(Predicate wanted);

    // Spilled deliveries come back from the store through these: when the in-memory queue
    // runs low (below half the window) while some are spilled, refill_wanted() says how
    // many to read — those with seq > refill_after_seq(), in seq order — and refill() takes
    // them (fewer than wanted is fine: the rest may not be committed yet; ask again later).
    // Returns the packets now due when online, as offer() does.
    std::size_t refill_wanted() const;
    std::uint64_t refill_after_seq() const { return last_memory_seq_; }
    std::vector<OutboundPacket> refill(std::vector<Delivery> deliveries, bool online);
    // A spilled delivery the store failed to keep: uncount it (as dropped_store_failed).
    void forget_spilled(std::uint64_t bytes);
    // A queued delivery the store failed to keep (the publisher was refused): removed
    // unless it is already in flight. False when it is no longer queued.
    bool forget_queued(std::uint64_t seq);
    // The same for a delivery that may be queued or spilled (`bytes`: its size): nothing
    // happens if it is in flight or gone.
    void forget(std::uint64_t seq, std::uint64_t bytes);

    // The size a delivery counts for against max_queued_bytes: topic plus payload.
    static std::size_t delivery_size(const Delivery& delivery);

    std::size_t inflight_count() const { return inflight_.size(); }
    std::size_t inflight_bytes() const { return inflight_bytes_; }
    // Everything queued: in memory plus spilled.
    std::size_t queued_count() const { return queue_.size() + spilled_count_; }
    std::size_t queued_bytes() const { return queued_bytes_; }
    std::size_t spilled_count() const { return spilled_count_; }
    const std::list<InflightMessage>& inflight() const { return inflight_; }
    const std::deque<Delivery>& queued() const { return queue_; }
    const OutboundCounters& counters() const { return counters_; }
    // A message the client could not accept (larger than its Maximum Packet Size) is
    // dropped before it takes a packet id [MQTT-3.1.2-25]; counted here.
    void count_too_large() { ++counters_.dropped_too_large; }
    // A QoS 0 message that expired before it could be written.
    void count_expired() { ++counters_.dropped_expired; }

    // Restores persisted state (used by the store on recovery).
    void restore_inflight(InflightMessage message);
    void restore_queued(Delivery delivery);
    // After restore_queued(): `count` more deliveries (of `bytes` in all) that the store
    // holds beyond the ones restored, with seq > the last restored one.
    void restore_spilled(std::size_t count, std::uint64_t bytes);

  private:
    // Releases `id` when it is in flight in state `expected`; `outcome` as for on_puback().
    std::optional<std::vector<OutboundPacket>> release(protocol::PacketId id,
                                                       OutboundState expected, AckOutcome* outcome);
    void fill_window(std::vector<OutboundPacket>& out);
    // Whether a new flight may start: the window has a free slot and, with
    // max_inflight_bytes, the bytes in flight are below it.
    bool room_for_flight() const {
        return inflight_.size() < window_ &&
               (limits_.max_inflight_bytes == 0 || inflight_bytes_ < limits_.max_inflight_bytes);
    }
    // Removes an in-flight message from the list, the index and the byte count.
    void erase_inflight(std::list<InflightMessage>::iterator it);
    OutboundPacket start_flight(Delivery delivery);
    protocol::PacketId allocate_packet_id();

    Limits limits_;
    std::size_t window_ = 20;
    std::list<InflightMessage> inflight_;  // in send order: resend order on reconnect
    std::unordered_map<protocol::PacketId, std::list<InflightMessage>::iterator> by_id_;
    std::deque<Delivery> queue_;
    protocol::PacketId last_packet_id_ = 0;
    OutboundCounters counters_;
    std::size_t spilled_count_ = 0;
    std::uint64_t queued_bytes_ = 0;     // memory queue plus spilled
    std::uint64_t last_memory_seq_ = 0;  // seq of the newest delivery held in memory
    std::size_t sent_inflight_ = 0;      // in-flight messages sent on this connection
    std::size_t inflight_bytes_ = 0;     // InflightMessage::bytes of every in-flight message
};

template <class Predicate>
OutboundFlow::Taken OutboundFlow::take_if(Predicate wanted) {
    Taken taken;
    for (auto it = inflight_.begin(); it != inflight_.end();) {
        if (it->state == OutboundState::AwaitingPuback && wanted(it->delivery)) {
            taken.released_ids.push_back(it->packet_id);
            taken.deliveries.push_back(std::move(it->delivery));
            erase_inflight(it++);
        } else {
            ++it;
        }
    }
    for (auto it = queue_.begin(); it != queue_.end();) {
        if (wanted(*it)) {
            queued_bytes_ -= std::min<std::uint64_t>(queued_bytes_, delivery_size(*it));
            if (it->seq != 0) {
                taken.queued_seqs.push_back(it->seq);
            }
            taken.deliveries.push_back(std::move(*it));
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
    return taken;
}

}  // namespace petrel::session
