// Incoming QoS 2 state for one session: packet ids whose PUBLISH was received (and
// delivered onward) but whose PUBREL has not arrived yet.
//
// This is what makes QoS 2 exactly once: a PUBLISH that repeats an id still held here is
// acknowledged again with PUBREC but not delivered a second time [MQTT-4.3.3-10].
#pragma once

#include <cstddef>
#include <unordered_set>

#include "petrel/protocol/packet.hpp"

namespace petrel::session {

class InboundQos2 {
  public:
    // True when the id is new: deliver the message. False: a duplicate, only PUBREC again.
    bool on_publish(protocol::PacketId id) { return awaiting_release_.insert(id).second; }
    // True when the id was awaiting release (PUBCOMP Success), false otherwise (v5:
    // PUBCOMP 0x92 Packet Identifier not found).
    bool on_pubrel(protocol::PacketId id) { return awaiting_release_.erase(id) > 0; }

    std::size_t size() const { return awaiting_release_.size(); }
    const std::unordered_set<protocol::PacketId>& awaiting_release() const {
        return awaiting_release_;
    }

  private:
    std::unordered_set<protocol::PacketId> awaiting_release_;
};

}  // namespace petrel::session
