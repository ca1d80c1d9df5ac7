// A libmosquitto client for broker tests: a real, widely deployed MQTT 3.1.1 / 5 client
// whose network loop runs on its own thread. Received messages are collected in a
// thread-safe list the test waits on.
//
// Unlike libmosquitto's own loop, this wrapper never reconnects by itself: a connection
// the broker closes stays closed until the test calls connect() again, so takeover and
// error tests see exactly one connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/wait.hpp"

struct mosquitto;

namespace petrel::test {

struct ReceivedMessage {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    int mid = 0;
};

struct MosquittoWill {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};

struct MosquittoOptions {
    std::string client_id;  // empty: libmosquitto makes one up (clean sessions only)
    bool v5 = false;        // MQTT 5, else 3.1.1
    bool clean_session = true;
    int keep_alive = 60;
    // v5 Session Expiry Interval; without it a v5 session ends with its connection.
    std::uint32_t session_expiry = 0;
    std::optional<MosquittoWill> will;
    std::optional<std::string> username;
    std::optional<std::string> password;
};

class MosquittoClient {
  public:
    explicit MosquittoClient(MosquittoOptions options);
    // Disconnects cleanly if connected and stops the network thread.
    ~MosquittoClient();

    MosquittoClient(const MosquittoClient&) = delete;
    MosquittoClient& operator=(const MosquittoClient&) = delete;

    // Connects to 127.0.0.1:`port` and waits for the CONNACK. Returns its reason code
    // (0 = accepted; 3.1.1 return codes or v5 reason codes), or -1 when no CONNACK came.
    int connect(std::uint16_t port, std::chrono::milliseconds timeout = kDefaultTimeout);
    bool connected() const;
    bool session_present() const;

    // Sends DISCONNECT and waits for the network thread to finish.
    void disconnect();
    // Waits until the broker closed the connection; the reason is the v5 DISCONNECT
    // reason code the broker sent, or a libmosquitto error code.
    bool wait_disconnected(std::chrono::milliseconds timeout = kDefaultTimeout);
    int disconnect_reason() const;

    // Subscribes and waits for the SUBACK; returns its granted QoS / reason codes.
    std::optional<std::vector<int>> subscribe(const std::string& filter, int qos,
                                              std::chrono::milliseconds timeout = kDefaultTimeout);
    bool unsubscribe(const std::string& filter,
                     std::chrono::milliseconds timeout = kDefaultTimeout);

    // Queues a PUBLISH; returns its message id, or -1 when libmosquitto refused it.
    int publish(const std::string& topic, const std::string& payload, int qos = 0,
                bool retain = false);
    // True once `mid` completed its handshake (QoS 0: was written).
    bool wait_published(int mid, std::chrono::milliseconds timeout = kDefaultTimeout);

    // Waits until at least `count` messages have arrived in total.
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout = kDefaultTimeout);
    std::vector<ReceivedMessage> messages() const;
    std::size_t message_count() const;
    void clear_messages();

    // Callbacks from the network thread; public only for libmosquitto's C trampolines.
    void on_connect(int reason, int flags);
    void on_disconnect(int reason);
    void on_message(ReceivedMessage message);
    void on_publish(int mid);
    void on_subscribe(int mid, std::vector<int> granted);
    void on_unsubscribe(int mid);

  private:
    void stop_loop();

    MosquittoOptions options_;
    ::mosquitto* handle_ = nullptr;
    bool loop_running_ = false;  // touched only by the test thread

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    // Guarded by mutex_:
    std::optional<int> connack_reason_;
    bool session_present_ = false;
    bool connected_ = false;
    bool disconnected_ = false;
    int disconnect_reason_ = 0;
    std::vector<ReceivedMessage> messages_;
    std::set<int> published_;
    std::map<int, std::vector<int>> subacks_;
    std::set<int> unsubacks_;
};

}  // namespace petrel::test
