// Every client connection is a file descriptor, and the usual soft limit (1024) is far
// below what a broker serves. At start-up Petrel raises its soft RLIMIT_NOFILE to the hard
// limit, as production servers do; the hard limit itself is the administrator's
// (ulimit -Hn, systemd's LimitNOFILE=).
#pragma once

#include <sys/resource.h>

namespace petrel::app {

struct OpenFileLimit {
    rlim_t before = 0;  // the soft limit inherited
    rlim_t now = 0;     // the soft limit in force afterwards
    rlim_t hard = 0;
    int error = 0;  // errno of a failed getrlimit/setrlimit, else 0
};

// Raises the soft limit as far as the hard limit (or, when that is unlimited, the
// kernel's fs.nr_open) allows.
OpenFileLimit raise_open_file_limit();

}  // namespace petrel::app
