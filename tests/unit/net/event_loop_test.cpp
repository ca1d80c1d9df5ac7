#include "petrel/net/event_loop.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "net_test_util.hpp"

namespace petrel::net {
namespace {

using namespace std::chrono_literals;
using test::LoopThread;
using test::wait_until;

int readable_eventfd() {
    const int fd = ::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    EXPECT_GE(fd, 0);
    return fd;
}

TEST(EventLoop, PostFromManyThreadsRunsEveryTaskInPerThreadOrder) {
    constexpr int kThreads = 8;
    constexpr int kPerThread = 20000;
    LoopThread lt;
    // Only the loop thread touches `seen`, so it needs no lock.
    std::vector<std::vector<int>> seen(kThreads);
    std::vector<std::thread> posters;
    for (int t = 0; t < kThreads; ++t) {
        posters.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                lt.loop.post([&seen, t, i] { seen[t].push_back(i); });
            }
        });
    }
    for (auto& p : posters) {
        p.join();
    }
    lt.call([] {});  // posted after all of the above: they have run when this returns
    lt.stop();
    for (int t = 0; t < kThreads; ++t) {
        ASSERT_EQ(seen[t].size(), static_cast<std::size_t>(kPerThread)) << "thread " << t;
        for (int i = 0; i < kPerThread; ++i) {
            ASSERT_EQ(seen[t][i], i) << "thread " << t;
        }
    }
}

TEST(EventLoop, PostsWhileTheLoopIsBusyRunInOneBatch) {
    // While the loop is stuck in a task, later posts pile up; they all run in the next
    // drain, before any task posted after that drain started.
    LoopThread lt;
    std::atomic<bool> release{false};
    std::atomic<bool> blocked{false};
    lt.loop.post([&] {
        blocked = true;
        while (!release) {
            std::this_thread::yield();
        }
    });
    ASSERT_TRUE(wait_until([&] { return blocked.load(); }));
    std::vector<int> order;
    for (int i = 0; i < 1000; ++i) {
        lt.loop.post([&order, i] { order.push_back(i); });
    }
    release = true;
    lt.call([] {});
    lt.stop();
    ASSERT_EQ(order.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(order[i], i);
    }
}

TEST(EventLoop, StopRunsTasksPostedBeforeIt) {
    EventLoop loop;
    int ran = 0;
    for (int i = 0; i < 100; ++i) {
        loop.post([&] { ++ran; });
    }
    loop.stop();
    loop.run();  // returns: stop was requested, but only after the 100 tasks
    EXPECT_EQ(ran, 100);
}

TEST(EventLoop, StopFromAnotherThreadWakesAnIdleLoop) {
    EventLoop loop;
    std::thread runner([&] { loop.run(); });
    std::this_thread::sleep_for(20ms);  // let it block in epoll_wait with no timeout
    loop.stop();
    runner.join();  // hangs (test timeout) if stop() does not wake the loop
    SUCCEED();
}

TEST(EventLoop, CanRunAgainAfterStop) {
    EventLoop loop;
    int ran = 0;
    loop.post([&] { ++ran; });
    loop.stop();
    loop.run();
    loop.post([&] {
        ++ran;
        loop.stop();
    });
    loop.run();
    EXPECT_EQ(ran, 2);
}

TEST(EventLoop, InLoopThreadIsTrueOnlyOnTheLoopThread) {
    LoopThread lt;
    EXPECT_TRUE(lt.call([&] { return lt.loop.in_loop_thread(); }));
    EXPECT_FALSE(lt.loop.in_loop_thread());
}

TEST(EventLoop, DeferRunsAfterTheBatchOfPostedTasksInOrder) {
    EventLoop loop;
    std::vector<std::string> order;
    // Posted before run(): both are in the first batch.
    loop.post([&] {
        order.push_back("post1");
        loop.defer([&] {
            order.push_back("defer1");
            loop.defer([&] { order.push_back("defer3 (from defer1)"); });
        });
        loop.defer([&] { order.push_back("defer2"); });
    });
    loop.post([&] { order.push_back("post2"); });
    loop.stop();
    loop.run();
    const std::vector<std::string> expected{"post1", "post2", "defer1", "defer2",
                                            "defer3 (from defer1)"};
    EXPECT_EQ(order, expected);
}

TEST(EventLoop, DeferRunsAfterIoHandlersOfTheBatch) {
    LoopThread lt;
    const int a = readable_eventfd();
    const int b = readable_eventfd();
    std::vector<std::string> order;
    std::atomic<bool> done{false};
    lt.call([&] {
        auto handler = [&](const char* name, int fd) {
            return [&, name, fd](std::uint32_t) {
                order.push_back(name);
                lt.loop.unwatch(fd);
                lt.loop.defer([&, name] {
                    order.push_back(std::string("deferred ") + name);
                    done = order.size() == 4;
                });
            };
        };
        lt.loop.watch(a, EPOLLIN, handler("a", a));
        lt.loop.watch(b, EPOLLIN, handler("b", b));
    });
    ASSERT_TRUE(wait_until([&] { return done.load(); }));
    lt.stop();
    ASSERT_EQ(order.size(), 4u);
    // Both handlers (one epoll batch) come before both deferred tasks.
    EXPECT_EQ(order[2].rfind("deferred", 0), 0u);
    EXPECT_EQ(order[3].rfind("deferred", 0), 0u);
    ::close(a);
    ::close(b);
}

TEST(EventLoop, EveryTicksPeriodically) {
    LoopThread lt;
    std::vector<std::chrono::steady_clock::time_point> ticks;
    std::atomic<int> count{0};
    const auto start = std::chrono::steady_clock::now();
    lt.call([&] {
        lt.loop.every(20ms, [&] {
            ticks.push_back(std::chrono::steady_clock::now());
            ++count;
        });
    });
    ASSERT_TRUE(wait_until([&] { return count >= 5; }));
    lt.stop();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    // Fixed rate: tick i is due (i + 1) periods after every() and never runs early. (Two
    // ticks may be closer than a period when the first was late: that is the schedule.)
    for (std::size_t i = 0; i < ticks.size(); ++i) {
        EXPECT_GE(ticks[i] - start, 20ms * static_cast<int>(i + 1)) << "tick " << i;
    }
    // No bursts: a late loop skips missed periods instead of catching up.
    EXPECT_LE(ticks.size(), static_cast<std::size_t>(elapsed / 20ms) + 1);
}

TEST(EventLoop, EverySkipsMissedPeriodsInsteadOfBursting) {
    LoopThread lt;
    std::vector<std::chrono::steady_clock::time_point> starts;
    std::chrono::steady_clock::time_point slow_tick_end;
    std::atomic<int> count{0};
    lt.call([&] {
        lt.loop.every(10ms, [&] {
            starts.push_back(std::chrono::steady_clock::now());
            if (starts.size() == 1) {
                std::this_thread::sleep_for(55ms);  // misses five periods
                slow_tick_end = std::chrono::steady_clock::now();
            }
            ++count;
        });
    });
    ASSERT_TRUE(wait_until([&] { return count >= 3; }));
    lt.stop();
    // The next tick is one period after the slow one ended, not five back-to-back.
    EXPECT_GE(starts[1] - slow_tick_end, 9ms);
}

TEST(EventLoop, AfterRunsOnceInDeadlineOrder) {
    LoopThread lt;
    std::vector<int> order;
    std::atomic<int> count{0};
    lt.call([&] {
        lt.loop.after(60ms, [&] { order.push_back(60), ++count; });
        lt.loop.after(20ms, [&] { order.push_back(20), ++count; });
        lt.loop.after(40ms, [&] { order.push_back(40), ++count; });
        lt.loop.after(0ms, [&] { order.push_back(0), ++count; });
    });
    ASSERT_TRUE(wait_until([&] { return count == 4; }));
    std::this_thread::sleep_for(100ms);  // a one-shot timer must not fire again
    lt.stop();
    EXPECT_EQ(order, (std::vector<int>{0, 20, 40, 60}));
}

TEST(EventLoop, TimerTickMayAddTimers) {
    LoopThread lt;
    std::atomic<int> fired{0};
    lt.call([&] {
        lt.loop.every(5ms, [&] {
            if (fired++ < 20) {
                lt.loop.after(1ms, [&] { ++fired; });  // grows the heap during the tick
            }
        });
    });
    ASSERT_TRUE(wait_until([&] { return fired >= 30; }));
    lt.stop();
}

TEST(EventLoop, WatchDeliversEventsAndModifyChangesInterest) {
    LoopThread lt;
    const int fd = readable_eventfd();
    std::atomic<int> calls{0};
    lt.call([&] { lt.loop.watch(fd, 0, [&](std::uint32_t) { ++calls; }); });
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(calls, 0);  // readable, but no interest
    lt.call([&] { lt.loop.modify(fd, EPOLLIN); });
    ASSERT_TRUE(wait_until([&] { return calls > 0; }));
    lt.call([&] { lt.loop.unwatch(fd); });
    const int after = calls;
    std::this_thread::sleep_for(30ms);
    lt.stop();
    EXPECT_EQ(calls, after);
    ::close(fd);
}

TEST(EventLoop, ModifyOfAnUnwatchedFdThrows) {
    EventLoop loop;
    EXPECT_THROW(loop.modify(12345, EPOLLIN), std::system_error);
    loop.unwatch(12345);  // ignored
}

TEST(EventLoop, UnwatchOfAnotherFdInTheSameBatchSuppressesItsHandler) {
    LoopThread lt;
    const int a = readable_eventfd();
    const int b = readable_eventfd();
    std::atomic<int> calls{0};
    lt.call([&] {
        // Both are ready in one batch; whichever runs first unwatches the other.
        lt.loop.watch(a, EPOLLIN, [&](std::uint32_t) {
            ++calls;
            lt.loop.unwatch(a);
            lt.loop.unwatch(b);
        });
        lt.loop.watch(b, EPOLLIN, [&](std::uint32_t) {
            ++calls;
            lt.loop.unwatch(a);
            lt.loop.unwatch(b);
        });
    });
    std::this_thread::sleep_for(50ms);
    lt.stop();
    EXPECT_EQ(calls, 1);
    ::close(a);
    ::close(b);
}

TEST(EventLoop, HandlerMayUnwatchItselfAndKeepUsingItsCaptures) {
    LoopThread lt;
    const int fd = readable_eventfd();
    std::string result;
    std::atomic<bool> done{false};
    lt.call([&] {
        // A capture on the heap: ASan would flag it if unwatch destroyed the running handler.
        std::string capture(1000, 'x');
        lt.loop.watch(fd, EPOLLIN, [&, capture](std::uint32_t) {
            lt.loop.unwatch(fd);
            result = capture;
            done = true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return done.load(); }));
    lt.stop();
    EXPECT_EQ(result, std::string(1000, 'x'));
    ::close(fd);
}

TEST(EventLoop, ReusedFdNumberDoesNotGetTheOldFdsEvents) {
    LoopThread lt;
    int a = readable_eventfd();
    int b = readable_eventfd();
    std::atomic<int> stale_calls{0};
    std::atomic<bool> swapped{false};
    int reused_fd = -1;
    int closed_fd = -1;
    lt.call([&] {
        // Whichever handler runs first closes the other fd and watches a fresh, idle
        // eventfd, which gets the lowest free number: the one just closed. The old fd's
        // event from this batch must not reach the new handler.
        auto swap_other = [&](int& self, int& other) {
            return [&](std::uint32_t) {
                if (swapped) {
                    return;
                }
                swapped = true;
                lt.loop.unwatch(self);
                lt.loop.unwatch(other);
                ::close(other);
                closed_fd = other;
                // A fresh, idle eventfd forced onto the closed number: another thread
                // (a sanitizer's, say) opening a descriptor meanwhile cannot steal it.
                const int fresh = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);  // not readable
                if (fresh != closed_fd) {
                    ::dup3(fresh, closed_fd, O_CLOEXEC);
                    ::close(fresh);
                }
                other = closed_fd;
                reused_fd = other;
                lt.loop.watch(other, EPOLLIN, [&](std::uint32_t) { ++stale_calls; });
            };
        };
        lt.loop.watch(a, EPOLLIN, swap_other(a, b));
        lt.loop.watch(b, EPOLLIN, swap_other(b, a));
    });
    ASSERT_TRUE(wait_until([&] { return swapped.load(); }));
    std::this_thread::sleep_for(50ms);
    lt.stop();
    EXPECT_EQ(reused_fd, closed_fd) << "the test needs the fd number to be reused";
    EXPECT_EQ(stale_calls, 0);
    ::close(a);
    ::close(b);
}

TEST(EventLoop, WatchingAWatchedFdReplacesTheHandler) {
    LoopThread lt;
    const int fd = readable_eventfd();
    std::atomic<int> old_calls{0};
    std::atomic<int> new_calls{0};
    lt.call([&] {
        lt.loop.watch(fd, 0, [&](std::uint32_t) { ++old_calls; });
        lt.loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
            ++new_calls;
            lt.loop.unwatch(fd);
        });
    });
    ASSERT_TRUE(wait_until([&] { return new_calls > 0; }));
    lt.stop();
    EXPECT_EQ(old_calls, 0);
    EXPECT_EQ(new_calls, 1);
    ::close(fd);
}

TEST(EventLoop, ARetiredHandlerWhoseCapturesUnwatchOnDestructionIsSafe) {
    // A handler owning something that unwatches another fd when destroyed (as a handler
    // owning a Stream would): freeing retired handlers must tolerate the re-entry.
    LoopThread lt;
    const int a = readable_eventfd();
    const int b = readable_eventfd();
    std::atomic<bool> done{false};
    struct UnwatchOnDestroy {
        EventLoop* loop;
        int fd;
        ~UnwatchOnDestroy() { loop->unwatch(fd); }
    };
    lt.call([&] {
        lt.loop.watch(b, 0, [](std::uint32_t) {});
        auto owner = std::make_shared<UnwatchOnDestroy>(UnwatchOnDestroy{&lt.loop, b});
        lt.loop.watch(a, EPOLLIN, [&, owner](std::uint32_t) {
            lt.loop.unwatch(a);
            done = true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return done.load(); }));
    lt.call([] {});  // one more turn: the retired handlers are freed by now
    lt.stop();
    ::close(a);
    ::close(b);
}

}  // namespace
}  // namespace petrel::net
