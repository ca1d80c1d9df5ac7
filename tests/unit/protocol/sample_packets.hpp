// A valid example of every packet type for a protocol version, filled with the fields that
// version can carry. Shared by the round-trip unit tests and the fuzz corpus generator.
#pragma once

#include <vector>

#include "petrel/protocol/packet.hpp"

namespace petrel::protocol::testing {

inline std::vector<Packet> sample_packets(ProtocolVersion version) {
    const bool v5 = version == ProtocolVersion::V5;
    std::vector<Packet> out;

    Connect minimal;
    minimal.version = version;
    minimal.client_id = "c1";
    minimal.keep_alive = 60;
    out.emplace_back(minimal);

    Connect full;
    full.version = version;
    full.clean_start = false;
    full.keep_alive = 0xFFFF;
    full.client_id = "client-\xC3\xA9";
    full.username = "user";
    full.password = std::string("p\0w", 3);
    Will will;
    will.topic = "will/topic";
    will.payload = make_payload("offline");
    will.qos = 2;
    will.retain = true;
    if (v5) {
        full.properties.add_number(PropertyId::SessionExpiryInterval, 3600);
        full.properties.add_number(PropertyId::ReceiveMaximum, 100);
        full.properties.add_number(PropertyId::MaximumPacketSize, 1 << 20);
        full.properties.add_number(PropertyId::TopicAliasMaximum, 16);
        full.properties.add_number(PropertyId::RequestResponseInformation, 1);
        full.properties.add_number(PropertyId::RequestProblemInformation, 0);
        full.properties.add_text(PropertyId::AuthenticationMethod, "PLAIN");
        full.properties.add_text(PropertyId::AuthenticationData, std::string("\0\1", 2));
        full.properties.add_user_property("a", "1");
        full.properties.add_user_property("a", "2");
        will.properties.add_number(PropertyId::WillDelayInterval, 10);
        will.properties.add_number(PropertyId::PayloadFormatIndicator, 1);
        will.properties.add_number(PropertyId::MessageExpiryInterval, 60);
        will.properties.add_text(PropertyId::ContentType, "text/plain");
        will.properties.add_text(PropertyId::ResponseTopic, "reply/here");
        will.properties.add_text(PropertyId::CorrelationData, "corr");
        will.properties.add_user_property("w", "x");
    }
    full.will = will;
    out.emplace_back(full);

    Connack connack;
    connack.session_present = version != ProtocolVersion::V31;  // 3.1 has no Session Present
    out.emplace_back(connack);
    Connack refused;
    refused.reason =
        v5 ? ConnackReason(ReasonCode::QuotaExceeded) : ConnackReason(ReasonCode::NotAuthorized);
    if (v5) {
        refused.properties.add_text(PropertyId::ReasonString, "too many");
        Connack accepted;
        accepted.properties.add_number(PropertyId::SessionExpiryInterval, 0);
        accepted.properties.add_number(PropertyId::ReceiveMaximum, 65535);
        accepted.properties.add_number(PropertyId::MaximumQos, 1);
        accepted.properties.add_number(PropertyId::RetainAvailable, 0);
        accepted.properties.add_number(PropertyId::MaximumPacketSize, 268435460);
        accepted.properties.add_text(PropertyId::AssignedClientIdentifier, "auto-1");
        accepted.properties.add_number(PropertyId::TopicAliasMaximum, 0);
        accepted.properties.add_number(PropertyId::WildcardSubscriptionAvailable, 1);
        accepted.properties.add_number(PropertyId::SubscriptionIdentifierAvailable, 1);
        accepted.properties.add_number(PropertyId::SharedSubscriptionAvailable, 1);
        accepted.properties.add_number(PropertyId::ServerKeepAlive, 30);
        accepted.properties.add_text(PropertyId::ResponseInformation, "resp/");
        accepted.properties.add_text(PropertyId::ServerReference, "other:1883");
        out.emplace_back(accepted);
    }
    out.emplace_back(refused);

    Publish qos0;
    qos0.topic = "a/b";
    qos0.payload = make_payload("hello");
    out.emplace_back(qos0);
    Publish qos2;
    qos2.topic = "sensors/\xE2\x82\xAC";
    qos2.qos = 2;
    qos2.dup = true;
    qos2.retain = true;
    qos2.packet_id = 0xFFFF;
    qos2.payload = make_payload(std::string("\0\xFF\x80", 3));
    if (v5) {
        qos2.properties.add_number(PropertyId::PayloadFormatIndicator, 0);
        qos2.properties.add_number(PropertyId::MessageExpiryInterval, 0xFFFFFFFF);
        qos2.properties.add_number(PropertyId::TopicAlias, 3);
        qos2.properties.add_number(PropertyId::SubscriptionIdentifier, 268435455);
        qos2.properties.add_number(PropertyId::SubscriptionIdentifier, 1);
        qos2.properties.add_user_property("k", "");
        Publish aliased;
        aliased.qos = 1;
        aliased.packet_id = 1;
        aliased.properties.add_number(PropertyId::TopicAlias, 3);
        out.emplace_back(aliased);
    }
    out.emplace_back(qos2);

    Puback puback;
    puback.packet_id = 1;
    out.emplace_back(puback);
    Pubrec pubrec;
    pubrec.packet_id = 2;
    Pubrel pubrel;
    pubrel.packet_id = 3;
    Pubcomp pubcomp;
    pubcomp.packet_id = 4;
    if (v5) {
        pubrec.reason = ReasonCode::NoMatchingSubscribers;
        pubrel.reason = ReasonCode::PacketIdentifierNotFound;
        pubrel.properties.add_text(PropertyId::ReasonString, "unknown id");
        pubcomp.properties.add_user_property("u", "v");
    }
    out.emplace_back(pubrec);
    out.emplace_back(pubrel);
    out.emplace_back(pubcomp);

    Subscribe subscribe;
    subscribe.packet_id = 10;
    subscribe.subscriptions.push_back({"a/+/c", SubscribeOptions{.qos = 1}});
    SubscribeOptions rich{.qos = 2};
    if (v5) {
        rich = SubscribeOptions{.qos = 2,
                                .no_local = true,
                                .retain_as_published = true,
                                .retain_handling = RetainHandling::DoNotSend};
        subscribe.properties.add_number(PropertyId::SubscriptionIdentifier, 42);
    }
    subscribe.subscriptions.push_back({"#", rich});
    out.emplace_back(subscribe);

    Suback suback;
    suback.packet_id = 10;
    suback.reasons = {ReasonCode::Success, ReasonCode::GrantedQos1, ReasonCode::GrantedQos2,
                      v5 ? SubackReason(ReasonCode::TopicFilterInvalid)
                         : SubackReason(ReasonCode::UnspecifiedError)};
    out.emplace_back(suback);

    Unsubscribe unsubscribe;
    unsubscribe.packet_id = 11;
    unsubscribe.filters = {"a/+/c", "#"};
    if (v5) {
        unsubscribe.properties.add_user_property("why", "done");
    }
    out.emplace_back(unsubscribe);

    Unsuback unsuback;
    unsuback.packet_id = 11;
    if (v5) {
        unsuback.reasons = {ReasonCode::Success, ReasonCode::NoSubscriptionExisted};
    }
    out.emplace_back(unsuback);

    out.emplace_back(Pingreq{});
    out.emplace_back(Pingresp{});
    out.emplace_back(Disconnect{});

    if (v5) {
        Disconnect with_will;
        with_will.reason = ReasonCode::DisconnectWithWillMessage;
        out.emplace_back(with_will);
        Disconnect moved;
        moved.reason = ReasonCode::UseAnotherServer;
        moved.properties.add_text(PropertyId::ServerReference, "backup");
        moved.properties.add_number(PropertyId::SessionExpiryInterval, 5);
        out.emplace_back(moved);
        out.emplace_back(Auth{});
        Auth auth;
        auth.reason = ReasonCode::ContinueAuthentication;
        auth.properties.add_text(PropertyId::AuthenticationMethod, "SCRAM-SHA-1");
        auth.properties.add_text(PropertyId::AuthenticationData, "nonce");
        out.emplace_back(auth);
    }
    return out;
}

}  // namespace petrel::protocol::testing
