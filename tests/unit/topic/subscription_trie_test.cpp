// SubscriptionTrie: subscribe/replace/unsubscribe, matching by the rules of 4.7 and 4.8.2,
// and pruning of emptied nodes.
#include "petrel/topic/subscription_trie.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::topic {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct Options {
    int qos = 0;
    bool operator==(const Options&) const = default;
};

using Trie = SubscriptionTrie<std::string, Options>;

// Every match as "subscriber:qos" or "$share/group/filter=[a:qos,b:qos]".
std::vector<std::string> match_all(const Trie& trie, std::string_view topic) {
    std::vector<std::string> out;
    trie.match(
        topic,
        [&](const std::string& subscriber, const Options& options) {
            out.push_back(subscriber + ":" + std::to_string(options.qos));
        },
        [&](std::string_view group, std::string_view filter,
            const std::vector<Trie::Member>& members) {
            std::string entry = "$share/" + std::string(group) + "/" + std::string(filter) + "=[";
            for (const auto& [subscriber, options] : members) {
                entry += subscriber + ":" + std::to_string(options.qos) + ",";
            }
            out.push_back(entry + "]");
        });
    return out;
}

TEST(SubscriptionTrie, StartsEmpty) {
    Trie trie;
    EXPECT_TRUE(trie.empty());
    EXPECT_EQ(trie.size(), 0u);
    EXPECT_EQ(trie.node_count(), 0u);
    EXPECT_THAT(match_all(trie, "a"), IsEmpty());
    EXPECT_FALSE(trie.unsubscribe("a", "x"));
}

TEST(SubscriptionTrie, SubscribeReplaceUnsubscribe) {
    Trie trie;
    EXPECT_TRUE(trie.subscribe("a/b", "s1", {1}));
    EXPECT_EQ(trie.size(), 1u);
    EXPECT_THAT(match_all(trie, "a/b"), ElementsAre("s1:1"));

    // [MQTT-3.8.4-3] same filter, same subscriber: the options are replaced, not added.
    EXPECT_FALSE(trie.subscribe("a/b", "s1", {2}));
    EXPECT_EQ(trie.size(), 1u);
    EXPECT_THAT(match_all(trie, "a/b"), ElementsAre("s1:2"));

    EXPECT_TRUE(trie.subscribe("a/b", "s2", {0}));
    EXPECT_EQ(trie.size(), 2u);
    EXPECT_THAT(match_all(trie, "a/b"), UnorderedElementsAre("s1:2", "s2:0"));

    EXPECT_FALSE(trie.unsubscribe("a/b", "nobody"));
    EXPECT_FALSE(trie.unsubscribe("a/c", "s1"));
    EXPECT_FALSE(trie.unsubscribe("a", "s1"));
    EXPECT_FALSE(trie.unsubscribe("a/b/c", "s1"));
    EXPECT_FALSE(trie.unsubscribe("a/+", "s1"));
    EXPECT_FALSE(trie.unsubscribe("a/#", "s1"));
    EXPECT_TRUE(trie.unsubscribe("a/b", "s1"));
    EXPECT_FALSE(trie.unsubscribe("a/b", "s1"));
    EXPECT_EQ(trie.size(), 1u);
    EXPECT_THAT(match_all(trie, "a/b"), ElementsAre("s2:0"));
    EXPECT_TRUE(trie.unsubscribe("a/b", "s2"));
    EXPECT_TRUE(trie.empty());
    EXPECT_EQ(trie.node_count(), 0u);
}

// The examples of 4.7.1.2 and 4.7.1.3, one subscriber per filter.
TEST(SubscriptionTrie, SpecWildcardExamples) {
    Trie trie;
    for (std::string_view filter :
         {"sport/tennis/player1/#", "sport/#", "sport/tennis/+", "sport/+", "+", "+/+", "/+", "#",
          "sport/+/player1", "+/tennis/#"}) {
        trie.subscribe(filter, std::string(filter), {});
    }
    EXPECT_THAT(match_all(trie, "sport/tennis/player1"),
                UnorderedElementsAre("sport/tennis/player1/#:0", "sport/#:0", "sport/tennis/+:0",
                                     "#:0", "sport/+/player1:0", "+/tennis/#:0"));
    EXPECT_THAT(
        match_all(trie, "sport/tennis/player1/score/wimbledon"),
        UnorderedElementsAre("sport/tennis/player1/#:0", "sport/#:0", "#:0", "+/tennis/#:0"));
    // "sport/#" matches the parent level; "sport/+" does not match "sport" but does "sport/".
    EXPECT_THAT(match_all(trie, "sport"), UnorderedElementsAre("sport/#:0", "+:0", "#:0"));
    EXPECT_THAT(match_all(trie, "sport/"),
                UnorderedElementsAre("sport/#:0", "sport/+:0", "+/+:0", "#:0"));
    // "+" does not match "/finance"; "+/+" and "/+" do.
    EXPECT_THAT(match_all(trie, "/finance"), UnorderedElementsAre("+/+:0", "/+:0", "#:0"));
}

// [MQTT-4.7.2-1] Wildcards at the first level never reach topics beginning with '$'.
TEST(SubscriptionTrie, DollarTopics) {
    Trie trie;
    for (std::string_view filter :
         {"#", "+/monitor/Clients", "+", "+/#", "$SYS/#", "$SYS/monitor/+", "$SYS", "$", "a/+"}) {
        trie.subscribe(filter, std::string(filter), {});
    }
    EXPECT_THAT(match_all(trie, "$SYS/monitor/Clients"),
                UnorderedElementsAre("$SYS/#:0", "$SYS/monitor/+:0"));
    EXPECT_THAT(match_all(trie, "$SYS"), UnorderedElementsAre("$SYS/#:0", "$SYS:0"));
    EXPECT_THAT(match_all(trie, "$"), UnorderedElementsAre("$:0"));
    EXPECT_THAT(match_all(trie, "$other/monitor/Clients"), IsEmpty());
    // Only the first level is special.
    EXPECT_THAT(match_all(trie, "a/$SYS"), UnorderedElementsAre("#:0", "+/#:0", "a/+:0"));
    EXPECT_THAT(match_all(trie, "x/monitor/Clients"),
                UnorderedElementsAre("#:0", "+/monitor/Clients:0", "+/#:0"));
}

// A subscriber with overlapping filters is reported once per filter; the broker merges.
TEST(SubscriptionTrie, OverlappingFiltersReportedPerFilter) {
    Trie trie;
    trie.subscribe("a/b", "s", {0});
    trie.subscribe("a/+", "s", {1});
    trie.subscribe("a/#", "s", {2});
    trie.subscribe("#", "s", {1});
    trie.subscribe("+/b", "t", {0});
    EXPECT_EQ(trie.size(), 5u);
    EXPECT_THAT(match_all(trie, "a/b"), UnorderedElementsAre("s:0", "s:1", "s:2", "s:1", "t:0"));
    trie.unsubscribe("a/+", "s");
    EXPECT_THAT(match_all(trie, "a/b"), UnorderedElementsAre("s:0", "s:2", "s:1", "t:0"));
}

// [MQTT-4.8.2-*] one report per group and filter, members in subscription order.
TEST(SubscriptionTrie, SharedGroups) {
    Trie trie;
    EXPECT_TRUE(trie.subscribe("$share/g/a/+", "m1", {1}));
    EXPECT_TRUE(trie.subscribe("$share/g/a/+", "m2", {2}));
    EXPECT_TRUE(trie.subscribe("$share/g/a/+", "m3", {0}));
    EXPECT_FALSE(trie.subscribe("$share/g/a/+", "m2", {1}));  // replaces, keeps the position
    EXPECT_TRUE(trie.subscribe("$share/h/a/+", "m1", {0}));   // another group, same filter
    EXPECT_TRUE(trie.subscribe("$share/g/a/#", "m1", {0}));   // same group, another filter
    EXPECT_TRUE(trie.subscribe("a/+", "m1", {2}));            // non-shared, same filter
    EXPECT_EQ(trie.size(), 6u);

    EXPECT_THAT(match_all(trie, "a/b"),
                UnorderedElementsAre("$share/g/a/+=[m1:1,m2:1,m3:0,]", "$share/h/a/+=[m1:0,]",
                                     "$share/g/a/#=[m1:0,]", "m1:2"));
    EXPECT_THAT(match_all(trie, "a"), UnorderedElementsAre("$share/g/a/#=[m1:0,]"));

    EXPECT_FALSE(trie.unsubscribe("$share/g/a/+", "m9"));
    EXPECT_FALSE(trie.unsubscribe("$share/x/a/+", "m1"));
    EXPECT_TRUE(trie.unsubscribe("$share/g/a/+", "m1"));
    EXPECT_THAT(match_all(trie, "a/b"),
                UnorderedElementsAre("$share/g/a/+=[m2:1,m3:0,]", "$share/h/a/+=[m1:0,]",
                                     "$share/g/a/#=[m1:0,]", "m1:2"));
    // Unsubscribing the non-shared "a/+" leaves the shared ones alone, and vice versa.
    EXPECT_TRUE(trie.unsubscribe("a/+", "m1"));
    EXPECT_FALSE(trie.unsubscribe("a/+", "m2"));
    EXPECT_EQ(trie.size(), 4u);
    for (auto [filter, member] : {std::pair{"$share/g/a/+", "m2"},
                                  {"$share/g/a/+", "m3"},
                                  {"$share/h/a/+", "m1"},
                                  {"$share/g/a/#", "m1"}}) {
        EXPECT_TRUE(trie.unsubscribe(filter, member)) << filter << " " << member;
    }
    EXPECT_TRUE(trie.empty());
    EXPECT_EQ(trie.node_count(), 0u);
}

TEST(SubscriptionTrie, SharedGroupOnDollarTopicsAndRootWildcards) {
    Trie trie;
    trie.subscribe("$share/g/#", "m", {});
    trie.subscribe("$share/g/$SYS/#", "n", {});
    EXPECT_THAT(match_all(trie, "x/y"), ElementsAre("$share/g/#=[m:0,]"));
    // [MQTT-4.7.2-1] applies to the filter inside $share too.
    EXPECT_THAT(match_all(trie, "$SYS/x"), ElementsAre("$share/g/$SYS/#=[n:0,]"));
}

TEST(SubscriptionTrie, EmptyLevels) {
    Trie trie;
    trie.subscribe("/", "slash", {});
    trie.subscribe("a//b", "double", {});
    trie.subscribe("a/+/b", "plus", {});
    trie.subscribe("a/", "trailing", {});
    EXPECT_THAT(match_all(trie, "/"), ElementsAre("slash:0"));
    EXPECT_THAT(match_all(trie, "a//b"), UnorderedElementsAre("double:0", "plus:0"));
    EXPECT_THAT(match_all(trie, "a/"), ElementsAre("trailing:0"));
    EXPECT_THAT(match_all(trie, "a"), IsEmpty());
}

TEST(SubscriptionTrie, PrunesNodesOnUnsubscribe) {
    Trie trie;
    trie.subscribe("a/b/c/d", "s", {});
    EXPECT_EQ(trie.node_count(), 4u);
    trie.subscribe("a/b/x", "s", {});
    EXPECT_EQ(trie.node_count(), 5u);
    trie.subscribe("a/+/#", "s", {});  // '#' is a slot, not a node
    EXPECT_EQ(trie.node_count(), 6u);
    trie.unsubscribe("a/b/c/d", "s");
    EXPECT_EQ(trie.node_count(), 4u);  // c and d gone; a, b, x, + remain
    trie.unsubscribe("a/+/#", "s");
    EXPECT_EQ(trie.node_count(), 3u);
    EXPECT_THAT(match_all(trie, "a/b/x"), ElementsAre("s:0"));
    trie.unsubscribe("a/b/x", "s");
    EXPECT_EQ(trie.node_count(), 0u);
    EXPECT_TRUE(trie.empty());
}

// Interior nodes that still hold subscriptions survive the pruning of their children.
TEST(SubscriptionTrie, PruningKeepsInteriorSubscriptions) {
    Trie trie;
    trie.subscribe("a", "s", {});
    trie.subscribe("a/#", "s", {});
    trie.subscribe("a/b/c", "s", {});
    trie.unsubscribe("a/b/c", "s");
    EXPECT_EQ(trie.node_count(), 1u);
    EXPECT_THAT(match_all(trie, "a"), UnorderedElementsAre("s:0", "s:0"));
    trie.unsubscribe("a", "s");
    EXPECT_EQ(trie.node_count(), 1u);  // still holds "a/#"
    EXPECT_THAT(match_all(trie, "a/z"), ElementsAre("s:0"));
    trie.unsubscribe("a/#", "s");
    EXPECT_EQ(trie.node_count(), 0u);
}

TEST(SubscriptionTrie, ChurnDoesNotGrow) {
    Trie trie;
    trie.subscribe("keep/+/this", "k", {});
    const auto baseline = trie.node_count();
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 40; ++i) {
            const auto id = std::to_string(round * 40 + i);
            trie.subscribe("dev/" + id + "/+/x", "s" + id, {});
            trie.subscribe("$share/g/dev/" + id + "/#", "s" + id, {});
            trie.subscribe("$SYS/" + id, "s" + id, {});
        }
        for (int i = 0; i < 40; ++i) {
            const auto id = std::to_string(round * 40 + i);
            EXPECT_TRUE(trie.unsubscribe("dev/" + id + "/+/x", "s" + id));
            EXPECT_TRUE(trie.unsubscribe("$share/g/dev/" + id + "/#", "s" + id));
            EXPECT_TRUE(trie.unsubscribe("$SYS/" + id, "s" + id));
        }
        ASSERT_EQ(trie.size(), 1u);
        ASSERT_EQ(trie.node_count(), baseline);
    }
}

TEST(SubscriptionTrie, WorksWithSharedPtrSubscribers) {
    struct Session {};
    SubscriptionTrie<std::shared_ptr<Session>, Options> trie;
    auto a = std::make_shared<Session>();
    auto b = std::make_shared<Session>();
    trie.subscribe("t/+", a, {1});
    trie.subscribe("t/#", b, {2});
    trie.subscribe("$share/g/t/+", a, {0});
    int direct = 0;
    int shared = 0;
    trie.match(
        "t/1", [&](const std::shared_ptr<Session>&, const Options&) { ++direct; },
        [&](std::string_view, std::string_view, const auto& members) {
            shared += static_cast<int>(members.size());
        });
    EXPECT_EQ(direct, 2);
    EXPECT_EQ(shared, 1);
    EXPECT_TRUE(trie.unsubscribe("t/+", a));
    EXPECT_FALSE(trie.unsubscribe("t/+", b));
}

TEST(SubscriptionTrie, MoveLeavesSourceEmpty) {
    Trie trie;
    trie.subscribe("a/b", "s", {});
    Trie moved(std::move(trie));
    EXPECT_EQ(moved.size(), 1u);
    EXPECT_THAT(match_all(moved, "a/b"), ElementsAre("s:0"));
    EXPECT_TRUE(trie.empty());  // NOLINT(bugprone-use-after-move): documented state
    EXPECT_EQ(trie.node_count(), 0u);
    trie = std::move(moved);
    EXPECT_THAT(match_all(trie, "a/b"), ElementsAre("s:0"));
}

// The longest legal filter has 32768 levels: matching and teardown must not recurse.
TEST(SubscriptionTrie, DeepFilterDoesNotExhaustTheStack) {
    std::string deep = "a";
    while (deep.size() + 2 <= 65535) {
        deep += "/a";
    }
    ASSERT_TRUE(is_valid_topic_filter(deep));
    {
        Trie trie;
        trie.subscribe(deep, "s", {});
        trie.subscribe(deep.substr(0, deep.size() - 1) + "+", "p", {});
        trie.subscribe("#", "all", {});
        EXPECT_THAT(match_all(trie, deep), UnorderedElementsAre("s:0", "p:0", "all:0"));
        EXPECT_EQ(trie.node_count(), level_count(deep) + 1);
    }  // destructor runs here
    Trie trie;
    trie.subscribe(deep, "s", {});
    EXPECT_TRUE(trie.unsubscribe(deep, "s"));
    EXPECT_EQ(trie.node_count(), 0u);
}

}  // namespace
}  // namespace petrel::topic
