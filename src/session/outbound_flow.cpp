#include "petrel/session/outbound_flow.hpp"

#include <algorithm>

namespace petrel::session {

OutboundFlow::OutboundFlow(const OutboundFlow& other)
    : limits_(other.limits_),
      window_(other.window_),
      inflight_(other.inflight_),
      queue_(other.queue_),
      last_packet_id_(other.last_packet_id_),
      counters_(other.counters_) {
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

std::vector<OutboundPacket> OutboundFlow::offer(Delivery delivery, bool online) {
    std::vector<OutboundPacket> out;
    if (delivery.qos == 0) {
        if (online) {
            out.push_back(
                OutboundPacket{OutboundPacket::Kind::Publish, 0, false, std::move(delivery)});
        } else {
            ++counters_.dropped_qos0_offline;
        }
        return out;
    }
    if (online) {
        fill_window(out);  // room freed since the last offer goes to older messages first
    }
    if (online && queue_.empty() && inflight_.size() < window_) {
        out.push_back(start_flight(std::move(delivery)));
        return out;
    }
    if (queue_.size() >= limits_.max_queued) {
        ++counters_.dropped_queue_full;
        return out;
    }
    queue_.push_back(std::move(delivery));
    if (online) {
        fill_window(out);
    }
    return out;
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_puback(protocol::PacketId id) {
    return release(id, OutboundState::AwaitingPuback);
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_pubrec(protocol::PacketId id) {
    auto found = by_id_.find(id);
    if (found == by_id_.end()) {
        return std::nullopt;
    }
    InflightMessage& message = *found->second;
    if (message.state == OutboundState::AwaitingPuback) {
        return std::nullopt;
    }
    // A repeated PUBREC (our PUBREL was lost or is still on its way) is answered with
    // PUBREL again; the payload is no longer needed once PUBREC arrived [MQTT-4.3.3-4].
    message.state = OutboundState::AwaitingPubcomp;
    message.delivery.message.reset();
    std::vector<OutboundPacket> out;
    out.push_back(OutboundPacket{OutboundPacket::Kind::Pubrel, id, false, {}});
    return out;
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_pubcomp(protocol::PacketId id) {
    return release(id, OutboundState::AwaitingPubcomp);
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::on_pubrec_failed(protocol::PacketId id) {
    return release(id, OutboundState::AwaitingPubrec);
}

std::optional<std::vector<OutboundPacket>> OutboundFlow::release(protocol::PacketId id,
                                                                 OutboundState expected) {
    auto found = by_id_.find(id);
    if (found == by_id_.end() || found->second->state != expected) {
        return std::nullopt;
    }
    inflight_.erase(found->second);
    by_id_.erase(found);
    std::vector<OutboundPacket> out;
    fill_window(out);
    return out;
}

std::vector<OutboundPacket> OutboundFlow::resume() {
    std::vector<OutboundPacket> out;
    out.reserve(inflight_.size());
    for (const InflightMessage& message : inflight_) {
        if (message.state == OutboundState::AwaitingPubcomp) {
            out.push_back(
                OutboundPacket{OutboundPacket::Kind::Pubrel, message.packet_id, false, {}});
        } else {
            out.push_back(OutboundPacket{OutboundPacket::Kind::Publish, message.packet_id, true,
                                         message.delivery});
        }
    }
    fill_window(out);
    return out;
}

void OutboundFlow::fill_window(std::vector<OutboundPacket>& out) {
    while (!queue_.empty() && inflight_.size() < window_) {
        Delivery next = std::move(queue_.front());
        queue_.pop_front();
        out.push_back(start_flight(std::move(next)));
    }
}

OutboundPacket OutboundFlow::start_flight(Delivery delivery) {
    const protocol::PacketId id = allocate_packet_id();
    const OutboundState state =
        delivery.qos == 1 ? OutboundState::AwaitingPuback : OutboundState::AwaitingPubrec;
    inflight_.push_back(InflightMessage{id, state, delivery});
    by_id_.emplace(id, std::prev(inflight_.end()));
    return OutboundPacket{OutboundPacket::Kind::Publish, id, false, std::move(delivery)};
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

void OutboundFlow::restore_inflight(InflightMessage message) {
    const protocol::PacketId id = message.packet_id;
    inflight_.push_back(std::move(message));
    by_id_[id] = std::prev(inflight_.end());
    last_packet_id_ = std::max(last_packet_id_, id);
}

void OutboundFlow::restore_queued(Delivery delivery) {
    queue_.push_back(std::move(delivery));
}

}  // namespace petrel::session
