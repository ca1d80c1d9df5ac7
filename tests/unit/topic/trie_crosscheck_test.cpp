// Randomized cross-check: the trie and the retained tree must agree with the brute-force
// reference matches() on every filter and topic, through subscribe/unsubscribe churn.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "petrel/topic/retained_tree.hpp"
#include "petrel/topic/subscription_trie.hpp"
#include "petrel/topic/topic_name.hpp"

namespace petrel::topic {
namespace {

// A small alphabet so that random filters and topics collide often; "" and '$' levels
// exercise empty levels and [MQTT-4.7.2-1].
class Generator {
  public:
    explicit Generator(unsigned seed) : random_(seed) {}

    std::string topic() {
        static constexpr std::string_view kLevels[] = {"a", "b", "c", ""};
        std::string out = pick_first_level();
        const int depth = between(0, 4);
        for (int i = 0; i < depth; ++i) {
            out += "/";
            out += kLevels[between(0, 3)];
        }
        return out.empty() ? "/" : out;  // an empty topic name is invalid
    }

    std::string filter() {
        static constexpr std::string_view kLevels[] = {"a", "b", "c", "", "+", "+"};
        std::string out;
        const int first = between(0, 9);
        out = first < 2 ? "+" : first < 3 ? "#" : pick_first_level();
        if (out == "#") {
            return with_share(out);
        }
        const int depth = between(0, 4);
        for (int i = 0; i < depth; ++i) {
            out += "/";
            out += kLevels[between(0, 5)];
        }
        if (between(0, 3) == 0) {
            out += "/#";
        }
        return with_share(out.empty() ? "/" : out);  // an empty filter is invalid
    }

    int between(int low, int high) {
        return std::uniform_int_distribution<int>(low, high)(random_);
    }

  private:
    std::string pick_first_level() {
        static constexpr std::string_view kFirst[] = {"a", "b", "", "$SYS", "$x", "a"};
        return std::string(kFirst[between(0, 5)]);
    }

    std::string with_share(std::string filter) {
        if (between(0, 5) == 0) {
            return "$share/" + std::string(between(0, 1) == 0 ? "g" : "h") + "/" + filter;
        }
        return filter;
    }

    std::mt19937 random_;
};

using Trie = SubscriptionTrie<int, std::string>;
// (subscriber, full filter as subscribed) — the Data carries the filter for identification.
using Hit = std::pair<int, std::string>;

std::vector<Hit> trie_hits(const Trie& trie, std::string_view topic) {
    std::vector<Hit> hits;
    trie.match(
        topic,
        [&](int subscriber, const std::string& filter) { hits.emplace_back(subscriber, filter); },
        [&](std::string_view group, std::string_view filter,
            const std::vector<Trie::Member>& members) {
            for (const auto& [subscriber, full] : members) {
                // Every member must have subscribed to exactly this group and filter.
                EXPECT_EQ(full, "$share/" + std::string(group) + "/" + std::string(filter));
                hits.emplace_back(subscriber, full);
            }
        });
    std::sort(hits.begin(), hits.end());
    return hits;
}

std::vector<Hit> brute_force_hits(const std::map<Hit, bool>& subscriptions,
                                  std::string_view topic) {
    std::vector<Hit> hits;
    for (const auto& [key, unused] : subscriptions) {
        const auto shared = parse_shared(key.second);
        if (matches(shared ? shared->filter : std::string_view(key.second), topic)) {
            hits.emplace_back(key.first, key.second);
        }
    }
    std::sort(hits.begin(), hits.end());
    return hits;
}

TEST(TrieCrossCheck, RandomFiltersAndTopicsAgreeWithBruteForce) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        Generator gen(seed);
        Trie trie;
        std::map<Hit, bool> reference;  // (subscriber, filter) set
        for (int step = 0; step < 2000; ++step) {
            const int subscriber = gen.between(0, 15);  // > 8 per filter exercises the index
            const std::string filter = gen.filter();
            ASSERT_TRUE(is_valid_topic_filter(filter)) << filter;
            const Hit key{subscriber, filter};
            if (gen.between(0, 2) == 0) {
                const bool existed = reference.erase(key) > 0;
                ASSERT_EQ(trie.unsubscribe(filter, subscriber), existed) << filter;
            } else {
                const bool is_new = reference.emplace(key, true).second;
                ASSERT_EQ(trie.subscribe(filter, subscriber, filter), is_new) << filter;
            }
            ASSERT_EQ(trie.size(), reference.size());
            if (step % 10 == 0) {
                for (int t = 0; t < 5; ++t) {
                    const std::string topic = gen.topic();
                    ASSERT_TRUE(is_valid_topic_name(topic)) << topic;
                    ASSERT_EQ(trie_hits(trie, topic), brute_force_hits(reference, topic))
                        << "seed " << seed << " step " << step << " topic '" << topic << "'";
                }
            }
        }
        // Draining everything must leave no node behind.
        for (const auto& [key, unused] : reference) {
            ASSERT_TRUE(trie.unsubscribe(key.second, key.first));
        }
        EXPECT_TRUE(trie.empty());
        EXPECT_EQ(trie.node_count(), 0u);
    }
}

TEST(RetainedCrossCheck, RandomTopicsAndFiltersAgreeWithBruteForce) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        Generator gen(seed * 7919);
        RetainedTree<int> tree;
        std::map<std::string, int> reference;
        for (int step = 0; step < 1000; ++step) {
            const std::string topic = gen.topic();
            if (gen.between(0, 2) == 0) {
                ASSERT_EQ(tree.erase(topic), reference.erase(topic) > 0) << topic;
            } else {
                tree.set(topic, step);
                reference[topic] = step;
            }
            ASSERT_EQ(tree.size(), reference.size());
            if (step % 10 == 0) {
                for (int f = 0; f < 5; ++f) {
                    std::string filter = gen.filter();
                    if (const auto shared = parse_shared(filter)) {
                        filter = std::string(shared->filter);
                    }
                    std::vector<std::pair<std::string, int>> got;
                    tree.match(filter, [&](std::string_view t, const int& value) {
                        got.emplace_back(std::string(t), value);
                    });
                    std::sort(got.begin(), got.end());
                    std::vector<std::pair<std::string, int>> want;
                    for (const auto& [t, value] : reference) {
                        if (matches(filter, t)) {
                            want.emplace_back(t, value);
                        }
                    }
                    ASSERT_EQ(got, want) << "seed " << seed << " filter '" << filter << "'";
                }
            }
        }
        for (const auto& [topic, value] : reference) {
            const int* found = tree.find(topic);
            ASSERT_NE(found, nullptr) << topic;
            EXPECT_EQ(*found, value);
            ASSERT_TRUE(tree.erase(topic));
        }
        EXPECT_TRUE(tree.empty());
        EXPECT_EQ(tree.node_count(), 0u);
    }
}

}  // namespace
}  // namespace petrel::topic
