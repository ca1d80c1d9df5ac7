// Helpers shared by the store tests: a temporary directory, message builders, and a
// blocking commit.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "petrel/store/store.hpp"

namespace petrel::store::test {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "petrel-store-XXXXXX");
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline session::Message make_message(std::string topic, std::string payload,
                                     protocol::Qos qos = 1) {
    session::Message m;
    m.topic = std::move(topic);
    m.payload = protocol::make_payload(std::move(payload));
    m.qos = qos;
    m.publisher = "publisher";
    return m;
}

inline QueuedEntry queued(std::string client, std::uint64_t seq, MessageId message,
                          std::uint64_t bytes = 0) {
    QueuedEntry e;
    e.client_id = std::move(client);
    e.seq = seq;
    e.message = message;
    e.qos = 1;
    e.bytes = bytes;
    return e;
}

inline InflightEntry inflight(std::string client, std::uint64_t seq, protocol::PacketId id,
                              MessageId message) {
    InflightEntry e;
    e.client_id = std::move(client);
    e.seq = seq;
    e.packet_id = id;
    e.message = message;
    e.qos = 2;
    e.state = session::OutboundState::AwaitingPubrec;
    return e;
}

// A field of /proc/self/status in KiB ("VmRSS", "RssFile"), 0 when absent.
inline std::uint64_t status_kib(const std::string& field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with(field + ":")) {
            return std::stoull(line.substr(field.size() + 1));
        }
    }
    return 0;
}

// Submits and waits for the callback, whichever thread it runs on.
inline CommitResult commit(Store& store, WriteBatch batch) {
    std::promise<CommitResult> promise;
    auto future = promise.get_future();
    store.submit(std::move(batch), [&](CommitResult r) { promise.set_value(std::move(r)); });
    return future.get();
}

}  // namespace petrel::store::test
