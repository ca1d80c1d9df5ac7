// Reason codes typed by the packets that may carry them.
//
// MQTT 5 gives each packet its own list of reason codes (table 2-6 and each packet's
// section); one byte value means different things in different packets, and a code one
// packet may carry is a protocol violation in another. `Reason<F>` is a ReasonCode that
// packets of family F may carry: a code written in the source is checked when it compiles
// (`Disconnect{ReasonCode::PacketTooLarge}` compiles, `Disconnect{ReasonCode::Banned}` does
// not), and a code known only at run time (a decoded byte, a protocol::Error) gets in only
// through `from()`, which refuses what F may not carry, or through one of the mappings
// below, whose fallback is explicit.
//
// Read access is implicit: a Reason is the ReasonCode it holds for comparisons,
// to_string() and is_failure().
//
// clang 14 crashes on `c ? Reason<F>{a} : Reason<F>{b}` (braces, in a conditional); write
// `c ? Reason<F>(a) : Reason<F>(b)`, which it compiles.
#pragma once

#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <optional>

#include "petrel/protocol/reason_code.hpp"

namespace petrel::protocol {

// The packets that carry a reason code, grouped by the list of codes they may carry.
enum class ReasonFamily : std::uint8_t {
    Connack,
    PubackPubrec,   // PUBACK and PUBREC have one list (3.4.2.1, 3.5.2.1)
    PubrelPubcomp,  // so do PUBREL and PUBCOMP (3.6.2.1, 3.7.2.1)
    Suback,
    Unsuback,
    Disconnect,
    Auth,
};

// Whether packets of `family` may carry `code`: the list in each packet's section
// (3.2.2.2, 3.4.2.1 ... 3.15.2.1). A sender MUST use one of them (e.g. [MQTT-3.4.2-1]).
// Table 2-6 also names DISCONNECT for 0x8C Bad authentication method, which the
// DISCONNECT list (3.14.2.1) leaves out; the packet's own list is followed.
constexpr bool reason_allowed(ReasonFamily family, ReasonCode code) {
    const auto byte = static_cast<std::uint8_t>(code);
    const auto one_of = [byte](std::initializer_list<std::uint8_t> codes) {
        for (const std::uint8_t c : codes) {
            if (c == byte) {
                return true;
            }
        }
        return false;
    };
    switch (family) {
        case ReasonFamily::Connack:
            return one_of({0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                           0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F});
        case ReasonFamily::PubackPubrec:
            return one_of({0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99});
        case ReasonFamily::PubrelPubcomp:
            return one_of({0x00, 0x92});
        case ReasonFamily::Suback:
            return one_of({0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2});
        case ReasonFamily::Unsuback:
            return one_of({0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91});
        case ReasonFamily::Disconnect:
            return one_of({0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                           0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                           0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2});
        case ReasonFamily::Auth:
            return one_of({0x00, 0x18, 0x19});
    }
    return false;
}

namespace detail {
// Never defined: a Reason written with a code its packet may not carry calls it while
// compiling, which is not a constant expression, so the compiler names it in its error.
void reason_code_not_allowed_in_this_packet();
}  // namespace detail

template <ReasonFamily F>
class Reason {
  public:
    static constexpr ReasonFamily family = F;

    // 0x00, which every family has (Success, Normal disconnection, Granted QoS 0).
    constexpr Reason() = default;

    // A code written in the source: compiles only when F may carry it. consteval, so a
    // code known only at run time cannot come in this way; it goes through from().
    consteval Reason(ReasonCode code) : code_(code) {  // NOLINT(google-explicit-constructor)
        if (!reason_allowed(F, code)) {
            detail::reason_code_not_allowed_in_this_packet();
        }
    }

    // A code known only at run time: empty when F may not carry it.
    static constexpr std::optional<Reason> from(ReasonCode code) {
        if (!reason_allowed(F, code)) {
            return std::nullopt;
        }
        return Reason(code, Checked{});
    }
    // A reason code byte off the wire.
    static constexpr std::optional<Reason> from_byte(std::uint8_t byte) {
        return from(static_cast<ReasonCode>(byte));
    }

    constexpr ReasonCode code() const { return code_; }
    constexpr operator ReasonCode() const { return code_; }  // NOLINT(google-explicit-constructor)
    constexpr std::uint8_t byte() const { return static_cast<std::uint8_t>(code_); }
    constexpr bool is_failure() const { return byte() >= 0x80; }

    friend constexpr bool operator==(const Reason&, const Reason&) = default;
    // Without it `reason == ReasonCode::X` would be ambiguous between the one above and
    // the built-in comparison of two ReasonCodes.
    friend constexpr bool operator==(const Reason& reason, ReasonCode code) {
        return reason.code_ == code;
    }

  private:
    struct Checked {};
    constexpr Reason(ReasonCode code, Checked) : code_(code) {}

    ReasonCode code_ = ReasonCode::Success;
};

using ConnackReason = Reason<ReasonFamily::Connack>;
using PubackReason = Reason<ReasonFamily::PubackPubrec>;
using PubrecReason = PubackReason;
using PubrelReason = Reason<ReasonFamily::PubrelPubcomp>;
using PubcompReason = PubrelReason;
using SubackReason = Reason<ReasonFamily::Suback>;
using UnsubackReason = Reason<ReasonFamily::Unsuback>;
using DisconnectReason = Reason<ReasonFamily::Disconnect>;
using AuthReason = Reason<ReasonFamily::Auth>;

// A reason decided before it was known which packet would carry it (a protocol::Error,
// which refuses a CONNECT before the CONNACK and closes a connection after it; a refused
// message) put into a packet of family F: the code itself when F may carry it, otherwise
// 0x80 Unspecified error, the code for "none of the other Reason Codes apply", which
// every family that has failures has but PUBREL/PUBCOMP and AUTH.
template <ReasonFamily F>
constexpr Reason<F> reason_or_unspecified(ReasonCode code) {
    static_assert(reason_allowed(F, ReasonCode::UnspecifiedError));
    return Reason<F>::from(code).value_or(Reason<F>(ReasonCode::UnspecifiedError));
}
constexpr ConnackReason connack_reason_for(ReasonCode code) {
    return reason_or_unspecified<ReasonFamily::Connack>(code);
}
constexpr PubackReason puback_reason_for(ReasonCode code) {
    return reason_or_unspecified<ReasonFamily::PubackPubrec>(code);
}
constexpr DisconnectReason disconnect_reason_for(ReasonCode code) {
    return reason_or_unspecified<ReasonFamily::Disconnect>(code);
}

// SUBACK's Granted QoS 0, 1 or 2 (3.9.3) for `qos`, which is at most 2.
constexpr SubackReason granted_qos(std::uint8_t qos) {
    assert(qos <= 2);
    switch (qos) {
        case 0:
            return SubackReason(ReasonCode::Success);
        case 1:
            return SubackReason(ReasonCode::GrantedQos1);
        default:
            return SubackReason(ReasonCode::GrantedQos2);
    }
}

// MQTT 3.1.1 CONNACK return code (3.2.2.3) for a v5 CONNACK reason code.
std::uint8_t to_v311_connack_code(ConnackReason reason);
// The inverse, for decoding a 3.1.1 CONNACK (6-255 are reserved: Unspecified error).
ConnackReason from_v311_connack_code(std::uint8_t code);

}  // namespace petrel::protocol
