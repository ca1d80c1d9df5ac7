// One epoll event loop, run by one worker thread.
//
// Everything registered with a loop runs on its thread. Other threads talk to it only
// through post(), which batches: many posts between two wake-ups cost one eventfd write.
//
// One iteration of run(): wait for I/O (or the nearest timer) -> I/O handlers -> posted
// tasks -> due timers -> deferred tasks (until none are left) -> wait again.
#pragma once

#include <atomic>
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
    // in the current batch. `events` go to epoll unchanged (EPOLLEXCLUSIVE is fine; such
    // an fd must not be modify()'d, as epoll forbids it). Watching an fd that is already
    // watched replaces the old registration. Throws std::system_error if epoll refuses.
    void watch(int fd, std::uint32_t events, IoHandler handler);
    // Throws std::system_error if epoll refuses (e.g. the fd was never watched).
    void modify(int fd, std::uint32_t events);
    // Safe from inside any handler, including the handler of `fd` itself. Call it before
    // closing the fd. Unknown fds are ignored.
    void unwatch(int fd);

    // Thread-safe. Runs `task` on the loop thread, in post order.
    void post(Task task);

    // Loop-thread only. Runs `task` after the current batch of I/O events and posted
    // tasks, before the loop sleeps again: lets a connection gather many small writes
    // into one writev. Deferred tasks may defer more; all run before the loop sleeps.
    void defer(Task task);

    // Loop-thread only (or before run()). Calls `tick` every `period`, first after one period.
    // Missed periods (a slow loop) are skipped, not run in a burst.
    void every(std::chrono::milliseconds period, Task tick);
    // Loop-thread only (or before run()). Calls `task` once, after `delay`. There is no
    // cancellation: capture a weak reference if the target may be gone by then.
    void after(std::chrono::milliseconds delay, Task task);

    // Runs until stop(). Tasks posted before stop() are run before run() returns.
    // May be called again after it returned.
    void run();
    // Thread-safe.
    void stop();

    bool in_loop_thread() const { return std::this_thread::get_id() == loop_thread_; }

  private:
    struct Watch;
    struct Timer;
    void free_retired();
    bool drain_posted();  // returns true when stop() was requested
    void run_deferred();
    void run_timers();
    int next_timeout_ms() const;
    void add_timer(std::chrono::milliseconds delay, std::chrono::milliseconds period, Task task);
    void wake();

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    // Written once by run(); read by in_loop_thread() from any thread.
    std::atomic<std::thread::id> loop_thread_;
    // Loop-thread state below.
    std::uint32_t next_generation_ = 1;            // tags epoll events, so a reused fd number
                                                   // never gets its predecessor's events
    std::uint64_t next_timer_seq_ = 0;             // keeps timers with equal deadlines in order
    std::vector<std::unique_ptr<Watch>> watches_;  // indexed by fd
    std::vector<std::unique_ptr<Watch>> retired_;  // freed after the current batch
    std::vector<Task> deferred_;
    std::vector<Timer> timers_;  // a min-heap on (deadline, seq)

    std::mutex posted_mutex_;
    std::vector<Task> posted_;     // guarded by posted_mutex_
    bool wake_pending_ = false;    // guarded by posted_mutex_
    bool stop_requested_ = false;  // guarded by posted_mutex_
};

}  // namespace petrel::net
