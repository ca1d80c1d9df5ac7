#include "run_as_user.hpp"

#include <grp.h>
#include <pwd.h>
#include <spdlog/logger.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace petrel::app {

void run_as_user(const std::string& user, spdlog::logger& log) {
    if (::geteuid() != 0 || user == "root") {
        return;
    }
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    const int error = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
        throw std::runtime_error("user '" + user + "' (config 'user'): " +
                                 (error != 0 ? std::strerror(error) : "no such user"));
    }
    // Groups first: once the uid is no longer 0 they cannot be changed. glibc applies each
    // call to every thread of the process, so the workers already running switch too.
    if (::initgroups(user.c_str(), entry.pw_gid) != 0 || ::setgid(entry.pw_gid) != 0 ||
        ::setuid(entry.pw_uid) != 0) {
        throw std::runtime_error("cannot switch to user '" + user + "': " + std::strerror(errno));
    }
    log.info("running as user {} (uid {}, gid {})", user, entry.pw_uid, entry.pw_gid);
}

}  // namespace petrel::app
