#include "bench_report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace petrel::bench {
namespace {

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

std::string ratio(double value, const std::map<std::string, double>& medians,
                  const std::string& reference) {
    const auto found = medians.find(reference);
    if (found == medians.end() || found->second <= 0) {
        return "–";
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", value / found->second);
    return text;
}

}  // namespace

void print_table(const std::vector<std::string>& order,
                 const std::map<std::string, Outcome>& outcomes, std::uint64_t messages_per_run) {
    std::map<std::string, double> medians;
    for (const auto& [name, outcome] : outcomes) {
        std::vector<double> rates;
        for (const auto& sample : outcome.samples) {
            rates.push_back(sample.msg_per_s);
        }
        if (!rates.empty()) {
            medians[name] = median(rates);
        }
    }
    std::printf(
        "\n| scenario | median msg/s | min–max msg/s | broker CPU µs/msg | "
        "tool CPU µs/msg | vs %s | vs %s | duplicates |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n",
        kMemoryReference, kMosquittoReference);
    for (const auto& name : order) {
        const Outcome& outcome = outcomes.at(name);
        if (outcome.samples.empty()) {
            std::printf("| %s | failed | | | | | | |\n", name.c_str());
            continue;
        }
        std::vector<double> rates;
        std::vector<double> broker_cpu;
        std::vector<double> tool_cpu;
        std::uint64_t duplicates = 0;
        for (const auto& sample : outcome.samples) {
            rates.push_back(sample.msg_per_s);
            broker_cpu.push_back(sample.broker_cpu_us);
            tool_cpu.push_back(sample.tool_cpu_us);
            duplicates += sample.duplicates;
        }
        const double rate = medians.at(name);
        std::printf("| %s%s%s | %.0f | %.0f–%.0f | %.2f | %.2f | %s | %s | %llu |\n", name.c_str(),
                    outcome.lost ? " (LOST MESSAGES)" : "",
                    outcome.wrote_nothing ? " (data dir empty: not persisting?)" : "", rate,
                    *std::min_element(rates.begin(), rates.end()),
                    *std::max_element(rates.begin(), rates.end()), median(broker_cpu),
                    median(tool_cpu), ratio(rate, medians, kMemoryReference).c_str(),
                    ratio(rate, medians, kMosquittoReference).c_str(),
                    static_cast<unsigned long long>(duplicates));
    }
    std::printf(
        "\nmsg/s: %llu messages / (first publish -> subscriber holds all); CPU columns "
        "are medians per message; ratios compare medians.\n",
        static_cast<unsigned long long>(messages_per_run));
}

std::string machine_note() {
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&now));
    utsname system{};
    ::uname(&system);
    return "nproc " + std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + ", " +
           command_first_line(
               "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'") +
           ", Linux " + system.release + ", load average " +
           command_first_line("cut -d' ' -f1-3 /proc/loadavg") + "; " + date;
}

std::string command_first_line(const std::string& command) {
    std::string line;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[256];
        if (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
            line = buffer;
        }
        ::pclose(pipe);
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.pop_back();
    }
    return line;
}

}  // namespace petrel::bench
