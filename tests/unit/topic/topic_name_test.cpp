// Topic name and filter validation, $share parsing and the reference matcher (spec 4.7, 4.8.2).
#include "petrel/topic/topic_name.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "petrel/topic/topic_levels.hpp"

namespace petrel::topic {
namespace {

using namespace std::string_literals;

TEST(LevelCursor, SplitsLevelsIncludingEmptyOnes) {
    const auto split = [](std::string_view text) {
        std::string out;
        LevelCursor levels(text);
        while (!levels.done()) {
            out += "[" + std::string(levels.next()) + "]";
        }
        return out;
    };
    EXPECT_EQ(split("a/b/c"), "[a][b][c]");
    EXPECT_EQ(split("a//b"), "[a][][b]");
    EXPECT_EQ(split("/a"), "[][a]");
    EXPECT_EQ(split("a/"), "[a][]");
    EXPECT_EQ(split("/"), "[][]");
    EXPECT_EQ(split(""), "[]");
}

TEST(TopicName, BrokerNamespaceIsSysAndBelow) {
    EXPECT_TRUE(is_broker_topic("$SYS"));
    EXPECT_TRUE(is_broker_topic("$SYS/"));
    EXPECT_TRUE(is_broker_topic("$SYS/broker/version"));
    EXPECT_FALSE(is_broker_topic("$SYSTEM/x"));
    EXPECT_FALSE(is_broker_topic("$sys/x"));  // topics are case-sensitive
    EXPECT_FALSE(is_broker_topic("$share/x"));
    EXPECT_FALSE(is_broker_topic("a/$SYS/b"));
    EXPECT_FALSE(is_broker_topic("SYS/x"));
}

TEST(TopicName, Valid) {
    for (std::string_view name : {"a", "/", "//", "a/b/c", "/finance", "sport/", "$SYS/broker",
                                  "$share/g/x", " ", "sport/tennis player1", "\xC3\xA9t\xC3\xA9"}) {
        EXPECT_TRUE(is_valid_topic_name(name)) << name;
    }
    EXPECT_TRUE(is_valid_topic_name(std::string(65535, 'a')));
}

TEST(TopicName, Invalid) {
    // [MQTT-4.7.3-1] non-empty; [MQTT-3.3.2-2] no wildcards; [MQTT-4.7.3-2] no U+0000.
    for (std::string_view name : {"", "+", "#", "a/+", "a/#", "a+b", "sport#", "+/x"}) {
        EXPECT_FALSE(is_valid_topic_name(name)) << name;
    }
    EXPECT_FALSE(is_valid_topic_name("a\0b"s));
    EXPECT_FALSE(is_valid_topic_name(std::string(65536, 'a')));
}

TEST(TopicFilter, Valid) {
    for (std::string_view filter : {"#",
                                    "+",
                                    "/",
                                    "a",
                                    "+/+",
                                    "/+",
                                    "+/",
                                    "sport/#",
                                    "sport/tennis/#",
                                    "sport/+/player1",
                                    "sport/tennis/+",
                                    "+/tennis/#",
                                    "$SYS/#",
                                    "$SYS/+",
                                    "a//b",
                                    "a/+/+/#",
                                    "$share",
                                    "$sharex/g/a",
                                    "$share/g/#",
                                    "$share/g/a/+/c",
                                    "$share/g/$SYS/#",
                                    "$share/g/+",
                                    "$share/group-1/a",
                                    "$share/g//"}) {
        EXPECT_TRUE(is_valid_topic_filter(filter)) << filter;
    }
    EXPECT_TRUE(is_valid_topic_filter(std::string(65535, 'a')));
    EXPECT_TRUE(is_valid_topic_filter("$share/g/" + std::string(65535 - 9, 'a')));
}

TEST(TopicFilter, Invalid) {
    for (std::string_view filter :
         {"",
          // [MQTT-4.7.1-2] '#' alone as the last level
          "sport/tennis#", "sport/tennis/#/ranking", "#/", "##", "a/#b", "#/a",
          // [MQTT-4.7.1-3] '+' alone in its level
          "sport+", "sport/+tennis", "++", "a/b+/c", "+a",
          // [MQTT-4.8.2-1] non-empty ShareName without '/', '+' or '#'
          "$share//a", "$share/+/a", "$share/#/a", "$share/g+/a", "$share/g#x/a",
          // [MQTT-4.8.2-2] '/' then a valid filter
          "$share/g", "$share/g/", "$share/", "$share/g/a#", "$share/g/#/a"}) {
        EXPECT_FALSE(is_valid_topic_filter(filter)) << filter;
    }
    EXPECT_FALSE(is_valid_topic_filter("a/\0"s));
    EXPECT_FALSE(is_valid_topic_filter("$share/g/a\0"s));
    EXPECT_FALSE(is_valid_topic_filter(std::string(65536, 'a')));
    EXPECT_FALSE(is_valid_topic_filter("$share/g/" + std::string(65535 - 8, 'a')));
}

TEST(TopicFilter, HasWildcard) {
    EXPECT_TRUE(has_wildcard("#"));
    EXPECT_TRUE(has_wildcard("a/+/b"));
    EXPECT_TRUE(has_wildcard("$share/g/a/#"));
    EXPECT_FALSE(has_wildcard("a/b"));
    EXPECT_FALSE(has_wildcard("$share/g/a"));
}

TEST(TopicFilter, ParseShared) {
    auto shared = parse_shared("$share/consumers/sport/+/player1");
    ASSERT_TRUE(shared);
    EXPECT_EQ(shared->group, "consumers");
    EXPECT_EQ(shared->filter, "sport/+/player1");

    shared = parse_shared("$share/g/#");
    ASSERT_TRUE(shared);
    EXPECT_EQ(shared->group, "g");
    EXPECT_EQ(shared->filter, "#");

    EXPECT_FALSE(parse_shared("sport/#"));
    EXPECT_FALSE(parse_shared("$share"));
    EXPECT_FALSE(parse_shared("$share/g"));
    EXPECT_FALSE(parse_shared("$sharex/g/a"));
    EXPECT_FALSE(parse_shared("/$share/g/a"));
}

TEST(TopicName, LevelCount) {
    EXPECT_EQ(level_count(""), 1u);
    EXPECT_EQ(level_count("a"), 1u);
    EXPECT_EQ(level_count("/"), 2u);
    EXPECT_EQ(level_count("a/b/c"), 3u);
    EXPECT_EQ(level_count("a//"), 3u);
}

struct MatchCase {
    std::string_view filter;
    std::string_view topic;
    bool expected;
};

// The non-normative examples of 4.7.1.2, 4.7.1.3 and 4.7.2, plus edge cases around them.
constexpr MatchCase kMatchCases[] = {
    // 4.7.1.2 multi-level wildcard
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/tennis/player1/#", "sport/tennis/player2", false},
    {"sport/tennis/player1/#", "sport/tennis", false},
    {"sport/#", "sport", true},  // '#' includes the parent level
    {"sport/#", "sport/", true},
    {"sport/#", "sports", false},
    {"#", "sport", true},
    {"#", "/", true},
    {"#", "a/b/c/d/e", true},
    // 4.7.1.3 single-level wildcard
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player2", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},  // '+' matches an empty level
    {"+", "sport", true},
    {"+", "/finance", false},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+/tennis/#", "sport/tennis", true},
    {"+/tennis/#", "sport/tennis/x/y", true},
    {"sport/+/player1", "sport/tennis/player1", true},
    {"sport/+/player1", "sport//player1", true},
    {"+/+/+", "a/b", false},
    {"+/+", "a/b/c", false},
    // literal levels are case-sensitive and exact
    {"ACCOUNTS", "Accounts", false},
    {"a/b", "a/b/", false},
    {"a/b/", "a/b/", true},
    {"/", "/", true},
    {"a//b", "a//b", true},
    // 4.7.2 [MQTT-4.7.2-1] '$' topics and leading wildcards
    {"#", "$SYS/monitor/Clients", false},
    {"+/monitor/Clients", "$SYS/monitor/Clients", false},
    {"$SYS/#", "$SYS/monitor/Clients", true},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
    {"$SYS/#", "$SYS", true},
    {"+", "$SYS", false},
    {"#", "$", false},
    {"$", "$", true},
    {"a/+", "a/$x", true},  // only the first level is special
    {"a/#", "a/$x/y", true},
    {"#", "x$", true},
};

TEST(Matches, SpecExamples) {
    for (const auto& c : kMatchCases) {
        EXPECT_EQ(matches(c.filter, c.topic), c.expected) << c.filter << " vs " << c.topic;
    }
}

}  // namespace
}  // namespace petrel::topic
