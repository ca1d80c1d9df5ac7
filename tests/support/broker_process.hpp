// The real `petrel` binary, started for one test on an ephemeral loopback port.
//
// Each instance owns a fresh temporary directory holding the generated config file, the
// broker's log (its stderr and stdout) and a `data` directory; the broker runs with that
// directory as its working directory, so a default `./data` lands there too. The port is
// learnt from the broker's own "listening on ADDRESS:PORT" log line, never chosen by the
// test.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace petrel::test {

inline constexpr const char* kLoopback = "127.0.0.1";

struct BrokerOptions {
    // Config lines appended after the default `listener 0 127.0.0.1`.
    std::string extra_config;
    // Extra command-line arguments after `-c FILE` (e.g. "-v").
    std::vector<std::string> extra_args;
    // False: the config has no default listener; `extra_config` or `-p` must provide one.
    bool default_listener = true;
    std::chrono::milliseconds start_timeout = std::chrono::seconds{10};
};

class BrokerProcess {
  public:
    // Starts the broker and waits until every listener accepts. Throws std::runtime_error
    // (with the broker's log) when it exits or does not listen within the start timeout.
    explicit BrokerProcess(std::string extra_config = {});
    explicit BrokerProcess(BrokerOptions options);
    // Stops the broker with SIGTERM. Reports a test failure if it had died on its own or
    // does not exit cleanly; prints the log tail when the test failed.
    ~BrokerProcess();

    BrokerProcess(const BrokerProcess&) = delete;
    BrokerProcess& operator=(const BrokerProcess&) = delete;

    // Port of the first listener, and of every listener in log order.
    std::uint16_t port() const { return ports_.at(0); }
    const std::vector<std::uint16_t>& ports() const { return ports_; }

    // Log text of the current run (since the last start or restart), and of all runs.
    std::string log() const;
    std::string full_log() const;
    // Waits until the current run's log contains `needle`.
    bool wait_for_log(std::string_view needle,
                      std::chrono::milliseconds timeout = std::chrono::seconds{5}) const;

    bool running();
    // Sends `signal_number`, waits up to 10 s, then SIGKILLs; returns the shell status
    // (exit code, or 128 + signal). Returns the recorded status if it had already exited.
    int stop(int signal_number = SIGTERM);
    // SIGKILL, as a crash or power loss would; returns the shell status (137).
    int kill_hard();
    // Stops (SIGTERM) if running, then starts again with the same config and data
    // directory; ports may change.
    void restart();

    // The broker's process id while it runs (-1 before start).
    pid_t pid() const { return child_ ? child_->pid() : -1; }

    const std::filesystem::path& temp_dir() const { return dir_.path(); }
    std::filesystem::path config_path() const { return dir_.path() / "petrel.conf"; }
    std::filesystem::path data_dir() const { return dir_.path() / "data"; }
    std::filesystem::path log_path() const { return dir_.path() / "broker.log"; }

  private:
    void start();
    // Adds a test failure if the broker died without being told to.
    void report_unexpected_exit();
    std::size_t expected_listener_count() const;

    BrokerOptions options_;
    TempDir dir_;
    std::unique_ptr<ChildProcess> child_;
    std::vector<std::uint16_t> ports_;
    std::size_t log_offset_ = 0;  // where the current run's log starts
    bool stopped_on_purpose_ = false;
};

// Ports from every "listening on ADDRESS:PORT" line of `log`, in order.
std::vector<std::uint16_t> parse_listening_ports(std::string_view log);

// Runs the broker binary with `args` (no config is added) and captures its output.
CommandResult run_petrel(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds{10});

// Path of the broker binary under test: $PETREL_TEST_BINARY if set, else the one built
// with the tests.
std::string petrel_binary();

// Ignores SIGPIPE in the test process, so a write to a socket the broker closed is an
// error return, not the death of the test.
void ignore_sigpipe();

}  // namespace petrel::test
