// The session's outgoing QoS state machine (OutboundFlow) driven by arbitrary sequences of
// what a broker does to it: deliveries offered online and offline, acknowledgements right
// and wrong, reconnects with a new Receive Maximum, shared-subscription take-overs and
// messages dropped unsent. After every step the harness checks what must always hold:
//   - never more unacknowledged packets sent on a connection than its window
//     [MQTT-3.3.4-9], and no packet id twice in flight [MQTT-2.2.1-3];
//   - first sends of messages are in offer order [MQTT-4.6.0-6];
//   - every QoS 1/2 delivery offered is accounted for exactly once: in flight, queued,
//     acknowledged, taken, or dropped and counted.
//   - the bytes in flight (max_inflight_bytes, sometimes on) are the sum of the flights'.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "petrel/session/outbound_flow.hpp"

namespace {

using petrel::protocol::PacketId;
using petrel::session::Delivery;
using petrel::session::OutboundFlow;
using petrel::session::OutboundPacket;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "outbound_flow_fuzz: %s\n", what);
    std::abort();
}

class Input {
  public:
    Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool done() const { return pos_ >= size_; }
    std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

struct Harness {
    OutboundFlow flow;
    bool online = true;
    std::uint64_t next_index = 1;  // offer order, kept in the topic
    std::uint64_t last_first_send = 0;
    std::uint64_t offered = 0;       // QoS 1/2 deliveries offered
    std::uint64_t acknowledged = 0;  // released by an acknowledgement
    std::uint64_t taken = 0;
    // PUBLISHes sent on this connection and not yet released: what the client's Receive
    // Maximum counts (the quota starts afresh on each connection, 4.9).
    std::set<PacketId> outstanding;

    explicit Harness(OutboundFlow::Limits limits) : flow(limits) {}

    Delivery make(std::uint8_t qos, bool shared) {
        auto message = std::make_shared<petrel::session::Message>();
        message->topic = std::to_string(next_index++);
        message->qos = qos;
        Delivery delivery;
        delivery.message = message;
        delivery.qos = qos;
        if (shared) {
            delivery.shared = std::make_shared<const std::string>("$share/g/t");
        }
        return delivery;
    }

    void sent(const std::vector<OutboundPacket>& packets) {
        for (const OutboundPacket& packet : packets) {
            if (!online) {
                fail("packets produced while offline");
            }
            if (packet.packet_id == 0 || packet.kind != OutboundPacket::Kind::Publish) {
                continue;  // QoS 0, or a PUBREL: not a PUBLISH the quota counts
            }
            outstanding.insert(packet.packet_id);
            if (!packet.dup) {
                const std::uint64_t index = std::stoull(packet.delivery.message->topic);
                if (index <= last_first_send) {
                    fail("a message was first sent out of offer order");
                }
                last_first_send = index;
            }
        }
    }

    void released(PacketId id) { outstanding.erase(id); }

    PacketId pick_inflight(std::uint8_t choice) const {
        const auto& inflight = flow.inflight();
        if (inflight.empty()) {
            return static_cast<PacketId>(choice);  // unknown ids must be refused
        }
        auto it = inflight.begin();
        std::advance(it, choice % inflight.size());
        return it->packet_id;
    }

    void check() const {
        if (outstanding.size() > flow.window()) {
            fail("more unacknowledged packets on the connection than its window");
        }
        std::set<PacketId> ids;
        for (const auto& flight : flow.inflight()) {
            if (flight.packet_id == 0 || !ids.insert(flight.packet_id).second) {
                fail("packet id 0 or twice in flight");
            }
        }
        std::size_t bytes = 0;
        for (const auto& flight : flow.inflight()) {
            bytes += flight.bytes;
        }
        if (bytes != flow.inflight_bytes()) {
            fail("the bytes in flight (max_inflight_bytes) are miscounted");
        }
        const auto& c = flow.counters();
        const std::uint64_t accounted =
            acknowledged + taken + flow.inflight_count() + flow.queued_count() +
            c.dropped_queue_full + c.dropped_queue_bytes + c.dropped_expired + c.dropped_too_large;
        if (accounted != offered) {
            fail("a QoS 1/2 delivery was lost or counted twice");
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in(data, size);
    OutboundFlow::Limits limits;
    limits.max_inflight = 1 + in.byte() % 8;
    const std::uint8_t queue_byte = in.byte();
    limits.max_queued = queue_byte % 16;  // 0: unlimited
    // The byte's high bits, unused before, so older corpus entries keep their meaning.
    limits.max_inflight_bytes = static_cast<std::size_t>(queue_byte >> 4) * 8;  // 0: unlimited
    Harness h(limits);
    h.flow.set_receive_maximum(static_cast<std::uint16_t>(1 + in.byte() % 8));
    while (!in.done()) {
        const std::uint8_t op = in.byte() % 9;
        const std::uint8_t arg = in.byte();
        if (!h.online && (op == 2 || op == 3 || op == 4)) {
            continue;  // acknowledgements come only over a connection
        }
        switch (op) {
            case 0:
            case 1: {  // offer
                const auto qos = static_cast<std::uint8_t>(arg % 3);
                h.offered += qos > 0 ? 1 : 0;
                h.sent(h.flow.offer(h.make(qos, (arg & 0x80) != 0), h.online));
                break;
            }
            case 2: {  // PUBACK
                const PacketId id = h.pick_inflight(arg);
                if (auto next = h.flow.on_puback(id)) {
                    ++h.acknowledged;
                    h.released(id);
                    h.sent(*next);
                }
                break;
            }
            case 3: {  // PUBREC, then maybe PUBCOMP
                const PacketId id = h.pick_inflight(arg);
                if (auto next = h.flow.on_pubrec(id)) {
                    h.sent(*next);  // the PUBREL; the PUBLISH stays counted until PUBCOMP
                }
                if ((arg & 1) != 0) {
                    if (auto next = h.flow.on_pubcomp(id)) {
                        ++h.acknowledged;
                        h.released(id);
                        h.sent(*next);
                    }
                }
                break;
            }
            case 4: {  // PUBREC with a failure reason
                const PacketId id = h.pick_inflight(arg);
                if (auto next = h.flow.on_pubrec_failed(id)) {
                    ++h.acknowledged;
                    h.released(id);
                    h.sent(*next);
                }
                break;
            }
            case 5:  // connection lost
                h.online = false;
                h.outstanding.clear();
                break;
            case 6:  // reconnect with a new Receive Maximum
                if (!h.online) {
                    h.online = true;
                    h.flow.set_receive_maximum(static_cast<std::uint16_t>(1 + arg % 8));
                    h.sent(h.flow.resume());
                }
                break;
            case 7: {  // a shared member leaves: its shared deliveries are taken
                if (!h.online) {
                    auto taken =
                        h.flow.take_if([](const Delivery& d) { return d.shared != nullptr; });
                    h.taken += taken.deliveries.size();
                    for (PacketId id : taken.released_ids) {
                        h.released(id);
                    }
                }
                break;
            }
            case 8: {  // a flight dropped unsent (expired, or too large for the client)
                if (h.online && !h.flow.inflight().empty()) {
                    const PacketId id = h.pick_inflight(arg);
                    h.released(id);
                    h.sent(h.flow.drop_unsent(id, (arg & 1) != 0
                                                      ? OutboundFlow::Unsendable::TooLarge
                                                      : OutboundFlow::Unsendable::Expired));
                }
                break;
            }
        }
        h.check();
    }
    return 0;
}
