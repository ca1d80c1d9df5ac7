// Child processes for broker tests: the broker itself and command-line clients
// (mosquitto_pub, mosquitto_sub). Output goes to files rather than pipes, so a chatty child
// can never block on a full pipe while the test waits for something else.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace petrel::test {

struct SpawnOptions {
    std::vector<std::string> argv;  // argv[0] is the program path (no PATH lookup)
    std::filesystem::path working_dir;
    std::filesystem::path stdout_path;  // appended to; empty: /dev/null
    std::filesystem::path stderr_path;  // appended to; empty: /dev/null
};

// Exit status as a shell reports it: the exit code, or 128 + signal number when a signal
// ended the process.
int shell_status(int wait_status);

// A running child. The child gets SIGKILL if the test process dies first, so a crashed
// test never leaves a broker behind.
class ChildProcess {
  public:
    // Throws std::runtime_error when fork fails; an exec failure shows as status 127.
    explicit ChildProcess(const SpawnOptions& options);
    // Kills (SIGKILL) and reaps the child if it still runs.
    ~ChildProcess();

    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    // False once the child has exited (reaps it).
    bool running();
    void send_signal(int signal_number);
    // Shell status once the child has exited, nullopt on timeout.
    std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
    // Status if already reaped.
    std::optional<int> status() const { return status_; }

  private:
    bool try_reap();

    pid_t pid_ = -1;
    std::optional<int> status_;
};

struct CommandResult {
    int status = -1;  // shell_status(); -1 when it timed out (and was killed)
    std::string out;
    std::string err;
};

// Runs `argv` to completion with stdout and stderr captured; kills it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds{20});

// Absolute path of an installed program such as "mosquitto_pub", or "" if not on PATH.
std::string find_program(const std::string& name);

}  // namespace petrel::test
