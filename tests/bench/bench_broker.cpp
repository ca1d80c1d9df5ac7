#include "bench_broker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace petrel::bench {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds{20};

int shell_status(int wait_status) {
    if (WIFEXITED(wait_status)) {
        return WEXITSTATUS(wait_status);
    }
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return -1;
}

// Port of the first complete "listening on ADDRESS:PORT" line, if any.
std::optional<std::uint16_t> listening_port(std::string_view log) {
    constexpr std::string_view kListeningOn = "listening on ";
    const std::size_t at = log.find(kListeningOn);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    const std::size_t line_end = log.find('\n', at);
    if (line_end == std::string_view::npos) {
        return std::nullopt;  // still being written
    }
    std::string_view endpoint =
        log.substr(at + kListeningOn.size(), line_end - at - kListeningOn.size());
    endpoint = endpoint.substr(0, endpoint.find_first_of(" \r"));
    const std::size_t colon = endpoint.rfind(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    unsigned port = 0;
    const char* last = endpoint.data() + endpoint.size();
    const auto parsed = std::from_chars(endpoint.data() + colon + 1, last, port);
    if (parsed.ec != std::errc{} || parsed.ptr != last || port == 0 || port > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(port);
}

bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

std::uint16_t pick_free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(error));
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

BenchBroker::BenchBroker(std::vector<std::string> argv, std::filesystem::path run_dir,
                         std::filesystem::path log_path)
    : log_path_(std::move(log_path)) {
    // Everything the child needs is prepared before fork: after it, only async-signal-safe
    // calls are allowed (the benchmark process has threads).
    std::vector<char*> args;
    for (auto& arg : argv) {
        args.push_back(arg.data());
    }
    args.push_back(nullptr);
    const std::string dir = run_dir.string();
    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) {
        throw std::runtime_error("cannot open " + log_path_.string() + " or /dev/null");
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
        // Die with the benchmark, so an interrupted run leaves no broker behind.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        if (::chdir(dir.c_str()) != 0) {
            ::_exit(127);
        }
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    const int fork_error = errno;
    ::close(log_fd);
    ::close(null_fd);
    if (pid_ < 0) {
        throw std::runtime_error(std::string("fork: ") + std::strerror(fork_error));
    }
}

BenchBroker::~BenchBroker() {
    if (pid_ > 0 && !try_reap(false)) {
        ::kill(pid_, SIGKILL);
        try_reap(true);
    }
}

bool BenchBroker::try_reap(bool block) {
    if (status_) {
        return true;
    }
    int wait_status = 0;
    pid_t reaped = 0;
    do {
        reaped = ::waitpid(pid_, &wait_status, block ? 0 : WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == pid_) {
        status_ = shell_status(wait_status);
        return true;
    }
    return false;
}

bool BenchBroker::running() {
    return !try_reap(false);
}

std::uint16_t BenchBroker::wait_for_listening_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (const auto port = listening_port(read_text_file(log_path_))) {
            return *port;
        }
        if (!running()) {
            throw std::runtime_error("broker exited with status " + std::to_string(*status_) +
                                     " before listening; log:\n" + log_tail());
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    throw std::runtime_error("no 'listening on' log line within " +
                             std::to_string(timeout.count()) + " ms; log:\n" + log_tail());
}

void BenchBroker::wait_for_accept(std::uint16_t port, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) {
            throw std::runtime_error("broker exited with status " + std::to_string(*status_) +
                                     " before listening; log:\n" + log_tail());
        }
        if (accepts(port)) {
            return;
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    throw std::runtime_error("127.0.0.1:" + std::to_string(port) + " not accepting within " +
                             std::to_string(timeout.count()) + " ms; log:\n" + log_tail());
}

double BenchBroker::cpu_seconds() const {
    const std::string stat = read_text_file("/proc/" + std::to_string(pid_) + "/stat");
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const std::size_t name_end = stat.rfind(')');
    if (name_end == std::string::npos) {
        throw std::runtime_error("cannot read /proc/" + std::to_string(pid_) + "/stat");
    }
    std::istringstream fields(stat.substr(name_end + 1));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    // Fields 3..13 come first; utime and stime are fields 14 and 15 (proc(5)).
    for (int number = 3; number <= 13; ++number) {
        fields >> field;
    }
    fields >> utime >> stime;
    if (!fields) {
        throw std::runtime_error("cannot parse /proc/" + std::to_string(pid_) + "/stat");
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int BenchBroker::stop(std::chrono::milliseconds grace) {
    if (running()) {
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + grace;
        while (running() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(kPollInterval);
        }
        if (running()) {
            ::kill(pid_, SIGKILL);
            try_reap(true);
        }
    }
    return status_.value_or(-1);
}

std::string BenchBroker::log_tail(std::size_t bytes) const {
    const std::string text = read_text_file(log_path_);
    return text.size() <= bytes ? text : "[...]" + text.substr(text.size() - bytes);
}

}  // namespace petrel::bench
