// RetainedTree: set/replace/erase/find and filter matching, including '$' topics.
#include "petrel/topic/retained_tree.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "petrel/topic/topic_name.hpp"

namespace petrel::topic {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<std::string> match_all(const RetainedTree<std::string>& tree, std::string_view filter) {
    std::vector<std::string> out;
    tree.match(filter, [&](std::string_view topic, const std::string& value) {
        out.push_back(std::string(topic) + "=" + value);
    });
    return out;
}

TEST(RetainedTree, SetFindReplaceErase) {
    RetainedTree<std::string> tree;
    EXPECT_TRUE(tree.empty());
    EXPECT_EQ(tree.find("a"), nullptr);

    tree.set("a/b", "1");
    EXPECT_EQ(tree.size(), 1u);
    ASSERT_NE(tree.find("a/b"), nullptr);
    EXPECT_EQ(*tree.find("a/b"), "1");
    EXPECT_EQ(tree.find("a"), nullptr);  // an interior node holds no value
    EXPECT_EQ(tree.find("a/b/c"), nullptr);

    // [MQTT-3.3.1-5] a new retained message replaces the old one.
    tree.set("a/b", "2");
    EXPECT_EQ(tree.size(), 1u);
    EXPECT_EQ(*tree.find("a/b"), "2");

    tree.set("a", "parent");
    EXPECT_EQ(tree.size(), 2u);
    EXPECT_FALSE(tree.erase("a/c"));
    EXPECT_FALSE(tree.erase("a/b/c"));
    EXPECT_TRUE(tree.erase("a/b"));
    EXPECT_FALSE(tree.erase("a/b"));
    EXPECT_EQ(tree.size(), 1u);
    EXPECT_EQ(tree.node_count(), 1u);  // "b" pruned, "a" still holds a value
    EXPECT_EQ(*tree.find("a"), "parent");
    EXPECT_TRUE(tree.erase("a"));
    EXPECT_TRUE(tree.empty());
    EXPECT_EQ(tree.node_count(), 0u);
}

class RetainedTreeMatch : public ::testing::Test {
  protected:
    void SetUp() override {
        for (std::string_view topic :
             {"sport", "sport/", "sport/tennis", "sport/tennis/player1", "sport/tennis/player2",
              "sport/tennis/player1/ranking", "sport/tennis/player1/score/wimbledon",
              "sport/golf/player1", "/finance", "finance", "$SYS/monitor/Clients", "$SYS", "$other",
              "a/$x"}) {
            tree.set(topic, "v");
        }
    }
    RetainedTree<std::string> tree;
};

TEST_F(RetainedTreeMatch, Literal) {
    EXPECT_THAT(match_all(tree, "sport/tennis"), ElementsAre("sport/tennis=v"));
    EXPECT_THAT(match_all(tree, "sport/tennis/player3"), IsEmpty());
    EXPECT_THAT(match_all(tree, "$SYS"), ElementsAre("$SYS=v"));
}

TEST_F(RetainedTreeMatch, MultiLevelWildcard) {
    // 4.7.1.2: "sport/tennis/player1/#" includes the parent level.
    EXPECT_THAT(match_all(tree, "sport/tennis/player1/#"),
                UnorderedElementsAre("sport/tennis/player1=v", "sport/tennis/player1/ranking=v",
                                     "sport/tennis/player1/score/wimbledon=v"));
    EXPECT_THAT(match_all(tree, "sport/golf/#"), UnorderedElementsAre("sport/golf/player1=v"));
    EXPECT_THAT(match_all(tree, "nothing/#"), IsEmpty());
    // [MQTT-4.7.2-1] '#' alone does not return '$' topics.
    const auto all = match_all(tree, "#");
    EXPECT_EQ(all.size(), 11u);
    for (const auto& entry : all) {
        EXPECT_NE(entry.front(), '$') << entry;
    }
}

TEST_F(RetainedTreeMatch, SingleLevelWildcard) {
    EXPECT_THAT(match_all(tree, "sport/tennis/+"),
                UnorderedElementsAre("sport/tennis/player1=v", "sport/tennis/player2=v"));
    EXPECT_THAT(match_all(tree, "sport/+"), UnorderedElementsAre("sport/=v", "sport/tennis=v"));
    EXPECT_THAT(match_all(tree, "+"), UnorderedElementsAre("sport=v", "finance=v"));
    EXPECT_THAT(match_all(tree, "+/+"),
                UnorderedElementsAre("sport/=v", "sport/tennis=v", "/finance=v", "a/$x=v"));
    EXPECT_THAT(match_all(tree, "/+"), ElementsAre("/finance=v"));
    EXPECT_THAT(match_all(tree, "+/+/player1"),
                UnorderedElementsAre("sport/tennis/player1=v", "sport/golf/player1=v"));
    EXPECT_THAT(match_all(tree, "+/tennis/#"),
                UnorderedElementsAre("sport/tennis=v", "sport/tennis/player1=v",
                                     "sport/tennis/player2=v", "sport/tennis/player1/ranking=v",
                                     "sport/tennis/player1/score/wimbledon=v"));
}

TEST_F(RetainedTreeMatch, DollarTopics) {
    // [MQTT-4.7.2-1]
    EXPECT_THAT(match_all(tree, "+/monitor/Clients"), IsEmpty());
    EXPECT_THAT(match_all(tree, "$SYS/#"),
                UnorderedElementsAre("$SYS=v", "$SYS/monitor/Clients=v"));
    EXPECT_THAT(match_all(tree, "$SYS/monitor/+"), ElementsAre("$SYS/monitor/Clients=v"));
    EXPECT_THAT(match_all(tree, "$other/#"), ElementsAre("$other=v"));
    EXPECT_THAT(match_all(tree, "a/+"), ElementsAre("a/$x=v"));  // only the first level counts
}

TEST(RetainedTree, ChurnDoesNotGrow) {
    RetainedTree<int> tree;
    tree.set("keep/this", 0);
    const auto baseline = tree.node_count();
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 100; ++i) {
            tree.set("dev/" + std::to_string(i) + "/state/" + std::to_string(round), i);
        }
        for (int i = 0; i < 100; ++i) {
            ASSERT_TRUE(tree.erase("dev/" + std::to_string(i) + "/state/" + std::to_string(round)));
        }
        ASSERT_EQ(tree.size(), 1u);
        ASSERT_EQ(tree.node_count(), baseline);
    }
}

TEST(RetainedTree, MoveLeavesSourceEmpty) {
    RetainedTree<int> tree;
    tree.set("a", 1);
    RetainedTree<int> moved(std::move(tree));
    EXPECT_EQ(*moved.find("a"), 1);
    EXPECT_TRUE(tree.empty());  // NOLINT(bugprone-use-after-move): documented state
    EXPECT_EQ(tree.find("a"), nullptr);
}

TEST(RetainedTree, DeepTopicDoesNotExhaustTheStack) {
    std::string deep = "a";
    while (deep.size() + 2 <= 65535) {
        deep += "/a";
    }
    RetainedTree<int> tree;
    tree.set(deep, 1);
    int seen = 0;
    tree.match("#", [&](std::string_view, const int&) { ++seen; });
    tree.match(deep, [&](std::string_view, const int&) { ++seen; });
    EXPECT_EQ(seen, 2);
    EXPECT_TRUE(tree.erase(deep));
    tree.set(deep, 2);  // left for the destructor
}

}  // namespace
}  // namespace petrel::topic
