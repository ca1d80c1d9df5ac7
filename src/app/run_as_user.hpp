// Mosquitto's `user`: a broker started as root gives root up once it has opened what
// needs root (its listeners, its store, its key files) and serves as that user.
#pragma once

#include <string>

namespace spdlog {
class logger;
}

namespace petrel::app {

// As root, switches the whole process (every thread) to `user`'s uid, primary group and
// supplementary groups; `root`, or a process not running as root, keeps who it is. Throws
// std::runtime_error naming the user when it does not exist or the switch fails.
void run_as_user(const std::string& user, spdlog::logger& log);

}  // namespace petrel::app
