// petrel: the broker's command line. Parses arguments and the config file, starts the
// broker, and waits for SIGINT/SIGTERM (SIGHUP reloads the TLS certificates and keys, and
// the TLS-PSK files).
// Start-up errors are printed as one line, exit 1.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "open_file_limit.hpp"
#include "petrel/broker/broker.hpp"
#include "petrel/broker/config.hpp"
#include "petrel/store/lmdb_store.hpp"
#include "run_as_user.hpp"

namespace {

spdlog::level::level_enum to_spdlog(petrel::broker::LogLevel level) {
    using petrel::broker::LogLevel;
    switch (level) {
        case LogLevel::Error:
            return spdlog::level::err;
        case LogLevel::Warning:
            return spdlog::level::warn;
        case LogLevel::Notice:
        case LogLevel::Info:
            return spdlog::level::info;
        case LogLevel::Debug:
            return spdlog::level::debug;
    }
    return spdlog::level::info;
}

// Blocks the stop signals and SIGHUP in every thread (workers inherit the mask) so that
// the main thread alone receives them, with sigwait.
sigset_t block_stop_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error value, not a signal
    return signals;
}

// `petrel --check-store DIR`: verifies a store without opening it for writing, prints
// what it holds and every problem found; exit 0 when sound, 2 when not.
int check_store_here(const std::string& directory) {
    const petrel::store::CheckReport report = petrel::store::check(directory);
    const petrel::store::StoreCounts& c = report.counts;
    std::printf(
        "store %s\n  sessions: %llu\n  subscriptions: %llu\n  queued messages: %llu\n"
        "  in-flight messages: %llu\n  incoming QoS 2 awaiting release: %llu\n"
        "  stored messages (payloads): %llu\n  retained: %llu\n",
        directory.c_str(), static_cast<unsigned long long>(c.sessions),
        static_cast<unsigned long long>(c.subscriptions), static_cast<unsigned long long>(c.queued),
        static_cast<unsigned long long>(c.inflight),
        static_cast<unsigned long long>(c.inbound_qos2),
        static_cast<unsigned long long>(c.messages), static_cast<unsigned long long>(c.retained));
    for (const std::string& problem : report.problems) {
        std::printf("problem: %s\n", problem.c_str());
    }
    std::printf("%s\n", report.ok() ? "ok" : "store has problems");
    return report.ok() ? 0 : 2;
}

// LMDB trusts its pages: garbage inside a branch page can make a read fault. The check runs
// in a child process so that such a store is reported as corrupt, not as a crash.
int check_store(const std::string& directory) {
    std::fflush(stdout);
    const pid_t child = fork();
    if (child < 0) {
        return check_store_here(directory);
    }
    if (child == 0) {
        const int code = check_store_here(directory);
        std::fflush(stdout);  // _exit() would drop what stdio still buffers
        _exit(code);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    std::printf("problem: reading the store crashed (signal %d): its pages are corrupt\n",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    std::printf("store has problems\n");
    return 2;
}

// While the store is read at start-up, a fault means a corrupt store (see check_store):
// say so in one line instead of dying silently. Only async-signal-safe calls here.
extern "C" void store_fault(int /*signal_number*/) {
    static const char kMessage[] =
        "petrel: the store is corrupt (reading it crashed); run petrel --check-store DIR\n";
    [[maybe_unused]] const auto written = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    _exit(1);  // a start-up error like any other, not a crash
}

std::string describe_limit(rlim_t limit) {
    return limit == RLIM_INFINITY ? "unlimited" : std::to_string(limit);
}

// Raises the descriptor limit (one per client) and says where it stands.
void raise_and_log_open_file_limit(spdlog::logger& log) {
    // Below this a broker runs out of descriptors at a few thousand clients.
    constexpr rlim_t kFewDescriptors = 4096;
    const petrel::app::OpenFileLimit files = petrel::app::raise_open_file_limit();
    if (files.error != 0) {
        log.warn("cannot raise the open file limit (now {}, hard limit {}): {}",
                 describe_limit(files.now), describe_limit(files.hard), std::strerror(files.error));
    } else if (files.now != files.before) {
        log.info("open file limit {} (raised from {}, the hard limit is {})",
                 describe_limit(files.now), describe_limit(files.before),
                 describe_limit(files.hard));
    } else {
        log.info("open file limit {} (hard limit {})", describe_limit(files.now),
                 describe_limit(files.hard));
    }
    if (files.now < kFewDescriptors) {
        log.warn(
            "open file limit {} is low: each client takes one, so accepts will fail beyond "
            "about that many clients; raise the hard limit (ulimit -Hn, LimitNOFILE=)",
            describe_limit(files.now));
    }
}

void report_store_faults(bool on) {
    struct sigaction action {};
    action.sa_handler = on ? store_fault : SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, nullptr);
    sigaction(SIGBUS, &action, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Petrel, an MQTT 3.1/3.1.1/5.0 broker"};
    std::optional<std::string> config_path;
    std::optional<std::uint16_t> port;
    bool verbose = false;
    app.add_option("-c,--config", config_path, "Config file (keyword value lines)");
    app.add_option("-p,--port", port,
                   "Listen on 127.0.0.1:PORT instead of the configured listeners")
        ->check(CLI::Range(0, 65535));
    app.add_flag("-v,--verbose", verbose, "Log at debug level");
    std::optional<std::string> check_directory;
    app.add_option("--check-store", check_directory,
                   "Verify the store in DIR, print what it holds, and exit (0: sound, 2: not)")
        ->type_name("DIR");
    app.set_version_flag("--version", std::string("petrel ") + PETREL_VERSION);
    CLI11_PARSE(app, argc, argv);
    if (check_directory) {
        return check_store(*check_directory);
    }

    auto log = spdlog::stderr_color_mt("petrel");
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    try {
        petrel::broker::Config config;
        if (config_path) {
            config = petrel::broker::load_config_file(*config_path);
        }
        if (port) {
            petrel::broker::ListenerConfig listener;
            listener.port = *port;
            listener.bind_address = "127.0.0.1";
            config.listeners = {listener};
        }
        log->set_level(verbose ? spdlog::level::debug : to_spdlog(config.log_level));
        log->flush_on(spdlog::level::trace);
        raise_and_log_open_file_limit(*log);

        const sigset_t stop_signals = block_stop_signals();
        report_store_faults(true);
        petrel::broker::Broker broker(config, log);  // reads the store
        report_store_faults(false);
        broker.start();
        if (config.user) {
            // After the listeners, the store and the key files are open, as Mosquitto does.
            petrel::app::run_as_user(*config.user, *log);
        }
        int received = 0;
        while (sigwait(&stop_signals, &received) == 0 && received == SIGHUP) {
            log->info("received SIGHUP, reloading TLS certificates and PSK files");
            broker.reload_tls();
        }
        log->info("received {}, shutting down", received == SIGINT ? "SIGINT" : "SIGTERM");
        broker.stop();
    } catch (const petrel::broker::ConfigError& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "petrel: %s\n", error.what());
        return 1;
    }
    return 0;
}
