// Offline-queue benchmark: how much memory the broker needs, and how long it takes to start,
// when millions of QoS 1 messages wait in LMDB for offline persistent sessions.
//
// One run: start Petrel on a fresh store; create S persistent subscribers (MQTT 3.1.1, clean
// session 0, QoS 1 on q/#) and disconnect them; publish M QoS 1 messages from a few pipelined
// publishers, so that S x M queue entries exist; read the broker's RSS and the store's size;
// stop it (SIGTERM) and restart it on the same store a few times, timing the "listening on"
// line and reading its own "recovered ... in N ms" line; run `petrel --check-store`; then
// reconnect one subscriber and drain its queue, checking count and per-publisher order by the
// sequence number in each payload. Prints a Markdown table.
//
//   cmake --build build-release --target petrel bench_offline_queue
//   build-release/tests/bench/bench_offline_queue --subscribers 10 --messages 100000
//       (add --work-dir DIR --keep to keep the store)
//
// --reuse skips the fill and measures restarts and the drain of a store an earlier run left
// (with --keep). Only 127.0.0.1 traffic; the broker binds port 0 and reports it.
#include <fcntl.h>
#include <mosquitto.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef PETREL_OQ_DEFAULT_BINARY
#define PETREL_OQ_DEFAULT_BINARY "petrel"
#endif

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string fmt_double(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string fmt_count(std::uint64_t value) {
    std::string digits = std::to_string(value);
    for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) {
        digits.insert(static_cast<std::size_t>(at), ",");
    }
    return digits;
}

std::string fmt_mib(std::uint64_t bytes) {
    return fmt_double(bytes / 1048576.0, 1) + " MiB";
}

// ---------------------------------------------------------------------------------------
// The broker process: stdout and stderr go through a pipe that a thread reads, so that each
// log line gets the moment it appeared; the lines are also appended to a log file.

struct LogLine {
    std::string text;
    Clock::time_point seen;
};

class BrokerProcess {
  public:
    BrokerProcess(const std::string& binary, const fs::path& config, const fs::path& log_path)
        : log_(log_path, std::ios::app) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        std::vector<std::string> args{binary, "-c", config.string()};
        std::vector<char*> argv;
        for (std::string& arg : args) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        started_ = Clock::now();
        pid_ = fork();
        if (pid_ < 0) {
            throw std::runtime_error("fork failed");
        }
        if (pid_ == 0) {
            dup2(fds[1], STDOUT_FILENO);
            dup2(fds[1], STDERR_FILENO);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(fds[1]);
        reader_ = std::thread([this, fd = fds[0]] { read_lines(fd); });
    }

    ~BrokerProcess() {
        if (!reaped_) {
            kill(pid_, SIGKILL);
            reap();
        }
        if (reader_.joinable()) {
            reader_.join();
        }
    }

    BrokerProcess(const BrokerProcess&) = delete;
    BrokerProcess& operator=(const BrokerProcess&) = delete;

    pid_t pid() const { return pid_; }
    Clock::time_point started() const { return started_; }

    // The first line containing `needle`, waiting up to `timeout`; nullopt if the broker's
    // output ended (it exited) or the time ran out.
    std::optional<LogLine> wait_for_line(const std::string& needle,
                                         std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        const auto deadline = Clock::now() + timeout;
        std::size_t checked = 0;
        for (;;) {
            for (; checked < lines_.size(); ++checked) {
                if (lines_[checked].text.find(needle) != std::string::npos) {
                    return lines_[checked];
                }
            }
            if (ended_ || cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
                for (; checked < lines_.size(); ++checked) {
                    if (lines_[checked].text.find(needle) != std::string::npos) {
                        return lines_[checked];
                    }
                }
                return std::nullopt;
            }
        }
    }

    std::string tail(std::size_t count = 20) {
        std::lock_guard lock(mutex_);
        std::string out;
        for (std::size_t i = lines_.size() > count ? lines_.size() - count : 0; i < lines_.size();
             ++i) {
            out += "    " + lines_[i].text + "\n";
        }
        return out;
    }

    // Lines with level warning or error (spdlog prints "warning"/"error" after the time).
    std::vector<std::string> problems() {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        for (const LogLine& line : lines_) {
            if (line.text.find(" warning ") != std::string::npos ||
                line.text.find(" error ") != std::string::npos ||
                line.text.find(" critical ") != std::string::npos) {
                out.push_back(line.text);
            }
        }
        return out;
    }

    // SIGTERM, then SIGKILL after `grace`. Returns the exit status (128 + signal if killed by
    // one) and how long the broker took to exit.
    std::pair<int, double> stop(std::chrono::milliseconds grace) {
        const auto start = Clock::now();
        kill(pid_, SIGTERM);
        while (!reaped_ && Clock::now() - start < grace) {
            if (try_reap(false)) {
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        if (!reaped_) {
            std::cerr << "broker did not stop within " << grace.count() << " ms; SIGKILL\n";
            kill(pid_, SIGKILL);
            reap();
        }
        return {status_, seconds_since(start)};
    }

    bool running() { return !reaped_ && !try_reap(false); }
    int status() const { return status_; }

  private:
    void read_lines(int fd) {
        std::string pending;
        char buffer[8192];
        for (;;) {
            const ssize_t got = read(fd, buffer, sizeof buffer);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got <= 0) {
                break;
            }
            const auto now = Clock::now();
            pending.append(buffer, static_cast<std::size_t>(got));
            std::size_t start = 0;
            std::lock_guard lock(mutex_);
            for (std::size_t end; (end = pending.find('\n', start)) != std::string::npos;
                 start = end + 1) {
                std::string text = strip_colour(pending.substr(start, end - start));
                log_ << text << '\n';
                lines_.push_back(LogLine{std::move(text), now});
            }
            pending.erase(0, start);
            log_.flush();
            cv_.notify_all();
        }
        close(fd);
        std::lock_guard lock(mutex_);
        ended_ = true;
        cv_.notify_all();
    }

    static std::string strip_colour(const std::string& text) {
        static const std::regex kEscape("\x1b\\[[0-9;]*m");
        return std::regex_replace(text, kEscape, "");
    }

    bool try_reap(bool block) {
        int raw = 0;
        const pid_t got = waitpid(pid_, &raw, block ? 0 : WNOHANG);
        if (got != pid_) {
            return false;
        }
        reaped_ = true;
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        return true;
    }
    void reap() {
        while (!reaped_ && !try_reap(true)) {
        }
    }

    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = -1;
    Clock::time_point started_;
    std::ofstream log_;
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<LogLine> lines_;  // guarded by mutex_
    bool ended_ = false;          // guarded by mutex_
};

struct Memory {
    std::uint64_t rss = 0, hwm = 0, anon = 0, file = 0;  // bytes
};

Memory read_memory(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    Memory memory;
    std::string key;
    std::uint64_t kib = 0;
    std::string line;
    while (std::getline(status, line)) {
        std::istringstream fields(line);
        if (!(fields >> key >> kib)) {
            continue;
        }
        if (key == "VmRSS:")
            memory.rss = kib * 1024;
        if (key == "VmHWM:")
            memory.hwm = kib * 1024;
        if (key == "RssAnon:")
            memory.anon = kib * 1024;
        if (key == "RssFile:")
            memory.file = kib * 1024;
    }
    return memory;
}

double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) {
        return 0;
    }
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 is the state
        if (i == 14)
            utime = std::stoull(field);
        if (i == 15)
            stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Allocated bytes (du) and apparent bytes of everything under `dir`.
std::pair<std::uint64_t, std::uint64_t> disk_usage(const fs::path& dir) {
    std::uint64_t allocated = 0, apparent = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        struct stat info {};
        if (entry.is_regular_file() && ::stat(entry.path().c_str(), &info) == 0) {
            allocated += static_cast<std::uint64_t>(info.st_blocks) * 512;
            apparent += static_cast<std::uint64_t>(info.st_size);
        }
    }
    return {allocated, apparent};
}

// Drops the store's own files from the page cache (only clean pages go, hence the fsync), so
// that a restart reads them from disk, without touching the rest of the machine's cache.
void drop_cached_pages(const fs::path& dir) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) {
            continue;
        }
        const int fd = open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        fsync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

// Runs `petrel --check-store DIR`; returns its exit status, output and duration.
struct CheckResult {
    int status = -1;
    std::string output;
    double seconds = 0;
    std::uint64_t max_rss = 0;  // bytes
};

CheckResult check_store(const std::string& binary, const fs::path& dir) {
    CheckResult result;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed");
    }
    std::vector<std::string> args{binary, "--check-store", dir.string()};
    std::vector<char*> argv;
    for (std::string& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const auto start = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[1]);
    char buffer[4096];
    for (ssize_t got; (got = read(fds[0], buffer, sizeof buffer)) != 0;) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        result.output.append(buffer, static_cast<std::size_t>(got));
    }
    close(fds[0]);
    int raw = 0;
    struct rusage usage {};
    wait4(pid, &raw, 0, &usage);
    result.max_rss = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
    result.seconds = seconds_since(start);
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return result;
}

// ---------------------------------------------------------------------------------------
// MQTT clients (libmosquitto, its own network thread per client).

constexpr std::size_t kHeaderBytes = 12;  // u32 publisher index, u64 sequence number

class Client {
  public:
    Client(const std::string& id, bool clean_session) {
        mosq_ = mosquitto_new(id.c_str(), clean_session, this);
        if (mosq_ == nullptr) {
            throw std::runtime_error("mosquitto_new failed");
        }
        mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_connect_with_flags_callback_set(mosq_,
                                                  [](mosquitto*, void* self, int rc, int flags) {
                                                      auto& client = *static_cast<Client*>(self);
                                                      std::lock_guard lock(client.mutex_);
                                                      client.connack_rc_ = rc;
                                                      client.session_present_ = (flags & 1) != 0;
                                                      client.connected_ = rc == 0;
                                                      ++client.connacks_;
                                                      client.cv_.notify_all();
                                                  });
        mosquitto_disconnect_callback_set(mosq_, [](mosquitto*, void* self, int) {
            auto& client = *static_cast<Client*>(self);
            std::lock_guard lock(client.mutex_);
            client.connected_ = false;
            ++client.disconnects_;
            client.cv_.notify_all();
        });
        mosquitto_subscribe_callback_set(
            mosq_, [](mosquitto*, void* self, int, int count, const int* granted) {
                auto& client = *static_cast<Client*>(self);
                std::lock_guard lock(client.mutex_);
                client.granted_ = count > 0 ? granted[0] : 128;
                client.cv_.notify_all();
            });
        mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int) {
            auto& client = *static_cast<Client*>(self);
            std::lock_guard lock(client.mutex_);
            ++client.acked_;
            client.cv_.notify_all();
        });
        mosquitto_message_callback_set(
            mosq_, [](mosquitto*, void* self, const mosquitto_message* message) {
                auto& client = *static_cast<Client*>(self);
                if (client.on_message) {
                    client.on_message(message);
                }
            });
    }

    ~Client() {
        if (looping_) {
            mosquitto_disconnect(mosq_);
            mosquitto_loop_stop(mosq_, false);
        }
        mosquitto_destroy(mosq_);
    }

    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    mosquitto* handle() { return mosq_; }

    // Called on the client's network thread; set before connect().
    std::function<void(const mosquitto_message*)> on_message;

    // Connects and waits for CONNACK; returns the session-present flag.
    bool connect(std::uint16_t port) {
        if (mosquitto_connect(mosq_, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
            throw std::runtime_error("mosquitto_connect failed");
        }
        mosquitto_loop_start(mosq_);
        looping_ = true;
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, 30s, [&] { return connacks_ > 0; }) || connack_rc_ != 0) {
            throw std::runtime_error("no successful CONNACK (rc " + std::to_string(connack_rc_) +
                                     ")");
        }
        return session_present_;
    }

    void subscribe(const std::string& filter, int qos) {
        if (mosquitto_subscribe(mosq_, nullptr, filter.c_str(), qos) != MOSQ_ERR_SUCCESS) {
            throw std::runtime_error("mosquitto_subscribe failed");
        }
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, 30s, [&] { return granted_ >= 0; }) || granted_ != qos) {
            throw std::runtime_error("SUBACK missing or granted " + std::to_string(granted_));
        }
    }

    void disconnect() {
        mosquitto_disconnect(mosq_);
        mosquitto_loop_stop(mosq_, false);
        looping_ = false;
    }

    // Publishes `count` QoS 1 messages on `topic`, at most `window` unacknowledged, payload
    // `payload_bytes` starting with (publisher, seq). Stops early when `stop` is set. Returns
    // how many were published (all of them acknowledged).
    std::uint64_t publish_sequence(const std::string& topic, std::uint32_t publisher,
                                   std::uint64_t count, std::size_t payload_bytes,
                                   std::size_t window, const std::atomic<bool>& stop,
                                   std::atomic<std::uint64_t>& acked_total) {
        std::vector<unsigned char> payload(payload_bytes, 'x');
        std::memcpy(payload.data(), &publisher, 4);
        std::uint64_t sent = 0;
        std::uint64_t counted = 0;
        for (std::uint64_t seq = 0; seq < count && !stop.load(); ++seq) {
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return sent - acked_ < window; });
                acked_total += acked_ - counted;
                counted = acked_;
            }
            std::memcpy(payload.data() + 4, &seq, 8);
            const int rc =
                mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                  payload.data(), 1, false);
            if (rc != MOSQ_ERR_SUCCESS) {
                throw std::runtime_error(std::string("mosquitto_publish: ") +
                                         mosquitto_strerror(rc));
            }
            ++sent;
        }
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, 120s, [&] { return acked_ == sent; })) {
            throw std::runtime_error("publisher " + std::to_string(publisher) + ": " +
                                     std::to_string(sent - acked_) +
                                     " PUBACKs missing after 120 s");
        }
        acked_total += acked_ - counted;
        return sent;
    }

    int disconnects() {
        std::lock_guard lock(mutex_);
        return disconnects_;
    }

  private:
    mosquitto* mosq_ = nullptr;
    bool looping_ = false;
    std::mutex mutex_;
    std::condition_variable cv_;
    int connack_rc_ = -1;  // guarded by mutex_, as are the fields below
    int connacks_ = 0;
    bool session_present_ = false;
    bool connected_ = false;
    int disconnects_ = 0;
    int granted_ = -1;
    std::uint64_t acked_ = 0;
};

// What a drained subscriber received, checked per publisher against 0, 1, 2, ...
struct DrainCheck {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::uint64_t> next;  // expected seq per publisher; guarded by mutex
    std::uint64_t received = 0;
    std::uint64_t duplicates_or_reordered = 0;  // seq below the expected one
    std::uint64_t gaps = 0;                     // seqs skipped
    std::uint64_t malformed = 0;
    std::uint64_t dup_flag = 0;
    Clock::time_point last;
};

// ---------------------------------------------------------------------------------------

struct Options {
    std::string petrel = PETREL_OQ_DEFAULT_BINARY;
    std::string work_dir = "/tmp/petrel-offline-queue";
    unsigned subscribers = 10;
    std::uint64_t messages = 100000;
    std::size_t payload = 32;
    unsigned publishers = 4;
    std::size_t window = 100;
    std::string mode = "batch";
    std::uint64_t map_size = 1ull << 30;
    std::optional<std::size_t> queue_window;
    unsigned broker_inflight = 100;
    unsigned threads = 0;
    unsigned restarts = 3;
    unsigned cold_restarts = 1;
    double fill_limit_s = 900;
    bool drain = true;
    unsigned drain_client = 0;
    bool reuse = false;
    bool keep = false;
};

struct Meta {  // what the fill left in the store, for --reuse and the drain check
    unsigned subscribers = 0;
    std::vector<std::uint64_t> per_publisher;
};

void write_meta(const fs::path& path, const Meta& meta) {
    std::ofstream out(path);
    out << meta.subscribers << ' ' << meta.per_publisher.size();
    for (std::uint64_t count : meta.per_publisher) {
        out << ' ' << count;
    }
    out << '\n';
}

Meta read_meta(const fs::path& path) {
    std::ifstream in(path);
    Meta meta;
    std::size_t publishers = 0;
    if (!(in >> meta.subscribers >> publishers)) {
        throw std::runtime_error("no usable " + path.string() + " (run once with --keep)");
    }
    meta.per_publisher.resize(publishers);
    for (auto& count : meta.per_publisher) {
        in >> count;
    }
    return meta;
}

std::string config_text(const Options& o, const fs::path& data) {
    std::ostringstream c;
    c << "listener 0 127.0.0.1\n"
      << "log_level info\n"
      << "persistence true\n"
      << "persistence_location " << data.string() << "\n"
      << "persistence_mode " << o.mode << "\n"
      << "max_queued_messages 0\n"
      << "max_inflight_messages " << o.broker_inflight << "\n"
      << "store_map_size " << o.map_size << "\n";
    if (o.queue_window) {
        c << "queue_memory_window " << *o.queue_window << "\n";
    }
    if (o.threads != 0) {
        c << "threads " << o.threads << "\n";
    }
    return c.str();
}

std::uint16_t wait_listening(BrokerProcess& broker, double* seconds) {
    auto line = broker.wait_for_line("listening on 127.0.0.1:", 3600s);
    if (!line) {
        throw std::runtime_error("broker did not listen (exit status " +
                                 std::to_string(broker.status()) + "); log tail:\n" +
                                 broker.tail());
    }
    if (seconds != nullptr) {
        *seconds = std::chrono::duration<double>(line->seen - broker.started()).count();
    }
    const auto colon = line->text.rfind(':');
    return static_cast<std::uint16_t>(std::stoul(line->text.substr(colon + 1)));
}

struct Row {
    std::string metric;
    std::string value;
};

int run(const Options& o) {
    const fs::path work = o.work_dir;
    const fs::path data = work / "data";
    const fs::path config = work / "petrel.conf";
    const fs::path log = work / "petrel.log";
    const fs::path meta_path = work / "fill.meta";
    std::vector<Row> rows;
    auto add = [&](std::string metric, std::string value) {
        std::cout << "  " << metric << ": " << value << std::endl;
        rows.push_back(Row{std::move(metric), std::move(value)});
    };

    Meta meta;
    if (o.reuse) {
        meta = read_meta(meta_path);
    } else {
        fs::remove_all(data);
        fs::remove(meta_path);
        fs::remove(log);
    }
    fs::create_directories(work);
    {
        std::ofstream out(config);
        out << config_text(o, data);
    }
    std::cout << "config " << config << ":\n" << config_text(o, data) << std::flush;

    if (!o.reuse) {
        BrokerProcess broker(o.petrel, config, log);
        const std::uint16_t port = wait_listening(broker, nullptr);
        std::cout << "broker pid " << broker.pid() << " on port " << port << std::endl;

        for (unsigned i = 0; i < o.subscribers; ++i) {
            Client subscriber("oq-sub-" + std::to_string(i), false);
            subscriber.connect(port);
            subscriber.subscribe("q/#", 1);
            subscriber.disconnect();
        }
        std::this_thread::sleep_for(200ms);  // let the broker see the disconnects
        meta.subscribers = o.subscribers;
        const Memory before = read_memory(broker.pid());
        const double cpu_before = cpu_seconds(broker.pid());

        std::vector<std::unique_ptr<Client>> publishers;
        for (unsigned p = 0; p < o.publishers; ++p) {
            publishers.push_back(std::make_unique<Client>("oq-pub-" + std::to_string(p), true));
            mosquitto_max_inflight_messages_set(publishers.back()->handle(),
                                                static_cast<unsigned>(o.window));
            publishers.back()->connect(port);
        }
        std::atomic<bool> stop{false};
        std::atomic<std::uint64_t> acked{0};
        std::atomic<unsigned> done{0};
        meta.per_publisher.assign(o.publishers, 0);
        std::vector<std::string> errors(o.publishers);
        std::vector<std::thread> threads;
        const auto fill_start = Clock::now();
        for (unsigned p = 0; p < o.publishers; ++p) {
            const std::uint64_t share =
                o.messages / o.publishers + (p < o.messages % o.publishers ? 1 : 0);
            threads.emplace_back([&, p, share] {
                try {
                    meta.per_publisher[p] = publishers[p]->publish_sequence(
                        "q/" + std::to_string(p), p, share, o.payload, o.window, stop, acked);
                } catch (const std::exception& error) {
                    errors[p] = error.what();
                }
                ++done;
            });
        }
        std::uint64_t peak_rss = 0;
        std::uint64_t peak_anon = 0;
        auto last_report = Clock::now();
        while (done.load() < o.publishers) {
            std::this_thread::sleep_for(100ms);
            if (!broker.running()) {
                stop = true;
                break;
            }
            const Memory now = read_memory(broker.pid());
            peak_rss = std::max(peak_rss, now.rss);
            peak_anon = std::max(peak_anon, now.anon);
            if (Clock::now() - last_report >= 10s) {
                last_report = Clock::now();
                const double elapsed = seconds_since(fill_start);
                const std::uint64_t n = acked.load();
                std::cout << "  fill " << fmt_double(elapsed, 0) << " s: " << fmt_count(n)
                          << " messages acked, " << fmt_count(n * o.subscribers) << " entries, "
                          << fmt_count(static_cast<std::uint64_t>(n * o.subscribers / elapsed))
                          << " entries/s, broker RSS " << fmt_mib(now.rss) << " (anon "
                          << fmt_mib(now.anon) << ")" << std::endl;
            }
            if (seconds_since(fill_start) > o.fill_limit_s && !stop) {
                std::cout << "  fill time limit reached, stopping the publishers" << std::endl;
                stop = true;
            }
        }
        for (std::thread& thread : threads) {
            thread.join();
        }
        const double fill_s = seconds_since(fill_start);
        int publisher_disconnects = 0;
        for (auto& publisher : publishers) {
            publisher_disconnects += publisher->disconnects();
            publisher->disconnect();
        }
        for (const std::string& error : errors) {
            if (!error.empty()) {
                std::cerr << "publisher error: " << error << "\n";
            }
        }
        if (!broker.running()) {
            std::cerr << "BROKER EXITED during the fill, status " << broker.status()
                      << "; log tail:\n"
                      << broker.tail(40);
            return 1;
        }
        std::uint64_t published = 0;
        for (std::uint64_t count : meta.per_publisher) {
            published += count;
        }
        const std::uint64_t entries = published * o.subscribers;
        const double cpu = cpu_seconds(broker.pid()) - cpu_before;
        add("persistence_mode", o.mode);
        add("subscribers x messages", std::to_string(o.subscribers) + " x " + fmt_count(published) +
                                          " (payload " + std::to_string(o.payload) + " B, " +
                                          std::to_string(o.publishers) + " publishers, window " +
                                          std::to_string(o.window) + ")");
        add("queue entries", fmt_count(entries));
        add("fill time", fmt_double(fill_s, 1) + " s");
        add("fill rate", fmt_count(static_cast<std::uint64_t>(entries / fill_s)) + " entries/s (" +
                             fmt_count(static_cast<std::uint64_t>(published / fill_s)) +
                             " msgs/s in)");
        add("broker CPU per queue entry", fmt_double(cpu / entries * 1e6, 2) + " us");
        if (publisher_disconnects > 0) {
            add("publisher disconnects (unexpected)", std::to_string(publisher_disconnects));
        }
        std::this_thread::sleep_for(2s);  // batch mode: let the last commits land
        const Memory filled = read_memory(broker.pid());
        add("RSS before fill (subscribers created)", fmt_mib(before.rss));
        add("RSS after fill (VmRSS = anon + file)",
            fmt_mib(filled.rss) + " = " + fmt_mib(filled.anon) + " + " + fmt_mib(filled.file));
        add("peak during fill: RSS sampled / VmHWM / anon sampled",
            fmt_mib(peak_rss) + " / " + fmt_mib(filled.hwm) + " / " + fmt_mib(peak_anon));
        const auto [allocated, apparent] = disk_usage(data);
        add("store on disk (du / apparent)", fmt_mib(allocated) + " / " + fmt_mib(apparent));
        add("store bytes per queue entry",
            fmt_double(static_cast<double>(allocated) / static_cast<double>(entries), 1));
        const auto [status, stop_s] = broker.stop(300s);
        add("shutdown (SIGTERM to exit)",
            fmt_double(stop_s, 2) + " s, status " + std::to_string(status));
        for (const std::string& line : broker.problems()) {
            std::cout << "  broker warning/error: " << line << "\n";
        }
        write_meta(meta_path, meta);
    } else {
        std::uint64_t published = 0;
        for (std::uint64_t count : meta.per_publisher) {
            published += count;
        }
        add("persistence_mode", o.mode);
        add("reused store, as filled", std::to_string(meta.subscribers) + " x " +
                                           fmt_count(published) + " = " +
                                           fmt_count(published * meta.subscribers) + " entries");
        const auto [allocated, apparent] = disk_usage(data);
        add("store on disk (du / apparent)", fmt_mib(allocated) + " / " + fmt_mib(apparent));
    }

    // Restarts on the same store. The last one stays up for the check and the drain.
    std::unique_ptr<BrokerProcess> broker;
    std::uint16_t port = 0;
    const unsigned restarts = std::max(1u, o.restarts + o.cold_restarts);
    for (unsigned r = 0; r < restarts; ++r) {
        const bool cold = r >= o.restarts;
        if (cold) {
            drop_cached_pages(data);
        }
        broker = std::make_unique<BrokerProcess>(o.petrel, config, log);
        double listen_s = 0;
        port = wait_listening(*broker, &listen_s);
        const auto recovered = broker->wait_for_line("recovered ", 1s);
        std::string recovered_ms = "?";
        std::string recovered_queued = "?";
        if (recovered) {
            std::smatch match;
            static const std::regex kMs(" in ([0-9]+) ms");
            static const std::regex kQueued(" ([0-9]+) queued");
            if (std::regex_search(recovered->text, match, kMs)) {
                recovered_ms = match[1];
            }
            if (std::regex_search(recovered->text, match, kQueued)) {
                recovered_queued = fmt_count(std::stoull(match[1]));
            }
        }
        const Memory started = read_memory(broker->pid());
        std::this_thread::sleep_for(1s);
        const Memory settled = read_memory(broker->pid());
        const std::string label =
            "restart " + std::to_string(r + 1) + (cold ? " (store not in page cache)" : "");
        add(label + ": start to \"listening on\"", fmt_double(listen_s * 1000, 0) + " ms");
        add(label + ": \"recovered ... in N ms\"",
            recovered_ms + " ms (" + recovered_queued + " queued)");
        add(label + ": RSS at listen / +1 s (anon + file), VmHWM",
            fmt_mib(started.rss) + " / " + fmt_mib(settled.rss) + " (" + fmt_mib(settled.anon) +
                " + " + fmt_mib(settled.file) + "), " + fmt_mib(settled.hwm));
        if (r == 0 && recovered) {
            std::cout << "  log: " << recovered->text << "\n";
        }
        if (r + 1 < restarts) {
            broker->stop(300s);
        }
    }

    const CheckResult check = check_store(o.petrel, data);
    add("petrel --check-store (broker running, idle)",
        fmt_double(check.seconds, 2) + " s, exit " + std::to_string(check.status) +
            ", its max RSS " + fmt_mib(check.max_rss));
    std::cout << check.output;

    if (o.drain) {
        std::uint64_t expected = 0;
        for (std::uint64_t count : meta.per_publisher) {
            expected += count;
        }
        DrainCheck drained;
        drained.next.assign(meta.per_publisher.size(), 0);
        if (o.drain_client >= meta.subscribers) {
            throw std::runtime_error("--drain-client beyond the " +
                                     std::to_string(meta.subscribers) + " subscribers");
        }
        const std::string drain_id = "oq-sub-" + std::to_string(o.drain_client);
        Client subscriber(drain_id, false);
        subscriber.on_message = [&drained](const mosquitto_message* m) {
            DrainCheck& d = drained;
            std::lock_guard lock(d.mutex);
            ++d.received;
            d.last = Clock::now();
            std::uint32_t publisher = 0;
            std::uint64_t seq = 0;
            if (m->payloadlen < static_cast<int>(kHeaderBytes)) {
                ++d.malformed;
                d.cv.notify_all();
                return;
            }
            std::memcpy(&publisher, m->payload, 4);
            std::memcpy(&seq, static_cast<const char*>(m->payload) + 4, 8);
            if (publisher >= d.next.size()) {
                ++d.malformed;
            } else if (seq == d.next[publisher]) {
                ++d.next[publisher];
            } else if (seq > d.next[publisher]) {
                d.gaps += seq - d.next[publisher];
                d.next[publisher] = seq + 1;
            } else {
                ++d.duplicates_or_reordered;
            }
            d.cv.notify_all();
        };
        const Memory before_drain = read_memory(broker->pid());
        const auto drain_start = Clock::now();
        const bool session_present = subscriber.connect(port);
        {
            std::unique_lock lock(drained.mutex);
            // Done when every expected message came, or nothing arrived for 15 s.
            while (drained.received < expected) {
                const std::uint64_t seen = drained.received;
                drained.cv.wait_for(lock, 15s, [&] { return drained.received != seen; });
                if (drained.received == seen) {
                    break;
                }
            }
        }
        // A little longer, to see duplicates or extra messages after the expected count.
        std::this_thread::sleep_for(1s);
        subscriber.disconnect();
        std::lock_guard lock(drained.mutex);
        const double drain_s = std::chrono::duration<double>(drained.last - drain_start).count();
        std::uint64_t in_order = 0;
        for (std::uint64_t next : drained.next) {
            in_order += next;
        }
        add("drain " + drain_id + ": session present", session_present ? "yes" : "NO");
        add("drain: received / expected",
            fmt_count(drained.received) + " / " + fmt_count(expected));
        add("drain: in order / gaps / dup-or-reordered / malformed",
            fmt_count(in_order) + " / " + fmt_count(drained.gaps) + " / " +
                fmt_count(drained.duplicates_or_reordered) + " / " + fmt_count(drained.malformed));
        add("drain time and rate",
            fmt_double(drain_s, 1) + " s, " +
                fmt_count(static_cast<std::uint64_t>(drained.received / std::max(drain_s, 1e-9))) +
                " msgs/s");
        const Memory after_drain = read_memory(broker->pid());
        add("RSS before / after drain", fmt_mib(before_drain.rss) + " / " +
                                            fmt_mib(after_drain.rss) + ", VmHWM " +
                                            fmt_mib(after_drain.hwm));
    }
    const auto [status, stop_s] = broker->stop(300s);
    add("final shutdown", fmt_double(stop_s, 2) + " s, status " + std::to_string(status));
    for (const std::string& line : broker->problems()) {
        std::cout << "  broker warning/error: " << line << "\n";
    }
    broker.reset();

    std::cout << "\n| metric | value |\n|---|---|\n";
    for (const Row& row : rows) {
        std::cout << "| " << row.metric << " | " << row.value << " |\n";
    }
    std::cout << "\nbroker log: " << log.string() << "\n";
    if (!o.keep && !o.reuse) {
        fs::remove_all(data);
        fs::remove(meta_path);
    } else if (o.drain) {
        std::cout << "note: oq-sub-" << o.drain_client
                  << "'s queue is drained now; with --reuse, drain another (--drain-client)\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Petrel offline-queue benchmark: RSS and start-up time with millions of "
        "queued QoS 1 messages in LMDB"};
    Options o;
    app.add_option("--petrel", o.petrel, "Petrel binary")->capture_default_str();
    app.add_option("--work-dir", o.work_dir, "Config, log and store go here (data/ inside)")
        ->capture_default_str();
    app.add_option("-s,--subscribers", o.subscribers, "Offline persistent subscribers")
        ->capture_default_str();
    app.add_option("-m,--messages", o.messages, "QoS 1 messages published (each queued S times)")
        ->capture_default_str();
    app.add_option("--payload", o.payload, "Payload bytes (at least 12)")
        ->check(CLI::Range(kHeaderBytes, std::size_t{268435455}))
        ->capture_default_str();
    app.add_option("--publishers", o.publishers, "Publisher connections")
        ->check(CLI::Range(1u, 64u))
        ->capture_default_str();
    app.add_option("--window", o.window, "Unacknowledged QoS 1 publishes per publisher")
        ->check(CLI::Range(std::size_t{1}, std::size_t{65535}))
        ->capture_default_str();
    app.add_option("--mode", o.mode, "persistence_mode")
        ->check(CLI::IsMember({"sync", "batch"}))
        ->capture_default_str();
    app.add_option("--map-size", o.map_size, "store_map_size in bytes")->capture_default_str();
    app.add_option("--queue-window", o.queue_window, "queue_memory_window (default: the broker's)");
    app.add_option("--broker-inflight", o.broker_inflight,
                   "max_inflight_messages (bounds the drain rate)")
        ->capture_default_str();
    app.add_option("--threads", o.threads, "Broker worker threads (0: its default)")
        ->capture_default_str();
    app.add_option("--restarts", o.restarts, "Restarts measured on the filled store")
        ->capture_default_str();
    app.add_option("--cold-restarts", o.cold_restarts,
                   "Then restarts with the store's files dropped from the page cache")
        ->capture_default_str();
    app.add_option("--fill-limit", o.fill_limit_s,
                   "Stop publishing after this many seconds and measure what got in")
        ->capture_default_str();
    app.add_flag("!--no-drain", o.drain, "Skip the drain");
    app.add_option("--drain-client", o.drain_client, "Drain oq-sub-N")->capture_default_str();
    app.add_flag("--reuse", o.reuse, "Skip the fill: restart on the store a --keep run left");
    app.add_flag("--keep", o.keep, "Keep the store afterwards");
    CLI11_PARSE(app, argc, argv);

    mosquitto_lib_init();
    int status = 1;
    try {
        status = run(o);
    } catch (const std::exception& error) {
        std::cerr << "bench_offline_queue: " << error.what() << "\n";
    }
    mosquitto_lib_cleanup();
    return status;
}
