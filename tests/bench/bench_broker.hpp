// A broker process started for one benchmark run: Petrel or Mosquitto, on 127.0.0.1, with its
// config, log and data under one run directory.
//
// Unlike tests/support's BrokerProcess this has no gtest dependency and no knowledge of
// either broker's config: the caller writes the config text and says how readiness shows
// (Petrel's "listening on ADDRESS:PORT" log line, or a port that starts accepting). It also
// reads the broker's CPU time from /proc, which is what the benchmark reports per message.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace petrel::bench {

class BenchBroker {
  public:
    // Writes nothing; starts `argv` (argv[0] is the program path) in `run_dir` with stdout
    // and stderr appended to `log_path`. Throws std::runtime_error if fork fails.
    BenchBroker(std::vector<std::string> argv, std::filesystem::path run_dir,
                std::filesystem::path log_path);
    // SIGKILLs and reaps the broker if it still runs.
    ~BenchBroker();

    BenchBroker(const BenchBroker&) = delete;
    BenchBroker& operator=(const BenchBroker&) = delete;

    pid_t pid() const { return pid_; }
    // False once the broker has exited (reaps it).
    bool running();

    // Waits for a "listening on ADDRESS:PORT" log line and returns the port. Throws with
    // the log tail if the broker exits or does not listen within `timeout`.
    std::uint16_t wait_for_listening_line(std::chrono::milliseconds timeout);
    // Waits until 127.0.0.1:`port` accepts a TCP connection. Throws as above.
    void wait_for_accept(std::uint16_t port, std::chrono::milliseconds timeout);

    // utime + stime of the whole process (all threads) in seconds, from /proc/PID/stat.
    double cpu_seconds() const;

    // SIGTERM, then SIGKILL after `grace`; returns the shell status (exit code, or
    // 128 + signal) or the status it had already exited with.
    int stop(std::chrono::milliseconds grace);
    // Status if the broker has exited and been reaped.
    std::optional<int> exit_status() const { return status_; }

    std::string log_tail(std::size_t bytes = 4000) const;

  private:
    bool try_reap(bool block);

    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path log_path_;
};

// A port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close). For
// brokers that cannot report an ephemeral port themselves (Mosquitto).
std::uint16_t pick_free_port();

// Whole file as text; "" if it cannot be read.
std::string read_text_file(const std::filesystem::path& path);
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace petrel::bench
