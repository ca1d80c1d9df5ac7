#include "message_admission.hpp"

#include "petrel/connection/subscribe_rules.hpp"
#include "petrel/protocol/codec.hpp"
#include "petrel/topic/topic_name.hpp"
#include "server_capabilities.hpp"

namespace petrel::broker {

using protocol::PropertyId;
using protocol::ReasonCode;
using Rule = MessageRefusal::Rule;

bool exceeds_topic_levels(std::string_view topic, const Config& config) {
    return connection::exceeds_topic_levels(topic, config.max_topic_levels);
}

std::optional<MessageRefusal> check_message_form(const MessageFacts& message,
                                                 const Config& config) {
    return connection::check_message_form(message, server_capabilities(config));
}

std::optional<MessageRefusal> check_message_acceptance(const MessageFacts& message,
                                                       const Config& config) {
    // Deep topics cost the trie a node per level on subscribe and every publish a walk
    // over every level. 0x90: "not malformed, but not accepted by this Server" (3.2.2.2).
    if (exceeds_topic_levels(message.topic, config)) {
        return MessageRefusal{Rule::TooManyLevels, ReasonCode::TopicNameInvalid,
                              "topic has more levels than max_topic_levels"};
    }
    if (topic::is_broker_topic(message.topic)) {
        return MessageRefusal{Rule::BrokerTopic, ReasonCode::NotAuthorized,
                              "$SYS topics are the broker's"};
    }
    // 3.3.2.3.2: the payload says it is UTF-8 and is not: refused, not forwarded.
    if (message.properties.number(PropertyId::PayloadFormatIndicator).value_or(0) == 1 &&
        !protocol::is_valid_utf8(message.payload)) {
        return MessageRefusal{Rule::PayloadNotUtf8, ReasonCode::PayloadFormatInvalid,
                              "payload format indicator 1 but the payload is not UTF-8"};
    }
    return std::nullopt;
}

}  // namespace petrel::broker
