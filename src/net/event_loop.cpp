#include "petrel/net/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <system_error>
#include <tuple>
#include <utility>

namespace petrel::net {

namespace {

// epoll_event.data of the eventfd; no watched fd can produce it because watched fds carry
// a generation >= 1 in the high half.
constexpr std::uint64_t kWakeToken = 0;
constexpr int kMaxEventsPerBatch = 256;

std::uint64_t make_token(int fd, std::uint32_t generation) {
    return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::system_category(), what);
}

}  // namespace

struct EventLoop::Watch {
    int fd;
    std::uint32_t generation;
    IoHandler handler;
};

struct EventLoop::Timer {
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds period;  // zero: one-shot
    std::uint64_t seq;
    // Shared so that the task stays alive while it runs even if it adds timers (which
    // reshuffles the heap vector).
    std::shared_ptr<Task> task;

    // std::push_heap builds a max-heap; "greater" puts the earliest deadline on top.
    friend bool operator<(const Timer& a, const Timer& b) {
        return std::tie(a.deadline, a.seq) > std::tie(b.deadline, b.seq);
    }
};

EventLoop::EventLoop() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        throw_errno("epoll_create1");
    }
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        const int saved = errno;
        ::close(epoll_fd_);
        throw std::system_error(saved, std::system_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeToken;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) < 0) {
        const int saved = errno;
        ::close(wake_fd_);
        ::close(epoll_fd_);
        throw std::system_error(saved, std::system_category(), "epoll_ctl(eventfd)");
    }
}

EventLoop::~EventLoop() {
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void EventLoop::watch(int fd, std::uint32_t events, IoHandler handler) {
    if (fd < 0) {
        throw std::system_error(EBADF, std::system_category(), "EventLoop::watch");
    }
    if (static_cast<std::size_t>(fd) < watches_.size() && watches_[fd]) {
        unwatch(fd);  // replace: the old handler must not see the new fd's events
    }
    const std::uint32_t generation = next_generation_++;
    if (next_generation_ == 0) {
        next_generation_ = 1;  // 0 is the wake token's generation
    }
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = make_token(fd, generation);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
        throw_errno("epoll_ctl(ADD)");
    }
    if (static_cast<std::size_t>(fd) >= watches_.size()) {
        watches_.resize(std::max<std::size_t>(fd + 1, watches_.size() * 2));
    }
    watches_[fd] = std::make_unique<Watch>(Watch{fd, generation, std::move(handler)});
}

void EventLoop::modify(int fd, std::uint32_t events) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= watches_.size() || !watches_[fd]) {
        throw std::system_error(ENOENT, std::system_category(), "EventLoop::modify");
    }
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = make_token(fd, watches_[fd]->generation);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) < 0) {
        throw_errno("epoll_ctl(MOD)");
    }
}

void EventLoop::unwatch(int fd) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= watches_.size() || !watches_[fd]) {
        return;
    }
    // EBADF/ENOENT are fine: a closed fd has already left the epoll set by itself.
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    // The handler may be the caller (a handler unwatching itself): keep it alive until
    // the batch is over.
    retired_.push_back(std::move(watches_[fd]));
}

void EventLoop::post(Task task) {
    bool must_wake = false;
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(task));
        must_wake = !wake_pending_;
        wake_pending_ = true;
    }
    if (must_wake) {
        wake();
    }
}

void EventLoop::defer(Task task) {
    deferred_.push_back(std::move(task));
}

void EventLoop::every(std::chrono::milliseconds period, Task tick) {
    // A zero period would make run_timers() spin; one millisecond is epoll's resolution.
    period = std::max(period, std::chrono::milliseconds{1});
    add_timer(period, period, std::move(tick));
}

void EventLoop::after(std::chrono::milliseconds delay, Task task) {
    add_timer(std::max(delay, std::chrono::milliseconds{0}), std::chrono::milliseconds{0},
              std::move(task));
}

void EventLoop::add_timer(std::chrono::milliseconds delay, std::chrono::milliseconds period,
                          Task task) {
    timers_.push_back(Timer{std::chrono::steady_clock::now() + delay, period, next_timer_seq_++,
                            std::make_shared<Task>(std::move(task))});
    std::push_heap(timers_.begin(), timers_.end());
}

void EventLoop::stop() {
    bool must_wake = false;
    {
        std::lock_guard lock(posted_mutex_);
        stop_requested_ = true;
        must_wake = !wake_pending_;
        wake_pending_ = true;
    }
    if (must_wake) {
        wake();
    }
}

void EventLoop::wake() {
    const std::uint64_t one = 1;
    // Cannot fail short of a closed fd; EAGAIN would mean the counter is already non-zero,
    // which wakes the loop just as well.
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::run() {
    loop_thread_ = std::this_thread::get_id();
    std::array<epoll_event, kMaxEventsPerBatch> events{};
    for (;;) {
        const int ready =
            ::epoll_wait(epoll_fd_, events.data(), kMaxEventsPerBatch, next_timeout_ms());
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("epoll_wait");  // EBADF/EINVAL: a broken loop, not a runtime event
        }
        for (int i = 0; i < ready; ++i) {
            const std::uint64_t token = events[i].data.u64;
            if (token == kWakeToken) {
                // Read before drain_posted(): a post() racing with the drain then either
                // lands in this drain or writes the eventfd again.
                std::uint64_t count = 0;
                [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof count);
                continue;
            }
            const int fd = static_cast<int>(token & 0xffffffffu);
            const auto generation = static_cast<std::uint32_t>(token >> 32);
            if (static_cast<std::size_t>(fd) >= watches_.size()) {
                continue;
            }
            Watch* watch = watches_[fd].get();
            // Unwatched earlier in this batch, or the fd number now belongs to a new watch.
            if (watch == nullptr || watch->generation != generation) {
                continue;
            }
            watch->handler(events[i].events);
        }
        free_retired();
        const bool stop = drain_posted();
        run_timers();
        run_deferred();
        free_retired();
        if (stop) {
            return;
        }
    }
}

void EventLoop::free_retired() {
    // Destroying a handler destroys its captures, which may unwatch more fds (a captured
    // owner of another stream): take the list out first so that cannot modify it under us.
    while (!retired_.empty()) {
        auto dead = std::exchange(retired_, {});
    }
}

bool EventLoop::drain_posted() {
    std::vector<Task> batch;
    bool stop = false;
    {
        std::lock_guard lock(posted_mutex_);
        batch.swap(posted_);
        wake_pending_ = false;
        stop = std::exchange(stop_requested_, false);
    }
    for (auto& task : batch) {
        task();
    }
    return stop;
}

void EventLoop::run_timers() {
    if (timers_.empty()) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    // Timers added by a running tick get a deadline after `now`, so this ends.
    while (!timers_.empty() && timers_.front().deadline <= now) {
        std::pop_heap(timers_.begin(), timers_.end());
        Timer timer = std::move(timers_.back());
        timers_.pop_back();
        (*timer.task)();
        if (timer.period.count() > 0) {
            // Fixed rate, but periods missed by a slow loop (or a slow tick: hence a fresh
            // clock read) are skipped rather than run back to back.
            const auto after_tick = std::chrono::steady_clock::now();
            timer.deadline += timer.period;
            if (timer.deadline <= after_tick) {
                timer.deadline = after_tick + timer.period;
            }
            timer.seq = next_timer_seq_++;
            timers_.push_back(std::move(timer));
            std::push_heap(timers_.begin(), timers_.end());
        }
    }
}

void EventLoop::run_deferred() {
    while (!deferred_.empty()) {
        std::vector<Task> batch;
        batch.swap(deferred_);
        for (auto& task : batch) {
            task();
        }
    }
}

int EventLoop::next_timeout_ms() const {
    if (!deferred_.empty()) {
        return 0;
    }
    if (timers_.empty()) {
        return -1;
    }
    const auto wait = timers_.front().deadline - std::chrono::steady_clock::now();
    if (wait <= std::chrono::steady_clock::duration::zero()) {
        return 0;
    }
    // Round up: waking a little early would only spin until the deadline.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    return static_cast<int>(std::min<decltype(ms)>(ms, INT_MAX));
}

}  // namespace petrel::net
