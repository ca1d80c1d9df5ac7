#include "petrel/session/outbound_flow.hpp"

#include <algorithm>

namespace petrel::session {

OutboundFlow::OutboundFlow(const OutboundFlow& other)
    : limits_(other.limits_),
      window_(other.window_),
      inflight_(other.inflight_),
      queue_(other.queue_),
      last_packet_id_(other.last_packet_id_),
      counters_(other.counters_),
      spilled_count_(other.spilled_count_),
      queued_bytes_(other.queued_bytes_),
      last_memory_seq_(other.last_memory_seq_),
      sent_inflight_(other.sent_inflight_),
      inflight_bytes_(other.inflight_bytes_) {
    for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
        by_id_.emplace(it->packet_id, it);
    }
}

OutboundFlow& OutboundFlow::operator=(const OutboundFlow& other) {
    if (this != &other) {
        *this = OutboundFlow(other);
    }
    return *this;
}

void OutboundFlow::set_receive_maximum(std::uint16_t client_receive_maximum) {
    // A Receive Maximum of 0 is a protocol error the codec already refused; treat it as 1
    // rather than stalling the session forever.
    window_ = std::max<std::size_t>(
        1, std::min<std::size_t>(limits_.max_inflight, client_receive_maximum));
}

std::vector<OutboundPacket> OutboundFlow::offer(Delivery delivery, bool online,
                                                OfferOutcome* outcome) {
    OfferOutcome ignored = OfferOutcome::Dropped;
    OfferOutcome& result = outcome != nullptr ? *outcome : ignored;
    std::vector<OutboundPacket> out;
    if (delivery.qos == 0) {
        if (online) {
            out.push_back(
                OutboundPacket{OutboundPacket::Kind::Publish, 0, false, std::move(delivery)});
            result = OfferOutcome::Sent;
        } else {
            ++counters_.dropped_qos0_offline;
            result = OfferOutcome::Dropped;
        }
        return out;
    }
    if (online) {
        fill_window(out);  // room freed since the last offer goes to older messages first
    }
    // Straight into flight only when nothing is waiting ahead of it, in memory or spilled.
    if (online && queue_.empty() && spilled_count_ == 0 && room_for_flight()) {
        last_memory_seq_ = std::max(last_memory_seq_, delivery.seq);
        out.push_back(start_flight(std::move(delivery)));
        result = OfferOutcome::Sent;
        return out;
    }
    const std::size_t size = delivery_size(delivery);
    if (limits_.max_queued != 0 && queued_count() >= limits_.max_queued) {
        ++counters_.dropped_queue_full;
        result = OfferOutcome::Dropped;
        return out;
    }
    if (limits_.max_queued_bytes != 0 && queued_bytes_ + size > limits_.max_queued_bytes) {
        ++counters_.dropped_queue_bytes;
        result = OfferOutcome::Dropped;
        return out;
    }
    queued_bytes_ += size;
    // Once one delivery is spilled every later one is too, until refill() catches up:
    // nothing may overtake a spilled delivery [MQTT-4.6.0-6]. refill() reads seqs above
    // last_memory_seq_, so a delivery numbered at or below it — seqs are taken by several
    // publishing workers, so one may arrive after a higher one — stays in memory: spilled,
    // it would never be read back. (It comes from another publisher: no order is owed.)
    const bool readable_later = delivery.seq == 0 || delivery.seq > last_memory_seq_;
    if (readable_later && (spilled_count_ > 0 || (limits_.memory_window != 0 &&
                                                  queue_.size() >= limits_.memory_window))) {
        ++spilled_count_;
        result = OfferOutcome::Spilled;
        return out;
    }
    last_memory_seq_ = std::max(last_memory_seq_, delivery.seq);
    queue_.push_back(std::move(delivery));
    // No fill_window() here: after the one above, either the window is full or the queue
    // was empty and something is spilled, so a queued delivery cannot go out yet.
    result = OfferOutcome::Queued;
    return out;
}

namespace {

void report(AckOutcome* outcome, AckOutcome value) {
    if (outcome != nullptr) {
        *outcome = value;
    }
}

}  // namespace

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_puback(protocol::PacketId id,
                                                                   AckOutcome* outcome) {
    return release(id, OutboundState::AwaitingPuback, outcome);
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_pubrec(protocol::PacketId id,
                                                                   AckOutcome* outcome) {
    auto found = by_id_.find(id);
    if (found == by_id_.end()) {
        report(outcome, AckOutcome::Ignored);
        return std::nullopt;
    }
    InflightMessage& message = *found->second;
    if (message.state == OutboundState::AwaitingPuback) {
        report(outcome, AckOutcome::WrongKind);  // PUBREC for a QoS 1 delivery
        return std::nullopt;
    }
    // A repeated PUBREC (our PUBREL was lost or is still on its way) is answered with
    // PUBREL again; the payload is no longer needed once PUBREC arrived [MQTT-4.3.3-4].
    message.state = OutboundState::AwaitingPubcomp;
    message.delivery.message.reset();
    std::vector<OutboundPacket> out;
    out.push_back(OutboundPacket{OutboundPacket::Kind::Pubrel, id, false, {}});
    report(outcome, AckOutcome::Applied);
    return out;
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_pubcomp(protocol::PacketId id,
                                                                    AckOutcome* outcome) {
    return release(id, OutboundState::AwaitingPubcomp, outcome);
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_pubrec_failed(protocol::PacketId id,
                                                                          AckOutcome* outcome) {
    return release(id, OutboundState::AwaitingPubrec, outcome);
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::release(protocol::PacketId id,
                                                                 OutboundState expected,
                                                                 AckOutcome* outcome) {
    auto found = by_id_.find(id);
    if (found == by_id_.end()) {
        report(outcome, AckOutcome::Ignored);
        return std::nullopt;
    }
    if (found->second->state != expected) {
        // Whether the acknowledgement belongs to the other QoS: a QoS 1 delivery answered
        // as QoS 2 or the reverse, or PUBCOMP before PUBREC. A failed PUBREC after a
        // successful one is a PUBREC all the same: the flow is past it, and it is ignored.
        const bool qos2_ack = expected != OutboundState::AwaitingPuback;
        const bool qos2_flight = found->second->state != OutboundState::AwaitingPuback;
        const bool too_early = expected == OutboundState::AwaitingPubcomp &&
                               found->second->state == OutboundState::AwaitingPubrec;
        report(outcome,
               qos2_ack != qos2_flight || too_early ? AckOutcome::WrongKind : AckOutcome::Ignored);
        return std::nullopt;
    }
    erase_inflight(found->second);
    std::vector<OutboundPacket> out;
    fill_window(out);
    report(outcome, AckOutcome::Applied);
    return out;
}

std::vector<OutboundPacket> OutboundFlow::resume() {
    std::vector<OutboundPacket> out;
    sent_inflight_ = 0;
    for (InflightMessage& message : inflight_) {
        message.sent = false;
    }
    fill_window(out);
    return out;
}

std::vector<OutboundPacket> OutboundFlow::drop_unsent(protocol::PacketId id, Unsendable why) {
    std::vector<OutboundPacket> out;
    auto found = by_id_.find(id);
    if (found == by_id_.end()) {
        return out;
    }
    erase_inflight(found->second);
    ++(why == Unsendable::Expired ? counters_.dropped_expired : counters_.dropped_too_large);
    fill_window(out);
    return out;
}

void OutboundFlow::fill_window(std::vector<OutboundPacket>& out) {
    // In-flight messages not yet resent on this connection go first, in their order.
    if (sent_inflight_ < inflight_.size()) {
        for (InflightMessage& message : inflight_) {
            if (sent_inflight_ >= window_) {
                return;
            }
            if (message.sent) {
                continue;
            }
            message.sent = true;
            ++sent_inflight_;
            if (message.state == OutboundState::AwaitingPubcomp) {
                out.push_back(
                    OutboundPacket{OutboundPacket::Kind::Pubrel, message.packet_id, false, {}});
            } else {
                out.push_back(OutboundPacket{OutboundPacket::Kind::Publish, message.packet_id, true,
                                             message.delivery});
            }
        }
    }
    // Stops when the memory queue is empty even if deliveries are spilled: the caller
    // reads them back (refill_wanted / refill) and they go out from there.
    while (!queue_.empty() && room_for_flight()) {
        Delivery next = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= std::min<std::uint64_t>(queued_bytes_, delivery_size(next));
        out.push_back(start_flight(std::move(next)));
    }
}

OutboundPacket OutboundFlow::start_flight(Delivery delivery) {
    const protocol::PacketId id = allocate_packet_id();
    const OutboundState state =
        delivery.qos == 1 ? OutboundState::AwaitingPuback : OutboundState::AwaitingPubrec;
    const std::size_t bytes = delivery_size(delivery);
    inflight_.push_back(InflightMessage{id, state, delivery, true, bytes});
    inflight_bytes_ += bytes;
    ++sent_inflight_;
    by_id_.emplace(id, std::prev(inflight_.end()));
    return OutboundPacket{OutboundPacket::Kind::Publish, id, false, std::move(delivery)};
}

void OutboundFlow::erase_inflight(std::list<InflightMessage>::iterator it) {
    sent_inflight_ -= it->sent ? 1 : 0;
    inflight_bytes_ -= std::min(inflight_bytes_, it->bytes);
    by_id_.erase(it->packet_id);
    inflight_.erase(it);
}

protocol::PacketId OutboundFlow::allocate_packet_id() {
    // Ids cycle through 1..65535 and skip ids still in flight, so an id is never reused
    // while its flow is open [MQTT-2.2.1-3]. The window is at most 65535 messages, so a
    // free id always exists when this is called.
    do {
        last_packet_id_ =
            static_cast<protocol::PacketId>(last_packet_id_ == 0xFFFF ? 1 : last_packet_id_ + 1);
    } while (by_id_.contains(last_packet_id_));
    return last_packet_id_;
}

std::size_t OutboundFlow::refill_wanted() const {
    if (spilled_count_ == 0) {
        return 0;
    }
    // Read back in batches of about half the window rather than one by one.
    const std::size_t low_water = std::max<std::size_t>(1, limits_.memory_window / 2);
    if (queue_.size() >= low_water) {
        return 0;
    }
    if (limits_.memory_window == 0) {
        return spilled_count_;  // spilling was turned off: take everything back
    }
    return std::min(spilled_count_, limits_.memory_window - queue_.size());
}

std::vector<OutboundPacket> OutboundFlow::refill(std::vector<Delivery> deliveries, bool online) {
    for (Delivery& delivery : deliveries) {
        // Only deliveries newer than anything held so far: a stale or repeated read from
        // the store must not queue a delivery twice or out of order.
        if (delivery.seq <= last_memory_seq_) {
            continue;
        }
        if (spilled_count_ > 0) {
            --spilled_count_;  // its bytes were counted when it was spilled
        } else {
            queued_bytes_ += delivery_size(delivery);  // not counted before: count it now
        }
        last_memory_seq_ = delivery.seq;
        queue_.push_back(std::move(delivery));
    }
    std::vector<OutboundPacket> out;
    if (online) {
        fill_window(out);
    }
    return out;
}

void OutboundFlow::forget_spilled(std::uint64_t bytes) {
    if (spilled_count_ > 0) {
        --spilled_count_;
    }
    queued_bytes_ -= std::min(queued_bytes_, bytes);
    ++counters_.dropped_store_failed;
}

bool OutboundFlow::forget_queued(std::uint64_t seq) {
    // Searched from the back: the failed delivery is usually the newest one.
    for (auto it = queue_.rbegin(); it != queue_.rend(); ++it) {
        if (it->seq == seq) {
            queued_bytes_ -= std::min<std::uint64_t>(queued_bytes_, delivery_size(*it));
            queue_.erase(std::next(it).base());
            ++counters_.dropped_store_failed;
            return true;
        }
    }
    return false;
}

void OutboundFlow::forget(std::uint64_t seq, std::uint64_t bytes) {
    if (forget_queued(seq)) {
        return;
    }
    // Spilled deliveries are exactly those numbered above last_memory_seq_.
    if (spilled_count_ > 0 && seq > last_memory_seq_) {
        forget_spilled(bytes);
    }
}

std::size_t OutboundFlow::delivery_size(const Delivery& delivery) {
    if (!delivery.message) {
        return 0;
    }
    const Message& message = *delivery.message;
    return message.topic.size() + (message.payload ? message.payload->size() : 0);
}

void OutboundFlow::restore_inflight(InflightMessage message) {
    const protocol::PacketId id = message.packet_id;
    message.sent = true;  // resume() resends it when a connection comes
    message.bytes = delivery_size(message.delivery);
    inflight_bytes_ += message.bytes;
    ++sent_inflight_;
    inflight_.push_back(std::move(message));
    by_id_[id] = std::prev(inflight_.end());
    last_packet_id_ = std::max(last_packet_id_, id);
}

void OutboundFlow::restore_queued(Delivery delivery) {
    queued_bytes_ += delivery_size(delivery);
    last_memory_seq_ = std::max(last_memory_seq_, delivery.seq);
    queue_.push_back(std::move(delivery));
}

void OutboundFlow::restore_spilled(std::size_t count, std::uint64_t bytes) {
    spilled_count_ += count;
    queued_bytes_ += bytes;
}

}  // namespace petrel::session
