#include "petrel/net/stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net_test_util.hpp"

namespace petrel::net {
namespace {

using namespace std::chrono_literals;
using test::LoopThread;
using test::read_exact;
using test::read_to_eof;
using test::tcp_pair;
using test::wait_until;
using test::write_all;

std::string pattern(std::size_t size, std::size_t seed) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        s[i] = static_cast<char>((i * 131 + seed + i / 4096) & 0xff);
    }
    return s;
}

// What a stream's callbacks saw, readable from the test thread.
struct Recorder {
    std::mutex mutex;
    std::string data;                     // guarded by mutex: everything consumed
    std::vector<std::error_code> closes;  // guarded by mutex
    std::atomic<int> data_calls{0};

    Stream::Callbacks callbacks() {
        return Stream::Callbacks{[this](std::string& input) {
                                     std::lock_guard lock(mutex);
                                     data += input;
                                     input.clear();
                                     ++data_calls;
                                 },
                                 [this](std::error_code error) {
                                     std::lock_guard lock(mutex);
                                     closes.push_back(error);
                                 }};
    }
    std::string received() {
        std::lock_guard lock(mutex);
        return data;
    }
    std::size_t close_count() {
        std::lock_guard lock(mutex);
        return closes.size();
    }
    std::error_code close_error() {
        std::lock_guard lock(mutex);
        return closes.empty() ? std::error_code{} : closes.front();
    }
};

// A Stream on a LoopThread over a loopback TCP connection; the test holds the client end.
struct Fixture {
    LoopThread lt;
    Recorder recorder;
    std::unique_ptr<Stream> stream;
    int client = -1;

    explicit Fixture(Stream::Callbacks callbacks = {}) {
        auto pair = tcp_pair();
        client = pair.client;
        if (!callbacks.on_data && !callbacks.on_close) {
            callbacks = recorder.callbacks();
        }
        lt.call(
            [&] { stream = std::make_unique<Stream>(lt.loop, pair.server, pair.peer, callbacks); });
    }
    ~Fixture() {
        lt.call([&] { stream.reset(); });
        lt.stop();
        if (client >= 0) {
            ::close(client);
        }
    }
    void on_loop(const std::function<void()>& f) { lt.call(f); }
};

TEST(Stream, ReadsBytesThatArriveOneAtATime) {
    // The consumer takes complete lines only; the rest must stay buffered between calls.
    std::mutex mutex;
    std::vector<std::string> lines;  // guarded by mutex
    std::atomic<int> calls{0};
    Fixture f(Stream::Callbacks{[&](std::string& input) {
                                    ++calls;
                                    std::size_t nl;
                                    while ((nl = input.find('\n')) != std::string::npos) {
                                        std::lock_guard lock(mutex);
                                        lines.push_back(input.substr(0, nl));
                                        input.erase(0, nl + 1);
                                    }
                                },
                                nullptr});
    const std::string text = "CONNECT\npublish a/b\nx\n";
    for (char c : text) {
        write_all(f.client, std::string_view(&c, 1));
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard lock(mutex);
        return lines.size() == 3;
    }));
    std::lock_guard lock(mutex);
    EXPECT_EQ(lines, (std::vector<std::string>{"CONNECT", "publish a/b", "x"}));
    EXPECT_GT(calls, 3);  // really came in pieces
}

TEST(Stream, LargeInputArrivesCompleteAndInOrder) {
    Fixture f;
    const std::string big = pattern(8 << 20, 1);
    std::thread writer([&] { write_all(f.client, big); });
    ASSERT_TRUE(wait_until([&] { return f.recorder.received().size() == big.size(); }));
    writer.join();
    EXPECT_TRUE(f.recorder.received() == big);
    // 8 MiB in at most 256 KiB per wake-up: many on_data calls, none starving the loop.
    // Read on the loop thread, so the on_data call that appended the last bytes has
    // finished counting itself.
    EXPECT_GE(f.lt.call([&] { return f.recorder.data_calls.load(); }), 32);
}

TEST(Stream, SixtyFourMebibytesThroughASlowReader) {
    Fixture f;
    constexpr std::size_t kChunk = 1 << 20;
    constexpr int kChunks = 64;
    std::string expected;
    expected.reserve(kChunk * kChunks);
    std::vector<SharedBytes> shared;
    for (int i = 0; i < kChunks; ++i) {
        shared.push_back(std::make_shared<const std::string>(pattern(kChunk, i)));
        expected += *shared.back();
    }
    f.on_loop([&] {
        for (int i = 0; i < kChunks; ++i) {
            if (i % 2 == 0) {
                f.stream->send(*shared[i]);  // owned copy
            } else {
                f.stream->send_shared(shared[i]);
            }
        }
        // Nothing is written inside send(): it waits for the deferred flush.
        EXPECT_EQ(f.stream->pending_output_bytes(), kChunk * kChunks);
    });
    // The reader has not started yet: the socket fills up and the stream waits for
    // EPOLLOUT with most of the output still queued.
    std::this_thread::sleep_for(100ms);
    const std::size_t pending = f.lt.call([&] { return f.stream->pending_output_bytes(); });
    EXPECT_GT(pending, 0u);
    EXPECT_LT(pending, kChunk * kChunks);

    std::string received;
    received.reserve(expected.size());
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (received.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
        // Small reads: the writer keeps hitting EAGAIN and resuming mid-chunk.
        received +=
            read_exact(f.client, std::min<std::size_t>(7919, expected.size() - received.size()));
    }
    ASSERT_EQ(received.size(), expected.size());
    EXPECT_TRUE(received == expected) << "bytes out of order or corrupted";
    ASSERT_TRUE(wait_until(
        [&] { return f.lt.call([&] { return f.stream->pending_output_bytes(); }) == 0; }));
    f.on_loop([&] {
        for (const auto& s : shared) {
            EXPECT_EQ(s.use_count(), 1);  // the queue released every shared chunk
        }
    });
    EXPECT_EQ(f.recorder.close_count(), 0u);
}

TEST(Stream, OneSharedBufferFansOutToManyStreams) {
    LoopThread lt;
    constexpr int kStreams = 5;
    std::vector<test::TcpPair> pairs;
    std::vector<std::unique_ptr<Stream>> streams;
    for (int i = 0; i < kStreams; ++i) {
        pairs.push_back(tcp_pair());
    }
    const auto payload = std::make_shared<const std::string>(pattern(100000, 9));
    lt.call([&] {
        for (auto& p : pairs) {
            streams.push_back(
                std::make_unique<Stream>(lt.loop, p.server, p.peer, Stream::Callbacks{}));
            streams.back()->send("header");
            streams.back()->send_shared(payload);
        }
        EXPECT_EQ(payload.use_count(), 1 + kStreams);  // shared, not copied
    });
    for (auto& p : pairs) {
        EXPECT_TRUE(read_exact(p.client, 6 + payload->size()) == "header" + *payload);
    }
    lt.call([&] { EXPECT_EQ(payload.use_count(), 1); });
    lt.call([&] { streams.clear(); });
    lt.stop();
    for (auto& p : pairs) {
        ::close(p.client);
    }
}

TEST(Stream, ManySmallSendsInOneBatchArriveInOrder) {
    Fixture f;
    std::string expected;
    f.on_loop([&] {
        for (int i = 0; i < 5000; ++i) {
            std::string part = std::to_string(i) + ",";
            expected += part;
            f.stream->send(std::move(part));
        }
        EXPECT_EQ(f.stream->pending_output_bytes(), expected.size());
    });
    EXPECT_EQ(read_exact(f.client, expected.size()), expected);
}

TEST(Stream, CloseAfterFlushDeliversEverythingThenClosesCleanly) {
    Fixture f;
    const std::string big = pattern(16 << 20, 4);
    f.on_loop([&] {
        f.stream->send("last words:");
        f.stream->send(big);
        f.stream->close_after_flush();
        f.stream->send("!");  // still queued: the stream is open until the flush ends
        EXPECT_TRUE(f.stream->is_open());
        EXPECT_EQ(f.recorder.close_count(), 0u);  // never from inside the call
    });
    // Data sent by the peer meanwhile is read and discarded, not delivered.
    write_all(f.client, "ignored");
    bool eof = false;
    const std::string got = read_to_eof(f.client, eof, 30s);
    EXPECT_TRUE(eof) << "connection was reset or timed out instead of closed";
    EXPECT_EQ(got.size(), 11 + big.size() + 1);
    EXPECT_TRUE(got == "last words:" + big + "!");
    ASSERT_TRUE(wait_until([&] { return f.recorder.close_count() == 1; }));
    EXPECT_FALSE(f.recorder.close_error());
    EXPECT_EQ(f.recorder.received(), "");
    f.on_loop([&] { EXPECT_FALSE(f.stream->is_open()); });
}

TEST(Stream, CloseAfterFlushWithNothingQueuedClosesOnTheNextTurn) {
    Fixture f;
    f.on_loop([&] { f.stream->close_after_flush(); });
    bool eof = false;
    EXPECT_EQ(read_to_eof(f.client, eof), "");
    EXPECT_TRUE(eof);
    ASSERT_TRUE(wait_until([&] { return f.recorder.close_count() == 1; }));
    EXPECT_FALSE(f.recorder.close_error());
}

TEST(Stream, CloseAfterFlushGivesUpAfterTheLinger) {
    Fixture f;
    const auto start = std::chrono::steady_clock::now();
    f.on_loop([&] {
        f.stream->send(pattern(32 << 20, 5));  // far more than the socket buffers hold
        f.stream->close_after_flush(100ms);
    });
    // The peer never reads.
    ASSERT_TRUE(wait_until([&] { return f.recorder.close_count() == 1; }, 5s));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
    EXPECT_EQ(f.recorder.close_error(), std::make_error_code(std::errc::timed_out));
}

TEST(Stream, PeerHangUpDeliversTheLastBytesThenCallsOnCloseOnce) {
    Fixture f;
    write_all(f.client, "goodbye");
    ::shutdown(f.client, SHUT_WR);
    ASSERT_TRUE(wait_until([&] { return f.recorder.close_count() == 1; }));
    EXPECT_EQ(f.recorder.received(), "goodbye");
    EXPECT_FALSE(f.recorder.close_error());
    f.on_loop([&] {
        EXPECT_FALSE(f.stream->is_open());
        f.stream->send("too late");  // ignored
        f.stream->close();           // no second on_close
    });
    EXPECT_EQ(f.recorder.close_count(), 1u);
}

TEST(Stream, PeerResetReportsAnError) {
    Fixture f;
    const linger hard{1, 0};  // close() sends RST
    ::setsockopt(f.client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(f.client);
    f.client = -1;
    ASSERT_TRUE(wait_until([&] { return f.recorder.close_count() == 1; }));
    EXPECT_EQ(f.recorder.close_error(), std::error_code(ECONNRESET, std::system_category()));
}

TEST(Stream, WritingToAGonePeerReportsAnError) {
    Fixture f;
    f.on_loop([&] { f.stream->pause_reading(); });  // only the write path can notice
    const linger hard{1, 0};
    ::setsockopt(f.client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(f.client);
    f.client = -1;
    std::this_thread::sleep_for(20ms);
    f.on_loop([&] { f.stream->send("hello?"); });
    ASSERT_TRUE(wait_until([&] { return f.recorder.close_count() == 1; }));
    const auto error = f.recorder.close_error();
    EXPECT_TRUE(error == std::error_code(EPIPE, std::system_category()) ||
                error == std::error_code(ECONNRESET, std::system_category()))
        << error.message();
}

TEST(Stream, PauseStopsDeliveryAndResumeRestartsIt) {
    Fixture f;
    f.on_loop([&] { f.stream->pause_reading(); });
    write_all(f.client, "while paused");
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(f.recorder.data_calls, 0);
    f.on_loop([&] { f.stream->resume_reading(); });
    ASSERT_TRUE(wait_until([&] { return f.recorder.received() == "while paused"; }));
    write_all(f.client, " and after");
    ASSERT_TRUE(wait_until([&] { return f.recorder.received() == "while paused and after"; }));
}

TEST(Stream, ResumeHandsUnconsumedInputBackWithoutNewBytes) {
    // The consumer pauses after its first message and leaves the second one unconsumed.
    std::vector<std::string> seen;
    std::atomic<int> calls{0};
    Stream* self = nullptr;
    Fixture f(Stream::Callbacks{[&](std::string& input) {
                                    seen.push_back(input);
                                    ++calls;
                                    if (calls == 1) {
                                        input.erase(0, 4);
                                        self->pause_reading();
                                    } else {
                                        input.clear();
                                    }
                                },
                                nullptr});
    f.on_loop([&] { self = f.stream.get(); });
    write_all(f.client, "one;two;");
    ASSERT_TRUE(wait_until([&] { return calls == 1; }));
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(calls, 1);
    f.on_loop([&] { f.stream->resume_reading(); });
    ASSERT_TRUE(wait_until([&] { return calls == 2; }));
    f.on_loop([&] { EXPECT_EQ(seen, (std::vector<std::string>{"one;two;", "two;"})); });
}

TEST(Stream, HangUpWhilePausedNeitherSpinsNorLosesData) {
    Fixture f;
    f.on_loop([&] { f.stream->pause_reading(); });
    write_all(f.client, "final bytes");
    ::close(f.client);  // full close: epoll reports EPOLLHUP even with no interest
    f.client = -1;
    std::this_thread::sleep_for(20ms);
    // Measure the loop thread's CPU time over a quiet period: a spinning loop burns it all.
    const auto cpu_now = [] {
        timespec ts{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    };
    const auto cpu_before = f.lt.call(cpu_now);
    std::this_thread::sleep_for(200ms);
    const auto cpu_used = f.lt.call(cpu_now) - cpu_before;
    EXPECT_LT(cpu_used, 50ms) << "the paused stream spins on EPOLLHUP";
    EXPECT_EQ(f.recorder.data_calls, 0);
    EXPECT_EQ(f.recorder.close_count(), 0u);

    f.on_loop([&] { f.stream->resume_reading(); });
    ASSERT_TRUE(wait_until([&] { return f.recorder.close_count() == 1; }));
    EXPECT_EQ(f.recorder.received(), "final bytes");
    EXPECT_FALSE(f.recorder.close_error());
}

TEST(Stream, CloseFromInsideOnDataIsSafeAndCallsOnCloseOnce) {
    std::atomic<int> closes{0};
    Stream* self = nullptr;
    Fixture f(Stream::Callbacks{[&](std::string&) {
                                    self->send("bye");
                                    self->close();
                                    self->close();
                                },
                                [&](std::error_code error) {
                                    EXPECT_FALSE(error);
                                    ++closes;
                                    self->send("ignored");  // re-entrancy: a no-op now
                                    self->close();
                                }});
    f.on_loop([&] { self = f.stream.get(); });
    write_all(f.client, "x");
    ASSERT_TRUE(wait_until([&] { return closes == 1; }));
    bool eof = false;
    EXPECT_EQ(read_to_eof(f.client, eof), "");  // close() drops queued output
    EXPECT_TRUE(eof);
    EXPECT_EQ(closes, 1);
}

TEST(Stream, CloseAfterFlushFromInsideOnDataKeepsTheInputIntact) {
    // A consumer that decides to disconnect mid-buffer still erases what it consumed.
    Stream* self = nullptr;
    std::atomic<bool> consumed{false};
    Fixture f(Stream::Callbacks{[&](std::string& input) {
                                    if (input.size() < 8) {
                                        return;
                                    }
                                    const std::string_view view(input);
                                    self->send("rejected: " + std::string(view.substr(0, 4)));
                                    self->close_after_flush();
                                    EXPECT_EQ(view.substr(4, 4), "more");
                                    input.erase(0, 8);  // throws if the buffer was cleared
                                    consumed = true;
                                },
                                nullptr});
    f.on_loop([&] { self = f.stream.get(); });
    write_all(f.client, "evilmore");
    bool eof = false;
    EXPECT_EQ(read_to_eof(f.client, eof), "rejected: evil");
    EXPECT_TRUE(eof);
    EXPECT_TRUE(consumed);
}

TEST(Stream, DestroyingAStreamWithAFlushPendingIsSafe) {
    LoopThread lt;
    auto pair = tcp_pair();
    std::atomic<int> closes{0};
    lt.call([&] {
        auto stream = std::make_unique<Stream>(
            lt.loop, pair.server, pair.peer,
            Stream::Callbacks{nullptr, [&](std::error_code) { ++closes; }});
        stream->send("never written");  // schedules a deferred flush ...
        stream->close_after_flush();    // ... and a linger timer
        stream.reset();                 // ... that must not touch the dead stream
    });
    bool eof = false;
    EXPECT_EQ(read_to_eof(pair.client, eof), "");
    EXPECT_TRUE(eof);
    lt.stop();
    EXPECT_EQ(closes, 0);  // the destructor does not call on_close
    ::close(pair.client);
}

TEST(Stream, PeerNameIsKept) {
    Fixture f;
    f.on_loop([&] { EXPECT_EQ(f.stream->peer().rfind("127.0.0.1:", 0), 0u); });
}

}  // namespace
}  // namespace petrel::net
