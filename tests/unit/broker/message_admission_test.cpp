// The one rule set for a PUBLISH and a will: each rule refuses both alike, with the same
// reason code, and says whether it is a protocol violation.
#include "message_admission.hpp"

#include <gtest/gtest.h>

#include <string>

namespace petrel::broker {
namespace {

using protocol::PropertyId;
using protocol::ReasonCode;
using Rule = MessageRefusal::Rule;

struct Case {
    const char* name;
    std::string topic;
    protocol::Qos qos;
    bool retain;
    protocol::Properties properties;
    std::string payload;
    std::optional<Rule> form;        // from check_message_form
    std::optional<Rule> acceptance;  // from check_message_acceptance
};

Config limited() {
    Config config;
    config.maximum_qos = 1;
    config.retain_available = false;
    config.max_topic_levels = 3;
    return config;
}

protocol::Properties with_text(PropertyId id, std::string value) {
    protocol::Properties properties;
    properties.add_text(id, std::move(value));
    return properties;
}

protocol::Properties with_number(PropertyId id, std::uint32_t value) {
    protocol::Properties properties;
    properties.add_number(id, value);
    return properties;
}

std::vector<Case> cases() {
    return {
        {"fine", "a/b", 1, false, {}, "x", std::nullopt, std::nullopt},
        {"wildcard topic", "a/+", 0, false, {}, "x", Rule::TopicInvalid, std::nullopt},
        {"empty topic", "", 0, false, {}, "x", Rule::TopicInvalid, std::nullopt},
        {"QoS above max_qos", "a", 2, false, {}, "x", Rule::QosNotSupported, std::nullopt},
        {"retain unavailable", "a", 0, true, {}, "x", Rule::RetainNotSupported, std::nullopt},
        {"response topic with a wildcard", "a", 0, false,
         with_text(PropertyId::ResponseTopic, "r/#"), "x", Rule::ResponseTopicInvalid,
         std::nullopt},
        {"too many levels", "a/b/c/d", 0, false, {}, "x", std::nullopt, Rule::TooManyLevels},
        {"$SYS", "$SYS/broker/uptime", 0, false, {}, "x", std::nullopt, Rule::BrokerTopic},
        {"payload not UTF-8", "a", 0, false, with_number(PropertyId::PayloadFormatIndicator, 1),
         "\xff", std::nullopt, Rule::PayloadNotUtf8},
        {"binary payload", "a", 0, false, with_number(PropertyId::PayloadFormatIndicator, 0),
         "\xff", std::nullopt, std::nullopt},
    };
}

std::optional<Rule> rule_of(const std::optional<MessageRefusal>& refusal) {
    return refusal ? std::optional(refusal->rule) : std::nullopt;
}

TEST(MessageAdmission, PublishAndWillMeetTheSameRules) {
    const Config config = limited();
    for (const Case& c : cases()) {
        SCOPED_TRACE(c.name);
        protocol::Publish publish;
        publish.topic = c.topic;
        publish.qos = c.qos;
        publish.retain = c.retain;
        publish.properties = c.properties;
        publish.payload = protocol::make_payload(c.payload);
        protocol::Will will{c.topic, protocol::make_payload(c.payload), c.qos, c.retain,
                            c.properties};
        for (const MessageFacts& facts : {facts_of(publish), facts_of(will)}) {
            const auto form = check_message_form(facts, config);
            EXPECT_EQ(rule_of(form), c.form);
            if (form) {
                EXPECT_TRUE(form->violation());
            }
            const auto acceptance = check_message_acceptance(facts, config);
            EXPECT_EQ(rule_of(acceptance), c.acceptance);
            if (acceptance) {
                EXPECT_FALSE(acceptance->violation());
            }
        }
    }
}

TEST(MessageAdmission, ReasonCodesAreThoseEveryAcknowledgementCanCarry) {
    const Config config = limited();
    const protocol::Properties none;
    EXPECT_EQ(check_message_form({"a", 2, false, none, ""}, config)->code,
              ReasonCode::QosNotSupported);
    EXPECT_EQ(check_message_acceptance({"$SYS", 0, false, none, ""}, config)->code,
              ReasonCode::NotAuthorized);
    EXPECT_EQ(check_message_acceptance({"a/b/c/d", 0, false, none, ""}, config)->code,
              ReasonCode::TopicNameInvalid);
    EXPECT_FALSE(check_message_acceptance({"$SYSTEM/x", 0, false, none, ""}, config));
    Config unlimited = limited();
    unlimited.max_topic_levels = 0;
    EXPECT_FALSE(check_message_acceptance({"a/b/c/d/e/f", 0, false, none, ""}, unlimited));
}

}  // namespace
}  // namespace petrel::broker
