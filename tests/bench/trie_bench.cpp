// Subscription trie benchmarks: the cost of matching one PUBLISH must not grow with the
// number of subscriptions held, only with topic depth and the number of matching branches.
//
// Each trie holds N subscriptions shaped like an IoT deployment: every device subscribes to
// its own command topics ("site/<s>/device/<d>/cmd/#") and monitoring clients to per-device
// readings ("site/<s>/device/<d>/+/temp"). On top of that background, a fixed set of about
// 300 subscriptions matches the hot topic "site/0/device/0/sensor/temp" in every trie size:
// dashboards on that device, site-wide and fleet-wide wildcards, '#' loggers and one shared
// group. So BM_MatchHot/1000 and BM_MatchHot/1000000 do the same matching work in tries
// three orders of magnitude apart. BM_MatchRandomDevice publishes to a different existing
// device each time, which also shows the cache misses of a large trie.
//
// Repeatable instruction counts (callgrind) use BM_MatchFixedLoop, whose timed part is the
// non-inlined match_loop():
//   valgrind --tool=callgrind --toggle-collect='*match_loop*'
//            ./bench_trie --benchmark_filter='BM_MatchFixedLoop/1000$'
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "petrel/topic/subscription_trie.hpp"

namespace {

using petrel::topic::SubscriptionTrie;

struct Session {
    std::uint32_t id;
};
using SessionPtr = std::shared_ptr<Session>;

// What the broker keeps per subscription (MQTT 5 subscription options + identifier).
struct Options {
    std::uint8_t qos = 0;
    bool no_local = false;
    bool retain_as_published = false;
    std::uint32_t identifier = 0;
};

using Trie = SubscriptionTrie<SessionPtr, Options>;

constexpr const char* kHotTopic = "site/0/device/0/sensor/temp";
constexpr std::size_t kDevicesPerSite = 1000;

std::size_t resident_bytes() {
    long pages = 0;
    long resident = 0;
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        std::fclose(statm);
    }
    return static_cast<std::size_t>(resident) * 4096;
}

struct World {
    Trie trie;
    std::vector<SessionPtr> sessions;
    std::vector<std::string> device_topics;  // one existing "…/sensor/temp" topic per device
    std::size_t hot_matches = 0;             // subscriptions matching kHotTopic
    std::size_t bytes = 0;                   // resident growth while building

    SessionPtr new_session() {
        sessions.push_back(
            std::make_shared<Session>(Session{static_cast<std::uint32_t>(sessions.size())}));
        return sessions.back();
    }

    explicit World(std::size_t total) {
        const std::size_t before = resident_bytes();
        auto add = [&](const std::string& filter) {
            trie.subscribe(filter, new_session(), Options{1, false, false, 0});
        };
        // The fixed set that matches the hot topic in every trie size.
        for (int i = 0; i < 200; ++i) {
            add("site/0/device/0/+/temp");  // dashboards watching the hot device
        }
        for (int i = 0; i < 50; ++i) {
            add("site/0/#");  // site-wide archivers
        }
        for (int i = 0; i < 50; ++i) {
            add("site/+/device/+/sensor/temp");  // fleet-wide temperature monitors
        }
        for (int i = 0; i < 10; ++i) {
            add("#");  // loggers
        }
        for (int i = 0; i < 8; ++i) {
            add("$share/workers/site/+/device/+/sensor/#");  // one shared group, 8 members
        }
        add("site/0/device/0/cmd/#");  // the hot device itself (does not match)
        hot_matches = 200 + 50 + 50 + 10 + 1 /* shared group, reported once */;

        // Background: devices 1.. on sites 0.., alternating their two filter shapes.
        for (std::size_t n = 1; trie.size() < total; ++n) {
            const auto site = std::to_string(n / kDevicesPerSite);
            const auto device = std::to_string(n % kDevicesPerSite);
            const auto prefix = "site/" + site + "/device/" + device + "/";
            add(prefix + (n % 2 == 0 ? "cmd/#" : "+/temp"));
            device_topics.push_back(prefix + "sensor/temp");
        }
        bytes = resident_bytes() - before;
    }
};

World& world(std::size_t total) {
    static std::map<std::size_t, std::unique_ptr<World>> worlds;
    auto& slot = worlds[total];
    if (!slot) {
        slot = std::make_unique<World>(total);
    }
    return *slot;
}

void add_size_counters(benchmark::State& state, const World& w) {
    state.counters["subs"] = static_cast<double>(w.trie.size());
    state.counters["MiB"] = static_cast<double>(w.bytes) / (1024.0 * 1024.0);
}

std::size_t match_count(const Trie& trie, std::string_view topic) {
    std::size_t count = 0;
    trie.match(
        topic, [&](const SessionPtr&, const Options&) { ++count; },
        [&](std::string_view, std::string_view, const std::vector<Trie::Member>&) { ++count; });
    return count;
}

void BM_MatchHot(benchmark::State& state) {
    auto& w = world(static_cast<std::size_t>(state.range(0)));
    std::size_t matched = 0;
    for (auto _ : state) {
        matched = match_count(w.trie, kHotTopic);
        benchmark::DoNotOptimize(matched);
    }
    if (matched != w.hot_matches) {
        state.SkipWithError("unexpected match count");
    }
    add_size_counters(state, w);
    state.counters["matched"] = static_cast<double>(matched);
    state.counters["ns/callback"] =
        benchmark::Counter(static_cast<double>(matched) * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_MatchHot)->Arg(1000)->Arg(1000000);

// A topic with no subscriber of its own: the fixed cost of walking the trie.
void BM_MatchMiss(benchmark::State& state) {
    auto& w = world(static_cast<std::size_t>(state.range(0)));
    std::size_t matched = 0;
    for (auto _ : state) {
        matched = match_count(w.trie, "plant/9/line/4/valve/pressure");
        benchmark::DoNotOptimize(matched);
    }
    add_size_counters(state, w);
    state.counters["matched"] = static_cast<double>(matched);
}
BENCHMARK(BM_MatchMiss)->Arg(1000)->Arg(1000000);

void BM_MatchRandomDevice(benchmark::State& state) {
    auto& w = world(static_cast<std::size_t>(state.range(0)));
    std::mt19937 random(42);
    std::uniform_int_distribution<std::size_t> pick(0, w.device_topics.size() - 1);
    std::size_t matched = 0;
    for (auto _ : state) {
        matched += match_count(w.trie, w.device_topics[pick(random)]);
    }
    benchmark::DoNotOptimize(matched);
    add_size_counters(state, w);
    state.counters["matched/op"] =
        static_cast<double>(matched) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_MatchRandomDevice)->Arg(1000)->Arg(1000000);

// A new filter on an existing device: creates two nodes, then prunes them again.
void BM_SubscribeUnsubscribe(benchmark::State& state) {
    auto& w = world(static_cast<std::size_t>(state.range(0)));
    const auto session = w.sessions.back();
    const std::string filter = "site/0/device/7/config/+/set";
    for (auto _ : state) {
        benchmark::DoNotOptimize(w.trie.subscribe(filter, session, Options{}));
        benchmark::DoNotOptimize(w.trie.unsubscribe(filter, session));
    }
    add_size_counters(state, w);
}
BENCHMARK(BM_SubscribeUnsubscribe)->Arg(1000)->Arg(1000000);

// SUBSCRIBE repeated for an existing subscription: replaces its options [MQTT-3.8.4-3].
void BM_Resubscribe(benchmark::State& state) {
    auto& w = world(static_cast<std::size_t>(state.range(0)));
    const auto session = w.sessions.back();
    const std::string filter = "site/0/device/7/resub/+";
    w.trie.subscribe(filter, session, Options{});
    std::uint8_t qos = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(w.trie.subscribe(filter, session, Options{qos, false, false, 0}));
        qos = static_cast<std::uint8_t>((qos + 1) % 3);
    }
    w.trie.unsubscribe(filter, session);
    add_size_counters(state, w);
}
BENCHMARK(BM_Resubscribe)->Arg(1000)->Arg(1000000);

// Fixed work for callgrind: 10 000 hot matches in a function that is never inlined.
[[gnu::noinline]] std::size_t match_loop(const Trie& trie, int rounds) {
    std::size_t matched = 0;
    for (int i = 0; i < rounds; ++i) {
        matched += match_count(trie, kHotTopic);
    }
    return matched;
}

void BM_MatchFixedLoop(benchmark::State& state) {
    auto& w = world(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(match_loop(w.trie, 10000));
    }
    add_size_counters(state, w);
}
BENCHMARK(BM_MatchFixedLoop)->Arg(1000)->Arg(1000000)->Iterations(1);

}  // namespace
