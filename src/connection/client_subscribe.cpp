// The client role's subscriptions: SUBSCRIBE and UNSUBSCRIBE out, SUBACK and UNSUBACK in.
#include <algorithm>

#include "petrel/connection/client_endpoint.hpp"

namespace petrel::connection {

using protocol::ReasonCode;

void ClientEndpoint::subscribe(std::vector<protocol::Subscription> subscriptions, TimePoint now) {
    now_ = now;
    for (const protocol::Subscription& subscription : subscriptions) {
        auto same = [&](const protocol::Subscription& held) {
            return held.filter == subscription.filter;
        };
        const auto found = std::find_if(subscriptions_.begin(), subscriptions_.end(), same);
        if (found != subscriptions_.end()) {
            found->options = subscription.options;
        } else {
            subscriptions_.push_back(subscription);
        }
    }
    send_request(Request{std::move(subscriptions), {}, true});
}

void ClientEndpoint::unsubscribe(std::vector<std::string> filters, TimePoint now) {
    now_ = now;
    for (const std::string& filter : filters) {
        std::erase_if(subscriptions_,
                      [&](const protocol::Subscription& held) { return held.filter == filter; });
    }
    send_request(Request{{}, std::move(filters), false});
}

void ClientEndpoint::send_request(Request request) {
    if (phase_ != Phase::Connected) {
        unsent_requests_.push_back(std::move(request));
        return;
    }
    const protocol::PacketId id = allocate_request_id();
    bool written = false;
    if (request.subscribe) {
        written = write(protocol::Subscribe{id, request.subscriptions, {}});
    } else {
        written = write(protocol::Unsubscribe{id, request.filters, {}});
    }
    if (written) {
        requests_.emplace(id, std::move(request));
        return;
    }
    // Over the server's Maximum Packet Size: never sent [MQTT-3.1.2-24]; told as the
    // answer would be, one failure per filter (0x80: no SUBACK or UNSUBACK can carry 0x95),
    // marked as never sent.
    if (request.subscribe) {
        for (const protocol::Subscription& subscription : request.subscriptions) {
            std::erase_if(subscriptions_, [&](const protocol::Subscription& held) {
                return held.filter == subscription.filter;
            });
        }
        const std::size_t count = request.subscriptions.size();
        emit(Subscribed{std::move(request.subscriptions),
                        std::vector<protocol::SubackReason>(count, ReasonCode::UnspecifiedError),
                        true});
    } else {
        const std::size_t count = request.filters.size();
        emit(Unsubscribed{
            std::move(request.filters),
            std::vector<protocol::UnsubackReason>(count, ReasonCode::UnspecifiedError), true});
    }
}

protocol::PacketId ClientEndpoint::allocate_request_id() {
    // One id space for PUBLISH, SUBSCRIBE and UNSUBSCRIBE [MQTT-2.2.1-3]. The flow takes its
    // ids in turn after the newest one it gave out; a request takes the id half the space
    // away, where the flow will not arrive before 32,767 more flights. Should it arrive
    // there all the same, fill_window() waits for the answer (next_flight_collides).
    auto id = static_cast<protocol::PacketId>(last_flow_id_ + 0x8000);
    while (id == 0 || requests_.contains(id) || find_inflight(id) != nullptr) {
        id = static_cast<protocol::PacketId>(id + 1);
    }
    return id;
}

bool ClientEndpoint::next_flight_collides() const {
    // The flow's next id is the first after last_flow_id_ not in flight, so at most
    // inflight_count() + 1 ahead: only a request in that range can be hit, and the exact
    // id (a walk of the window) is worked out only then.
    const std::size_t reach = flow_.inflight_count() + 1;
    const bool near = std::any_of(requests_.begin(), requests_.end(), [&](const auto& entry) {
        const auto ahead = static_cast<std::uint16_t>(entry.first - last_flow_id_);
        return ahead != 0 && ahead <= reach;
    });
    if (!near) {
        return false;
    }
    protocol::PacketId next = last_flow_id_;
    do {  // as OutboundFlow::allocate_packet_id: 1..65535, skipping ids in flight
        next = static_cast<protocol::PacketId>(next == 0xFFFF ? 1 : next + 1);
    } while (find_inflight(next) != nullptr);
    return requests_.contains(next);
}

void ClientEndpoint::on_suback(const protocol::Suback& suback) {
    const auto found = requests_.find(suback.packet_id);
    if (found == requests_.end() || !found->second.subscribe) {
        fail(protocol::protocol_error("SUBACK for no SUBSCRIBE"));
        return;
    }
    if (suback.reasons.size() != found->second.subscriptions.size()) {
        // [MQTT-3.8.4-6] one reason code per filter.
        fail(protocol::protocol_error("SUBACK with a reason count unlike the SUBSCRIBE's"));
        return;
    }
    Request request = std::move(found->second);
    requests_.erase(found);
    for (std::size_t i = 0; i < suback.reasons.size(); ++i) {
        if (protocol::is_failure(suback.reasons[i])) {
            // Refused: not asked for again at the next reconnect.
            const std::string& filter = request.subscriptions[i].filter;
            std::erase_if(subscriptions_, [&](const protocol::Subscription& held) {
                return held.filter == filter;
            });
        }
    }
    emit(Subscribed{std::move(request.subscriptions), suback.reasons});
    fill_window();  // its packet id may have held the next flight back
}

void ClientEndpoint::on_unsuback(const protocol::Unsuback& unsuback) {
    const auto found = requests_.find(unsuback.packet_id);
    if (found == requests_.end() || found->second.subscribe) {
        fail(protocol::protocol_error("UNSUBACK for no UNSUBSCRIBE"));
        return;
    }
    if (core_.version() == protocol::ProtocolVersion::V5 &&
        unsuback.reasons.size() != found->second.filters.size()) {
        // [MQTT-3.11.3-1] one reason code per filter.
        fail(protocol::protocol_error("UNSUBACK with a reason count unlike the UNSUBSCRIBE's"));
        return;
    }
    Request request = std::move(found->second);
    requests_.erase(found);
    emit(Unsubscribed{std::move(request.filters), unsuback.reasons});
    fill_window();  // its packet id may have held the next flight back
}

}  // namespace petrel::connection
