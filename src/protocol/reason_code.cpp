// Reason code names and the 3.1.1 CONNACK return code mapping.
#include "petrel/protocol/reason_code.hpp"

#include "petrel/protocol/reason.hpp"

namespace petrel::protocol {

std::string_view to_string(ReasonCode code) {
    switch (code) {
        case ReasonCode::Success:
            return "Success";
        case ReasonCode::GrantedQos1:
            return "Granted QoS 1";
        case ReasonCode::GrantedQos2:
            return "Granted QoS 2";
        case ReasonCode::DisconnectWithWillMessage:
            return "Disconnect with Will Message";
        case ReasonCode::NoMatchingSubscribers:
            return "No matching subscribers";
        case ReasonCode::NoSubscriptionExisted:
            return "No subscription existed";
        case ReasonCode::ContinueAuthentication:
            return "Continue authentication";
        case ReasonCode::ReAuthenticate:
            return "Re-authenticate";
        case ReasonCode::UnspecifiedError:
            return "Unspecified error";
        case ReasonCode::MalformedPacket:
            return "Malformed Packet";
        case ReasonCode::ProtocolError:
            return "Protocol Error";
        case ReasonCode::ImplementationSpecificError:
            return "Implementation specific error";
        case ReasonCode::UnsupportedProtocolVersion:
            return "Unsupported Protocol Version";
        case ReasonCode::ClientIdentifierNotValid:
            return "Client Identifier not valid";
        case ReasonCode::BadUserNameOrPassword:
            return "Bad User Name or Password";
        case ReasonCode::NotAuthorized:
            return "Not authorized";
        case ReasonCode::ServerUnavailable:
            return "Server unavailable";
        case ReasonCode::ServerBusy:
            return "Server busy";
        case ReasonCode::Banned:
            return "Banned";
        case ReasonCode::ServerShuttingDown:
            return "Server shutting down";
        case ReasonCode::BadAuthenticationMethod:
            return "Bad authentication method";
        case ReasonCode::KeepAliveTimeout:
            return "Keep Alive timeout";
        case ReasonCode::SessionTakenOver:
            return "Session taken over";
        case ReasonCode::TopicFilterInvalid:
            return "Topic Filter invalid";
        case ReasonCode::TopicNameInvalid:
            return "Topic Name invalid";
        case ReasonCode::PacketIdentifierInUse:
            return "Packet Identifier in use";
        case ReasonCode::PacketIdentifierNotFound:
            return "Packet Identifier not found";
        case ReasonCode::ReceiveMaximumExceeded:
            return "Receive Maximum exceeded";
        case ReasonCode::TopicAliasInvalid:
            return "Topic Alias invalid";
        case ReasonCode::PacketTooLarge:
            return "Packet too large";
        case ReasonCode::MessageRateTooHigh:
            return "Message rate too high";
        case ReasonCode::QuotaExceeded:
            return "Quota exceeded";
        case ReasonCode::AdministrativeAction:
            return "Administrative action";
        case ReasonCode::PayloadFormatInvalid:
            return "Payload format invalid";
        case ReasonCode::RetainNotSupported:
            return "Retain not supported";
        case ReasonCode::QosNotSupported:
            return "QoS not supported";
        case ReasonCode::UseAnotherServer:
            return "Use another server";
        case ReasonCode::ServerMoved:
            return "Server moved";
        case ReasonCode::SharedSubscriptionsNotSupported:
            return "Shared Subscriptions not supported";
        case ReasonCode::ConnectionRateExceeded:
            return "Connection rate exceeded";
        case ReasonCode::MaximumConnectTime:
            return "Maximum connect time";
        case ReasonCode::SubscriptionIdentifiersNotSupported:
            return "Subscription Identifiers not supported";
        case ReasonCode::WildcardSubscriptionsNotSupported:
            return "Wildcard Subscriptions not supported";
    }
    return "Unknown reason code";  // a byte off the wire that names no reason code
}

// 3.1.1 has six CONNACK return codes (3.2.2.3); every v5 refusal folds into the closest.
std::uint8_t to_v311_connack_code(ConnackReason reason) {
    switch (reason.code()) {
        case ReasonCode::Success:
            return 0x00;
        case ReasonCode::UnsupportedProtocolVersion:
            return 0x01;
        case ReasonCode::ClientIdentifierNotValid:
            return 0x02;
        case ReasonCode::BadUserNameOrPassword:
            return 0x04;
        case ReasonCode::NotAuthorized:
        case ReasonCode::Banned:
        case ReasonCode::BadAuthenticationMethod:
            return 0x05;
        default:
            return 0x03;  // Server unavailable: the refusal lies with the server
    }
}

ConnackReason from_v311_connack_code(std::uint8_t code) {
    switch (code) {
        case 0x00:
            return ReasonCode::Success;
        case 0x01:
            return ReasonCode::UnsupportedProtocolVersion;
        case 0x02:
            return ReasonCode::ClientIdentifierNotValid;
        case 0x03:
            return ReasonCode::ServerUnavailable;
        case 0x04:
            return ReasonCode::BadUserNameOrPassword;
        case 0x05:
            return ReasonCode::NotAuthorized;
        default:
            return ReasonCode::UnspecifiedError;  // 6-255 are reserved
    }
}

}  // namespace petrel::protocol
