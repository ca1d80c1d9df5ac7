// One epoll event loop, run by one worker thread.
//
// Everything registered with a loop runs on its thread. Other threads talk to it only
// through post(), which batches: many posts between two wake-ups cost one eventfd write.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace petrel::net {

class EventLoop {
public:
    using Task = std::function<void()>;
    using IoHandler = std::function<void(std::uint32_t epoll_events)>;

    // Throws std::system_error if epoll or eventfd cannot be created (start-up failure).
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Loop-thread only. `handler` is called with the ready events for `fd`. After
    // unwatch(fd) the handler is never called again, even for events already collected
    // in the current batch.
    void watch(int fd, std::uint32_t events, IoHandler handler);
    void modify(int fd, std::uint32_t events);
    void unwatch(int fd);

    // Thread-safe. Runs `task` on the loop thread, in post order.
    void post(Task task);

    // Loop-thread only. Runs `task` after the current batch of I/O events and posted
    // tasks, before the loop sleeps again: lets a connection gather many small writes
    // into one writev.
    void defer(Task task);

    // Loop-thread only (or before run()). Calls `tick` every `period`, first after one period.
    void every(std::chrono::milliseconds period, Task tick);

    // Runs until stop(). Tasks posted before stop() are run before run() returns.
    void run();
    // Thread-safe.
    void stop();

    bool in_loop_thread() const { return std::this_thread::get_id() == loop_thread_; }

private:
    struct Watch;
    struct Timer;
    void drain_posted();
    void run_deferred();
    void run_timers();
    int next_timeout_ms() const;

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    bool stopping_ = false;
    std::thread::id loop_thread_;
    std::vector<std::unique_ptr<Watch>> watches_;  // indexed by fd
    std::vector<std::unique_ptr<Watch>> retired_;  // freed after the current batch
    std::vector<Task> deferred_;
    std::vector<Timer> timers_;

    std::mutex posted_mutex_;
    std::vector<Task> posted_;  // guarded by posted_mutex_
    bool wake_pending_ = false; // guarded by posted_mutex_
    bool stop_requested_ = false; // guarded by posted_mutex_
};

}  // namespace petrel::net
