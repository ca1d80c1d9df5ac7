// Results of bench_persistence: one sample per run, and the Markdown table of medians and
// ratios printed at the end.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace petrel::bench {

struct Sample {
    double msg_per_s = 0;
    double broker_cpu_us = 0;  // per message
    double tool_cpu_us = 0;    // per message
    std::uint64_t duplicates = 0;
    std::uintmax_t data_bytes = 0;  // in the data directory after the broker stopped
};

// Every run of one scenario.
struct Outcome {
    std::vector<Sample> samples;
    bool wrote_nothing = false;  // a persisting scenario left its data directory empty
    bool lost = false;           // a correctness failure
    bool failed = false;         // a run could not be measured
};

// Scenario names the ratio columns compare against.
inline constexpr const char* kMemoryReference = "petrel-memory";
inline constexpr const char* kMosquittoReference = "mosquitto-persist";

// One row per scenario of `order`: median, min and max msg/s, median CPU per message,
// ratios of median throughput against the two references (when they ran), duplicates.
void print_table(const std::vector<std::string>& order,
                 const std::map<std::string, Outcome>& outcomes, std::uint64_t messages_per_run);

// "nproc N, CPU model, Linux release, load average a b c; date".
std::string machine_note();

// First line a shell command prints, without the newline; "" if it prints nothing.
std::string command_first_line(const std::string& command);

}  // namespace petrel::bench
