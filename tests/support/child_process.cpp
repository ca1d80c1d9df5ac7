#include "support/child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace petrel::test {
namespace {

// Everything the child needs, prepared before fork: after fork only async-signal-safe
// calls are allowed, because the test process has other threads (client libraries).
struct PreparedSpawn {
    std::vector<std::string> storage;
    std::vector<char*> argv;
    std::string working_dir;
    std::string stdout_path;
    std::string stderr_path;
};

[[noreturn]] void child_fail(const char* what) {
    (void)!::write(STDERR_FILENO, what, __builtin_strlen(what));
    ::_exit(127);
}

int open_output(const std::string& path) {
    if (path.empty()) {
        return ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    }
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

[[noreturn]] void run_child(const PreparedSpawn& spawn, pid_t parent) {
    // Die with the test process; if it already died between fork and prctl, leave now.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        ::_exit(127);
    }
    // Undo what the test process may have done to signals: the broker must see SIGINT
    // and SIGTERM with their default dispositions until it installs its own handlers.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);

    const int in = ::open("/dev/null", O_RDONLY);
    const int out = open_output(spawn.stdout_path);
    const int err = spawn.stderr_path == spawn.stdout_path ? out : open_output(spawn.stderr_path);
    if (in < 0 || out < 0 || err < 0) {
        child_fail("child_process: cannot open stdio files\n");
    }
    if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(err, STDERR_FILENO) < 0) {
        child_fail("child_process: dup2 failed\n");
    }
    // Client libraries in the test process may hold sockets without FD_CLOEXEC; a broker
    // that inherited one would keep that connection open after the test closed it.
    ::close_range(3, ~0U, 0);
    if (!spawn.working_dir.empty() && ::chdir(spawn.working_dir.c_str()) != 0) {
        child_fail("child_process: chdir failed\n");
    }
    ::execv(spawn.argv[0], spawn.argv.data());
    child_fail("child_process: exec failed\n");
}

}  // namespace

int shell_status(int wait_status) {
    if (WIFEXITED(wait_status)) {
        return WEXITSTATUS(wait_status);
    }
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return -1;
}

ChildProcess::ChildProcess(const SpawnOptions& options) {
    if (options.argv.empty()) {
        throw std::runtime_error("ChildProcess: empty argv");
    }
    PreparedSpawn spawn;
    spawn.storage = options.argv;
    for (auto& arg : spawn.storage) {
        spawn.argv.push_back(arg.data());
    }
    spawn.argv.push_back(nullptr);
    spawn.working_dir = options.working_dir.string();
    spawn.stdout_path = options.stdout_path.string();
    spawn.stderr_path = options.stderr_path.string();

    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        run_child(spawn, parent);
    }
}

ChildProcess::~ChildProcess() {
    if (!status_) {
        ::kill(pid_, SIGKILL);
        int wait_status = 0;
        while (::waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
        }
    }
}

bool ChildProcess::try_reap() {
    if (status_) {
        return true;
    }
    int wait_status = 0;
    const pid_t reaped = ::waitpid(pid_, &wait_status, WNOHANG);
    if (reaped == pid_) {
        status_ = shell_status(wait_status);
        return true;
    }
    return false;
}

bool ChildProcess::running() {
    return !try_reap();
}

void ChildProcess::send_signal(int signal_number) {
    if (!status_) {
        ::kill(pid_, signal_number);
    }
}

std::optional<int> ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
    eventually([this] { return try_reap(); }, timeout, std::chrono::milliseconds{5});
    return status_;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    TempDir dir("petrel-cmd-");
    SpawnOptions options;
    options.argv = argv;
    options.stdout_path = dir.path() / "stdout";
    options.stderr_path = dir.path() / "stderr";
    CommandResult result;
    {
        ChildProcess child(options);
        if (auto status = child.wait_for_exit(timeout)) {
            result.status = *status;
        }
    }  // a child still running is killed here
    result.out = read_file(options.stdout_path);
    result.err = read_file(options.stderr_path);
    return result;
}

std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const std::filesystem::path candidate =
            std::filesystem::path(dirs.substr(start, end - start)) / name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate.string();
        }
        start = end + 1;
    }
    return {};
}

}  // namespace petrel::test
