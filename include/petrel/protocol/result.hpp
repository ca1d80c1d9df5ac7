// Result<T>: a value or the MQTT reason code that explains why there is none.
//
// The protocol edge reports errors as values (the reason code a peer will see), not
// exceptions. Until the toolchain offers std::expected this small type fills the gap.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "petrel/protocol/reason_code.hpp"

namespace petrel::protocol {

// Why a packet was refused: the reason code sent to the peer, and a static description
// for the log (always a string literal, so it is cheap to carry around). Before the
// CONNACK the code goes out in a CONNACK, after it in a DISCONNECT: connack_reason_for()
// and disconnect_reason_for() (reason.hpp) put it into the one or the other.
struct Error {
    ReasonCode code = ReasonCode::UnspecifiedError;
    const char* what = "";
};

template <class T>
class Result {
  public:
    Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Error error) : state_(error) {}         // NOLINT(google-explicit-constructor)

    bool has_value() const { return state_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & {
        assert(has_value());
        return std::get<0>(state_);
    }
    const T& value() const& {
        assert(has_value());
        return std::get<0>(state_);
    }
    T&& value() && {
        assert(has_value());
        return std::get<0>(std::move(state_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        assert(!has_value());
        return std::get<1>(state_);
    }

  private:
    std::variant<T, Error> state_;
};

inline Error malformed(const char* what) {
    return Error{ReasonCode::MalformedPacket, what};
}
inline Error protocol_error(const char* what) {
    return Error{ReasonCode::ProtocolError, what};
}

}  // namespace petrel::protocol
