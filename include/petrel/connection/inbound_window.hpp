// The Receive Maximum this side announced, held against its peer (3.3.4): QoS 1
// PUBLISHes not yet answered with PUBACK and QoS 2 ones not yet released by PUBREL count
// against it; one more is a Protocol Error, 0x93 Receive Maximum exceeded [MQTT-3.3.4-7].
// The same count for both roles: a server announces it in CONNACK, a client in CONNECT.
#pragma once

#include <cstddef>
#include <cstdint>

#include "petrel/protocol/packet.hpp"
#include "petrel/session/inbound_qos2.hpp"

namespace petrel::connection {

class InboundWindow {
  public:
    // `receive_maximum` 0: nothing is held against the peer (MQTT 3.1/3.1.1 have no
    // Receive Maximum).
    explicit InboundWindow(std::uint16_t receive_maximum = 0) : receive_maximum_(receive_maximum) {}

    // Whether taking a QoS `qos` PUBLISH with packet id `id` would exceed the window. A
    // QoS 2 PUBLISH resent while its id still awaits release takes no new place: it is the
    // same message, answered with PUBREC again.
    bool exceeded_by(protocol::Qos qos, protocol::PacketId id,
                     const session::InboundQos2& awaiting_release) const {
        if (receive_maximum_ == 0 || qos == 0) {
            return false;
        }
        if (qos == 2 && awaiting_release.awaiting_release().contains(id)) {
            return false;
        }
        return unanswered_qos1_ + awaiting_release.size() >= receive_maximum_;
    }

    // A QoS 1 PUBLISH was taken; answered with its PUBACK (whatever its reason code).
    void qos1_taken() { ++unanswered_qos1_; }
    void qos1_answered() { unanswered_qos1_ -= unanswered_qos1_ > 0 ? 1 : 0; }
    std::size_t unanswered_qos1() const { return unanswered_qos1_; }

  private:
    std::uint16_t receive_maximum_ = 0;
    std::size_t unanswered_qos1_ = 0;
};

}  // namespace petrel::connection
