#include "open_file_limit.hpp"

#include <cerrno>
#include <fstream>

namespace petrel::app {

namespace {

// The most descriptors a process may have, when the hard limit says "unlimited" (a soft
// limit of RLIM_INFINITY is refused for RLIMIT_NOFILE).
rlim_t kernel_maximum() {
    std::ifstream file("/proc/sys/fs/nr_open");
    unsigned long long value = 0;
    if (file >> value && value > 0) {
        return static_cast<rlim_t>(value);
    }
    return 1048576;  // the kernel's default nr_open
}

}  // namespace

OpenFileLimit raise_open_file_limit() {
    OpenFileLimit result;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        result.error = errno;
        return result;
    }
    result.before = limit.rlim_cur;
    result.now = limit.rlim_cur;
    result.hard = limit.rlim_max;
    const rlim_t target = limit.rlim_max == RLIM_INFINITY ? kernel_maximum() : limit.rlim_max;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < target) {
        limit.rlim_cur = target;
        if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
            result.now = target;
        } else {
            result.error = errno;
        }
    }
    return result;
}

}  // namespace petrel::app
