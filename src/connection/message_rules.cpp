#include "petrel/connection/message_rules.hpp"

#include "petrel/topic/topic_name.hpp"

namespace petrel::connection {

using protocol::PropertyId;
using protocol::ReasonCode;
using Rule = MessageRefusal::Rule;

namespace {

std::string_view bytes_of(const protocol::Payload& payload) {
    return payload ? std::string_view(*payload) : std::string_view();
}

}  // namespace

MessageFacts facts_of(const protocol::Publish& publish) {
    return MessageFacts{publish.topic, publish.qos, publish.retain, publish.properties,
                        bytes_of(publish.payload)};
}

MessageFacts facts_of(const protocol::Will& will) {
    return MessageFacts{will.topic, will.qos, will.retain, will.properties, bytes_of(will.payload)};
}

std::optional<MessageRefusal> check_message_form(const MessageFacts& message,
                                                 const ServerCapabilities& server) {
    if (!topic::is_valid_topic_name(message.topic)) {
        return MessageRefusal{Rule::TopicInvalid, ReasonCode::TopicNameInvalid,
                              "invalid topic name"};
    }
    if (message.qos > server.maximum_qos) {
        return MessageRefusal{Rule::QosNotSupported, ReasonCode::QosNotSupported,
                              "QoS above max_qos"};
    }
    if (message.retain && !server.retain_available) {
        return MessageRefusal{Rule::RetainNotSupported, ReasonCode::RetainNotSupported,
                              "retained, but retain is unavailable"};
    }
    if (const auto response_topic = message.properties.text(PropertyId::ResponseTopic);
        response_topic && !topic::is_valid_topic_name(*response_topic)) {
        return MessageRefusal{Rule::ResponseTopicInvalid, ReasonCode::ProtocolError,
                              "response topic is not a topic name"};
    }
    return std::nullopt;
}

}  // namespace petrel::connection
