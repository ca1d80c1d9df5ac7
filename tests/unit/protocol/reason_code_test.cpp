// Reason code names and the 3.1.1 CONNACK return code mapping (3.2.2.3).
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace petrel::protocol::testing {
namespace {

TEST(ReasonCode, Names) {
    EXPECT_EQ(to_string(ReasonCode::Success), "Success");
    EXPECT_EQ(to_string(ReasonCode::MalformedPacket), "Malformed Packet");
    EXPECT_EQ(to_string(ReasonCode::ProtocolError), "Protocol Error");
    EXPECT_EQ(to_string(ReasonCode::UnsupportedProtocolVersion), "Unsupported Protocol Version");
    EXPECT_EQ(to_string(ReasonCode::WildcardSubscriptionsNotSupported),
              "Wildcard Subscriptions not supported");
    EXPECT_EQ(to_string(static_cast<ReasonCode>(0x7F)), "Unknown reason code");
}

TEST(ReasonCode, EveryNamedCodeHasAName) {
    for (int code = 0; code < 256; ++code) {
        EXPECT_FALSE(to_string(static_cast<ReasonCode>(code)).empty());
    }
}

TEST(ReasonCode, IsFailure) {
    EXPECT_FALSE(is_failure(ReasonCode::Success));
    EXPECT_FALSE(is_failure(ReasonCode::GrantedQos2));
    EXPECT_FALSE(is_failure(ReasonCode::ReAuthenticate));
    EXPECT_TRUE(is_failure(ReasonCode::UnspecifiedError));
    EXPECT_TRUE(is_failure(ReasonCode::WildcardSubscriptionsNotSupported));
}

TEST(ReasonCode, ToV311ConnackCode) {
    EXPECT_EQ(to_v311_connack_code(ReasonCode::Success), 0);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::UnsupportedProtocolVersion), 1);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::ClientIdentifierNotValid), 2);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::ServerUnavailable), 3);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::ServerBusy), 3);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::UnspecifiedError), 3);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::QuotaExceeded), 3);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::BadUserNameOrPassword), 4);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::NotAuthorized), 5);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::BadAuthenticationMethod), 5);
    EXPECT_EQ(to_v311_connack_code(ReasonCode::Banned), 5);
}

TEST(ReasonCode, FromV311ConnackCodeInvertsToV311) {
    for (std::uint8_t code = 0; code <= 5; ++code) {
        EXPECT_EQ(to_v311_connack_code(from_v311_connack_code(code)), code);
    }
    EXPECT_EQ(from_v311_connack_code(6), ReasonCode::UnspecifiedError);
    EXPECT_EQ(from_v311_connack_code(0xFF), ReasonCode::UnspecifiedError);
}

}  // namespace
}  // namespace petrel::protocol::testing
