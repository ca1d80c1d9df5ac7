// What a message must satisfy before a server takes it: one rule set for a PUBLISH and for
// a will, so that a will never gets past a check a PUBLISH would fail (and the other way
// round). The protocol's rules live here, with the server's capabilities they depend on;
// the broker adds its own (broker/message_admission.hpp). Pure: the callers decide what a
// refusal does to the client (a PUBLISH is acknowledged with the reason or the connection
// closed; a will refuses its CONNECT).
#pragma once

#include <optional>
#include <string_view>

#include "petrel/connection/server_capabilities.hpp"
#include "petrel/protocol/packet.hpp"

namespace petrel::connection {

// The parts of a PUBLISH or a will that the rules look at.
struct MessageFacts {
    std::string_view topic;
    protocol::Qos qos = 0;
    bool retain = false;
    const protocol::Properties& properties;
    std::string_view payload;
};

// A will is checked by the rules of a PUBLISH; a refusal refuses its CONNECT with the
// same reason code (3.1.1 reads it as its nearest return code).
MessageFacts facts_of(const protocol::Publish& publish);
MessageFacts facts_of(const protocol::Will& will);

struct MessageRefusal {
    enum class Rule {
        TopicInvalid,          // not a topic name [MQTT-3.3.2-2] [MQTT-4.7.3-1]
        QosNotSupported,       // above the Maximum QoS [MQTT-3.2.2-11] [MQTT-3.2.2-12]
        RetainNotSupported,    // Retain Available 0 [MQTT-3.2.2-13] [MQTT-3.2.2-14]
        ResponseTopicInvalid,  // a Response Topic with wildcards [MQTT-3.3.2-14]
        TooManyLevels,         // more than max_topic_levels
        BrokerTopic,           // $SYS belongs to the broker
        PayloadNotUtf8,        // Payload Format Indicator 1 on bytes that are not UTF-8
    };
    Rule rule;
    // CONNACK may carry every one; DISCONNECT those of the violations, PUBACK/PUBREC those
    // of the others. The packet's reason is protocol::connack_reason_for(code) and so on.
    protocol::ReasonCode code;
    const char* what;
    // A protocol violation ends a PUBLISH's connection; the others only refuse the message.
    bool violation() const {
        return rule == Rule::TopicInvalid || rule == Rule::QosNotSupported ||
               rule == Rule::RetainNotSupported || rule == Rule::ResponseTopicInvalid;
    }
};

// Rules on the message as the client sent it: the protocol violations, given what the
// server announced it supports.
std::optional<MessageRefusal> check_message_form(const MessageFacts& message,
                                                 const ServerCapabilities& server);

}  // namespace petrel::connection
