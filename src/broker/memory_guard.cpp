#include "memory_guard.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

namespace petrel::broker {

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

std::size_t page_size() {
    const long size = ::sysconf(_SC_PAGESIZE);
    return size > 0 ? static_cast<std::size_t>(size) : 4096;
}

std::optional<std::size_t> parse_size(const std::string& text) {
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end == text.data()) {
        return std::nullopt;  // also "max": no limit
    }
    return value;
}

std::optional<std::size_t> read_size(const std::filesystem::path& path) {
    std::ifstream file(path);
    std::string text;
    if (!(file >> text)) {
        return std::nullopt;
    }
    return parse_size(text);
}

// The smallest memory limit on the way from this process's cgroup up to the root (a
// parent's limit binds its children too). cgroup v2, then v1's memory controller.
std::optional<std::size_t> cgroup_memory_limit() {
    std::ifstream self("/proc/self/cgroup");
    std::optional<std::size_t> smallest;
    const auto consider = [&](const std::filesystem::path& mount, std::filesystem::path relative,
                              const char* file) {
        for (;;) {
            if (const auto limit = read_size(mount / relative / file)) {
                smallest = smallest ? std::min(*smallest, *limit) : *limit;
            }
            if (relative.empty()) {
                break;
            }
            relative = relative.parent_path();
        }
    };
    for (std::string line; std::getline(self, line);) {
        // "0::/path" (v2) or "N:memory:/path" (v1; the controller list may name several).
        const std::size_t first = line.find(':');
        const std::size_t second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) {
            continue;
        }
        const std::string controllers = line.substr(first + 1, second - first - 1);
        // Relative to the hierarchy's mount point (inside a cgroup namespace, often "/").
        const std::string path = line.substr(std::min(second + 2, line.size()));
        if (controllers.empty()) {
            consider("/sys/fs/cgroup", path, "memory.max");
        } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
            consider("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
        }
    }
    return smallest;
}

}  // namespace

MemoryGuard::MemoryGuard(std::size_t limit_bytes, spdlog::logger& log)
    : limit_(limit_bytes), resume_below_(limit_bytes / 10 * 9), log_(log) {}

void MemoryGuard::check() {
    if (limit_ == 0) {
        return;
    }
    if (const auto resident = anonymous_resident_bytes()) {
        update(*resident);
    }
}

void MemoryGuard::update(std::size_t resident_bytes) {
    if (limit_ == 0) {
        return;
    }
    const bool refusing = refusing_.load(std::memory_order_relaxed);
    if (!refusing && resident_bytes > limit_) {
        refusing_.store(true, std::memory_order_relaxed);
        log_.warn(
            "memory guard: resident {} MiB above memory_limit {} MiB, refusing new connections",
            resident_bytes / kMiB, limit_ / kMiB);
    } else if (refusing && resident_bytes < resume_below_) {
        refusing_.store(false, std::memory_order_relaxed);
        log_.warn(
            "memory guard: resident {} MiB below 90 % of memory_limit {} MiB, accepting new "
            "connections again",
            resident_bytes / kMiB, limit_ / kMiB);
    }
}

std::optional<std::size_t> anonymous_resident_bytes() {
    // statm: size resident shared text lib data dt, in pages; "shared" is the file-backed
    // (and shmem) part of "resident".
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0;
    std::size_t resident = 0;
    std::size_t shared = 0;
    if (!(statm >> size >> resident >> shared)) {
        return std::nullopt;
    }
    return (resident > shared ? resident - shared : 0) * page_size();
}

DefaultMemoryLimit default_memory_limit(std::size_t physical,
                                        std::optional<std::size_t> cgroup_limit) {
    if (cgroup_limit && *cgroup_limit < physical) {
        return {*cgroup_limit / 4 * 3, "the cgroup memory limit"};
    }
    return {physical / 4 * 3, "physical memory"};
}

DefaultMemoryLimit default_memory_limit() {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const std::size_t physical = pages > 0 ? static_cast<std::size_t>(pages) * page_size() : 0;
    if (physical == 0) {
        return {0, "physical memory"};  // unknown: the guard is off
    }
    return default_memory_limit(physical, cgroup_memory_limit());
}

}  // namespace petrel::broker
