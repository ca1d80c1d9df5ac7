// Choosing client ids by the worker thread their session lives on, so that a test can put
// a publisher and its subscribers on different workers (the cross-thread path) on purpose.
//
// The broker homes a session on worker std::hash<std::string>(client id) % threads; the
// test process uses the same standard library, so it can pick ids for a given worker. The
// broker logs "... on worker N" for every connection: worker_in_log() reads it back, so a
// test can check that the placement it asked for is the one it got.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "support/broker_process.hpp"
#include "support/wait.hpp"

namespace petrel::test {

// `prefix` plus a suffix, such that the session lands on `worker` of `threads`.
inline std::string client_id_on_worker(const std::string& prefix, unsigned worker,
                                       unsigned threads) {
    for (unsigned n = 0;; ++n) {
        std::string id = prefix + "-" + std::to_string(n);
        if (std::hash<std::string>{}(id) % threads == worker) {
            return id;
        }
    }
}

// The worker of the latest "client 'ID' (...) connected ... on worker N" line in `log`.
inline std::optional<unsigned> worker_in_log(std::string_view log, const std::string& client_id) {
    const std::string needle = "client '" + client_id + "' (";
    const std::string_view marker = ") on worker ";
    std::size_t at = log.size();
    while (at > 0 && (at = log.rfind(needle, at - 1)) != std::string_view::npos) {
        const std::size_t line_end = std::min(log.find('\n', at), log.size());
        const std::string_view line = log.substr(at, line_end - at);
        if (const std::size_t worker = line.rfind(marker); worker != std::string_view::npos) {
            return static_cast<unsigned>(
                std::stoul(std::string(line.substr(worker + marker.size()))));
        }
    }
    return std::nullopt;
}

// The broker homed `id` on `worker`, as its log says (waiting for the line to appear).
inline void expect_on_worker(const BrokerProcess& broker, const std::string& id, unsigned worker) {
    EXPECT_TRUE(eventually([&] { return worker_in_log(broker.log(), id) == worker; }))
        << id << " is not on worker " << worker;
}

}  // namespace petrel::test
