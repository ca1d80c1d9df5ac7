// Reason codes typed by packet family (reason.hpp): each family takes exactly the codes its
// packets may carry, in code (at compile time) and off the wire (at run time).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

// The MQTT 5.0 lists, written out again here from the spec rather than taken from
// reason.hpp: CONNACK 3.2.2.2, PUBACK 3.4.2.1, PUBREC 3.5.2.1, PUBREL 3.6.2.1, PUBCOMP
// 3.7.2.1, SUBACK 3.9.3, UNSUBACK 3.11.3, DISCONNECT 3.14.2.1, AUTH 3.15.2.1.
struct FamilyList {
    ReasonFamily family;
    const char* name;
    std::vector<int> codes;
};

const std::vector<FamilyList>& spec_lists() {
    static const std::vector<FamilyList> lists = {
        {ReasonFamily::Connack, "CONNACK", {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                            0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                            0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F}},
        {ReasonFamily::PubackPubrec,
         "PUBACK/PUBREC",
         {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99}},
        {ReasonFamily::PubrelPubcomp, "PUBREL/PUBCOMP", {0x00, 0x92}},
        {ReasonFamily::Suback,
         "SUBACK",
         {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2}},
        {ReasonFamily::Unsuback, "UNSUBACK", {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91}},
        {ReasonFamily::Disconnect,
         "DISCONNECT",
         {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
          0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2}},
        {ReasonFamily::Auth, "AUTH", {0x00, 0x18, 0x19}},
    };
    return lists;
}

const FamilyList& spec_list(ReasonFamily family) {
    for (const FamilyList& list : spec_lists()) {
        if (list.family == family) {
            return list;
        }
    }
    ADD_FAILURE() << "no list for a family";
    return spec_lists().front();
}

bool in_spec(ReasonFamily family, int code) {
    const std::vector<int>& codes = spec_list(family).codes;
    return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::optional<ReasonCode> typed_from_byte(ReasonFamily family, std::uint8_t byte) {
    const auto code = [](const auto& reason) -> std::optional<ReasonCode> {
        if (!reason) {
            return std::nullopt;
        }
        return reason->code();
    };
    switch (family) {
        case ReasonFamily::Connack:
            return code(ConnackReason::from_byte(byte));
        case ReasonFamily::PubackPubrec:
            return code(PubackReason::from_byte(byte));
        case ReasonFamily::PubrelPubcomp:
            return code(PubrelReason::from_byte(byte));
        case ReasonFamily::Suback:
            return code(SubackReason::from_byte(byte));
        case ReasonFamily::Unsuback:
            return code(UnsubackReason::from_byte(byte));
        case ReasonFamily::Disconnect:
            return code(DisconnectReason::from_byte(byte));
        case ReasonFamily::Auth:
            return code(AuthReason::from_byte(byte));
    }
    return std::nullopt;
}

// --- compile time ---

// Whether `Reason<F>{code}` compiles. A consteval call that is not a constant expression
// is not a substitution failure in an unevaluated operand (it is not evaluated there), so
// the check puts the construction in a template argument, which is always evaluated.
template <ReasonFamily F, ReasonCode kCode>
concept Carries = requires {
    typename std::integral_constant<ReasonCode, Reason<F>{kCode}.code()>;
};

static_assert(Carries<ReasonFamily::Disconnect, ReasonCode::PacketTooLarge>);
static_assert(Carries<ReasonFamily::Connack, ReasonCode::UnsupportedProtocolVersion>);
// 0x84 is CONNACK's alone: `Disconnect{ReasonCode::UnsupportedProtocolVersion}` does not
// compile, nor any other packet's reason with it.
static_assert(!Carries<ReasonFamily::Disconnect, ReasonCode::UnsupportedProtocolVersion>);
static_assert(!Carries<ReasonFamily::PubackPubrec, ReasonCode::UnsupportedProtocolVersion>);
static_assert(!Carries<ReasonFamily::Suback, ReasonCode::UnsupportedProtocolVersion>);
static_assert(!Carries<ReasonFamily::Auth, ReasonCode::UnsupportedProtocolVersion>);
// The other way round: 0x8E Session taken over is DISCONNECT's alone.
static_assert(Carries<ReasonFamily::Disconnect, ReasonCode::SessionTakenOver>);
static_assert(!Carries<ReasonFamily::Connack, ReasonCode::SessionTakenOver>);
// PUBACK/PUBREC and PUBREL/PUBCOMP share nothing but Success.
static_assert(Carries<ReasonFamily::PubackPubrec, ReasonCode::NoMatchingSubscribers>);
static_assert(!Carries<ReasonFamily::PubrelPubcomp, ReasonCode::NoMatchingSubscribers>);
static_assert(!Carries<ReasonFamily::PubackPubrec, ReasonCode::PacketIdentifierNotFound>);
// Table 2-6 names DISCONNECT for 0x8C too; its own list (3.14.2.1) does not.
static_assert(!Carries<ReasonFamily::Disconnect, ReasonCode::BadAuthenticationMethod>);
// The same list behind the check, usable in constant expressions.
static_assert(!reason_allowed(ReasonFamily::Disconnect, ReasonCode::UnsupportedProtocolVersion));
static_assert(reason_allowed(ReasonFamily::Auth, ReasonCode::ReAuthenticate));

// A packet takes a literal of its family as before; a run-time ReasonCode is not
// convertible without a check (only through from() or a mapping).
static_assert(std::is_same_v<decltype(Disconnect{}.reason), DisconnectReason>);
static_assert(std::is_same_v<decltype(Puback{}.reason), decltype(Pubrec{}.reason)>);
static_assert(std::is_same_v<decltype(Pubrel{}.reason), decltype(Pubcomp{}.reason)>);
static_assert(!std::is_convertible_v<ConnackReason, DisconnectReason>);
static_assert(!std::is_convertible_v<PubackReason, PubrelReason>);
static_assert(DisconnectReason{ReasonCode::PacketTooLarge} == ReasonCode::PacketTooLarge);
static_assert(sizeof(DisconnectReason) == 1);

// --- run time ---

TEST(ReasonFamily, EachFamilyTakesExactlyItsListOfCodes) {
    for (const FamilyList& list : spec_lists()) {
        for (int byte = 0; byte < 256; ++byte) {
            const auto code = static_cast<ReasonCode>(byte);
            const bool expected = in_spec(list.family, byte);
            EXPECT_EQ(reason_allowed(list.family, code), expected) << list.name << " " << byte;
            const auto typed = typed_from_byte(list.family, static_cast<std::uint8_t>(byte));
            EXPECT_EQ(typed.has_value(), expected) << list.name << " " << byte;
            if (typed) {
                EXPECT_EQ(*typed, code);
            }
        }
    }
}

TEST(ReasonFamily, DefaultIsSuccessWhichEveryFamilyHas) {
    for (const FamilyList& list : spec_lists()) {
        EXPECT_TRUE(in_spec(list.family, 0x00)) << list.name;
    }
    EXPECT_EQ(ConnackReason{}, ReasonCode::Success);
    EXPECT_EQ(Disconnect{}.reason, ReasonCode::Success);
    EXPECT_EQ(Pubcomp{}.reason, ReasonCode::Success);
}

TEST(ReasonFamily, ReadsAsItsCode) {
    const DisconnectReason reason = ReasonCode::KeepAliveTimeout;
    EXPECT_EQ(reason.code(), ReasonCode::KeepAliveTimeout);
    EXPECT_EQ(reason.byte(), 0x8D);
    EXPECT_TRUE(reason.is_failure());
    EXPECT_TRUE(is_failure(reason));
    EXPECT_EQ(to_string(reason), "Keep Alive timeout");
    EXPECT_TRUE(ReasonCode::KeepAliveTimeout == reason);
    EXPECT_TRUE(reason != ReasonCode::Success);
    EXPECT_FALSE(SubackReason(ReasonCode::GrantedQos2).is_failure());
}

TEST(ReasonFamily, MappingsKeepWhatTheFamilyCarriesAndSayUnspecifiedOtherwise) {
    for (int byte = 0; byte < 256; ++byte) {
        const auto code = static_cast<ReasonCode>(byte);
        const auto expected = [&](ReasonFamily family) {
            return in_spec(family, byte) ? code : ReasonCode::UnspecifiedError;
        };
        EXPECT_EQ(connack_reason_for(code), expected(ReasonFamily::Connack)) << byte;
        EXPECT_EQ(disconnect_reason_for(code), expected(ReasonFamily::Disconnect)) << byte;
        EXPECT_EQ(puback_reason_for(code), expected(ReasonFamily::PubackPubrec)) << byte;
    }
    // The errors that reach both packets: a decoder's error before and after the CONNACK.
    EXPECT_EQ(connack_reason_for(ReasonCode::UnsupportedProtocolVersion),
              ReasonCode::UnsupportedProtocolVersion);
    EXPECT_EQ(disconnect_reason_for(ReasonCode::TopicAliasInvalid), ReasonCode::TopicAliasInvalid);
    EXPECT_EQ(connack_reason_for(ReasonCode::TopicAliasInvalid), ReasonCode::UnspecifiedError);
    EXPECT_EQ(disconnect_reason_for(ReasonCode::ClientIdentifierNotValid),
              ReasonCode::UnspecifiedError);
}

TEST(ReasonFamily, GrantedQos) {
    EXPECT_EQ(granted_qos(0), ReasonCode::Success);
    EXPECT_EQ(granted_qos(1), ReasonCode::GrantedQos1);
    EXPECT_EQ(granted_qos(2), ReasonCode::GrantedQos2);
}

// --- the decoder and the encoder ---

// A v5 packet of each kind that carries `reason` and nothing else that could fail.
struct WirePacket {
    const char* name;
    ReasonFamily family;
    Bytes (*with)(std::uint8_t reason);
};

const std::array<WirePacket, 9> kWirePackets = {{
    {"CONNACK", ReasonFamily::Connack,
     [](std::uint8_t r) {
         return bytes({0x20, 0x03, 0x00, r, 0x00});
     }},
    {"PUBACK", ReasonFamily::PubackPubrec,
     [](std::uint8_t r) {
         return bytes({0x40, 0x03, 0x00, 0x07, r});
     }},
    {"PUBREC", ReasonFamily::PubackPubrec,
     [](std::uint8_t r) {
         return bytes({0x50, 0x03, 0x00, 0x07, r});
     }},
    {"PUBREL", ReasonFamily::PubrelPubcomp,
     [](std::uint8_t r) {
         return bytes({0x62, 0x03, 0x00, 0x07, r});
     }},
    {"PUBCOMP", ReasonFamily::PubrelPubcomp,
     [](std::uint8_t r) {
         return bytes({0x70, 0x03, 0x00, 0x07, r});
     }},
    {"SUBACK", ReasonFamily::Suback,
     [](std::uint8_t r) {
         return bytes({0x90, 0x04, 0x00, 0x07, 0x00, r});
     }},
    {"UNSUBACK", ReasonFamily::Unsuback,
     [](std::uint8_t r) {
         return bytes({0xB0, 0x04, 0x00, 0x07, 0x00, r});
     }},
    {"DISCONNECT", ReasonFamily::Disconnect,
     [](std::uint8_t r) {
         return bytes({0xE0, 0x01, r});
     }},
    {"AUTH", ReasonFamily::Auth,
     [](std::uint8_t r) {
         return bytes({0xF0, 0x02, r, 0x00});
     }},
}};

// The reason codes of a decoded packet (one, or SUBACK's and UNSUBACK's list).
std::vector<ReasonCode> reasons_of(const Packet& packet) {
    return std::visit(
        [](const auto& p) -> std::vector<ReasonCode> {
            if constexpr (requires { p.reasons; }) {
                return std::vector<ReasonCode>(p.reasons.begin(), p.reasons.end());
            } else if constexpr (requires { p.reason; }) {
                return {p.reason.code()};
            } else {
                return {};
            }
        },
        packet);
}

TEST(ReasonFamily, DecoderRefusesAReasonByteThePacketMayNotCarry) {
    for (const WirePacket& wire : kWirePackets) {
        for (int byte = 0; byte < 256; ++byte) {
            const Bytes data = wire.with(static_cast<std::uint8_t>(byte));
            const auto decoded = decode_bytes(data, kV5);
            if (!in_spec(wire.family, byte)) {
                // As before the types: a sender MUST use one of the packet's codes.
                EXPECT_EQ(error_of(decoded), ReasonCode::ProtocolError) << wire.name << " " << byte;
                continue;
            }
            ASSERT_TRUE(decoded) << wire.name << " " << byte << ": " << decoded.error().what;
            EXPECT_EQ(reasons_of(*decoded), std::vector{static_cast<ReasonCode>(byte)})
                << wire.name << " " << byte;
        }
    }
}

TEST(ReasonFamily, EveryAllowedCodeRoundTrips) {
    for (const WirePacket& wire : kWirePackets) {
        for (const int byte : spec_list(wire.family).codes) {
            const Bytes data = wire.with(static_cast<std::uint8_t>(byte));
            const auto decoded = decode_bytes(data, kV5);
            ASSERT_TRUE(decoded) << wire.name << " " << byte;
            const Bytes encoded = encode_bytes(*decoded, kV5);
            // Success without properties may be sent in a shorter form (3.4.2.1, 3.14.2.1,
            // 3.15.2.1); CONNACK, SUBACK and UNSUBACK have none.
            if (byte != 0x00 || wire.family == ReasonFamily::Connack ||
                wire.family == ReasonFamily::Suback || wire.family == ReasonFamily::Unsuback) {
                EXPECT_EQ(encoded, data) << wire.name << " " << byte;
            }
            const auto again = decode_bytes(encoded, kV5);
            ASSERT_TRUE(again) << wire.name << " " << byte;
            EXPECT_EQ(reasons_of(*again), reasons_of(*decoded)) << wire.name << " " << byte;
        }
    }
}

TEST(ReasonFamily, V311ConnackAndSubackStillTranslate) {
    Connack refused;
    refused.reason = ReasonCode::Banned;  // v5 only: 3.1.1 reads it as 5, not authorized
    EXPECT_EQ(encode_bytes(refused, kV311), bytes({0x20, 0x02, 0x00, 0x05}));
    EXPECT_EQ(decode_as<Connack>(bytes({0x20, 0x02, 0x00, 0x05}), kV311).reason,
              ReasonCode::NotAuthorized);
    Suback suback;
    suback.packet_id = 1;
    suback.reasons = {granted_qos(1), ReasonCode::QuotaExceeded};
    EXPECT_EQ(encode_bytes(suback, kV311), bytes({0x90, 0x04, 0x00, 0x01, 0x01, 0x80}));
}

}  // namespace
}  // namespace petrel::protocol::testing
