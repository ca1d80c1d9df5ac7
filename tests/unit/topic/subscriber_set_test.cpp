// SubscriberSet: insert/replace/erase across the threshold where the hash index appears.
#include "petrel/topic/subscriber_set.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace petrel::topic {
namespace {

std::map<int, std::string> contents(const SubscriberSet<int, std::string>& set) {
    std::map<int, std::string> out;
    for (const auto& [subscriber, data] : set) {
        EXPECT_TRUE(out.emplace(subscriber, data).second) << "duplicate " << subscriber;
    }
    return out;
}

TEST(SubscriberSet, InsertReplaceErase) {
    SubscriberSet<int, std::string> set;
    EXPECT_TRUE(set.empty());
    EXPECT_TRUE(set.insert_or_assign(1, "a"));
    EXPECT_FALSE(set.insert_or_assign(1, "b"));
    EXPECT_TRUE(set.insert_or_assign(2, "c"));
    EXPECT_EQ(set.size(), 2u);
    EXPECT_EQ(contents(set), (std::map<int, std::string>{{1, "b"}, {2, "c"}}));
    EXPECT_FALSE(set.erase(3));
    EXPECT_TRUE(set.erase(1));
    EXPECT_FALSE(set.erase(1));
    EXPECT_EQ(contents(set), (std::map<int, std::string>{{2, "c"}}));
    EXPECT_TRUE(set.erase(2));
    EXPECT_TRUE(set.empty());
}

// Grows past the index threshold and shrinks back through the hysteresis band, checking
// against std::map after every step.
TEST(SubscriberSet, RandomChurnAcrossIndexThreshold) {
    std::mt19937 random(7);
    SubscriberSet<int, std::string> set;
    std::map<int, std::string> reference;
    for (int step = 0; step < 20000; ++step) {
        // Drift the key range so the size sweeps from 0 to ~40 and back.
        const int range = 4 + (step / 500 % 2 == 0 ? (step % 500) / 10 : 50 - (step % 500) / 10);
        const int key = std::uniform_int_distribution<int>(0, range)(random);
        if (std::uniform_int_distribution<int>(0, 2)(random) == 0 || range < 8) {
            ASSERT_EQ(set.erase(key), reference.erase(key) > 0);
        } else {
            const auto value = std::to_string(step);
            ASSERT_EQ(set.insert_or_assign(key, value), !reference.contains(key));
            reference[key] = value;
        }
        ASSERT_EQ(set.size(), reference.size());
        if (step % 7 == 0) {
            ASSERT_EQ(contents(set), reference) << "step " << step;
        }
    }
}

}  // namespace
}  // namespace petrel::topic
