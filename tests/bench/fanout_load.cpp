// bench_fanout: 1 publisher -> S subscribers on one topic filter, for instruction counts.
//
// Made for scripts/callgrind-fanout.sh, which runs petrel under callgrind: the broker's
// instruction total for a run with N messages, minus that of a run with 0 messages, over
// N * S deliveries. So the load must do the same work in both runs apart from the messages,
// and leave the broker idle when it exits:
//
//   1. connect S subscribers (clean session) and subscribe each to one filter at the QoS;
//   2. connect the publisher, publish N messages of the given size at the QoS, keeping at
//      most `window` messages ahead of the slowest subscriber (no QoS 0 drops from an
//      overflowing output buffer, and the same packet batching from run to run);
//   3. wait until every subscriber holds all N (libmosquitto answers QoS 1 with PUBACK) and
//      the publisher holds every PUBACK;
//   4. DISCONNECT every client and wait until the broker has closed every connection on its
//      port (/proc/net/tcp), so the PUBACKs, which precede the DISCONNECTs on each
//      connection, have been processed before the script sends SIGTERM.
//
// One thread, one poll() over every client's socket (libmosquitto's external-loop API).
// The broker must already be started; connects are retried until it accepts. Exit status
// 0 when every message arrived exactly once, 1 otherwise.
//
//   bench_fanout --port 18830 --subscribers 100 --messages 2000 --qos 1 --protocol 5
#include <poll.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <mosquitto.h>
#include <mqtt_protocol.h>

namespace petrel::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kHost = "127.0.0.1";
constexpr const char* kTopic = "fanout/t";
constexpr int kKeepAliveSeconds = 600;  // no PINGREQ during a run, even a slow one
constexpr int kPollMs = 100;

struct Options {
    std::uint16_t port = 0;
    unsigned subscribers = 100;
    unsigned messages = 2000;
    std::size_t payload_bytes = 64;
    int qos = 0;
    int protocol = 5;  // 4 (3.1.1) or 5
    unsigned window = 20;
    unsigned timeout_seconds = 600;
};

struct Client {
    std::string id;
    mosquitto* handle = nullptr;
    bool connacked = false;
    int connack_code = -1;
    bool subacked = false;
    int granted_qos = -1;
    std::uint64_t received = 0;  // messages with the expected sequence
    std::uint64_t out_of_order = 0;
    std::uint64_t acked = 0;  // publisher: PUBACKs (QoS 1) or messages written (QoS 0)
};

void on_connect(mosquitto*, void* user, int code) {
    auto* client = static_cast<Client*>(user);
    client->connacked = true;
    client->connack_code = code;
}

void on_subscribe(mosquitto*, void* user, int, int count, const int* granted) {
    auto* client = static_cast<Client*>(user);
    client->subacked = true;
    client->granted_qos = count > 0 ? granted[0] : -1;
}

void on_publish(mosquitto*, void* user, int) {
    ++static_cast<Client*>(user)->acked;
}

// Payload starts with the 32-bit sequence; one publisher, so order is guaranteed per
// subscriber [MQTT-4.6.0-5] and any other sequence is a loss or a duplicate.
void on_message(mosquitto*, void* user, const mosquitto_message* message) {
    auto* client = static_cast<Client*>(user);
    std::uint32_t sequence = 0;
    if (message->payloadlen >= static_cast<int>(sizeof sequence)) {
        std::memcpy(&sequence, message->payload, sizeof sequence);
        if (sequence == client->received) {
            ++client->received;
            return;
        }
    }
    ++client->out_of_order;
}

class Load {
  public:
    explicit Load(const Options& options)
        : options_(options),
          deadline_(Clock::now() + std::chrono::seconds{options.timeout_seconds}) {
        clients_.resize(options.subscribers + 1);  // the last one publishes
        for (std::size_t i = 0; i < clients_.size(); ++i) {
            Client& client = clients_[i];
            client.id = i < options.subscribers ? "fanout-sub-" + std::to_string(i) : "fanout-pub";
            client.handle = mosquitto_new(client.id.c_str(), true, &client);
            if (client.handle == nullptr) {
                throw std::runtime_error("mosquitto_new failed");
            }
            mosquitto_int_option(client.handle, MOSQ_OPT_PROTOCOL_VERSION,
                                 options.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
            mosquitto_int_option(client.handle, MOSQ_OPT_TCP_NODELAY, 1);
            mosquitto_max_inflight_messages_set(client.handle, 0);  // the window limits
            mosquitto_connect_callback_set(client.handle, on_connect);
            mosquitto_subscribe_callback_set(client.handle, on_subscribe);
            mosquitto_publish_callback_set(client.handle, on_publish);
            mosquitto_message_callback_set(client.handle, on_message);
        }
    }
    ~Load() {
        for (Client& client : clients_) {
            mosquitto_destroy(client.handle);
        }
    }
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;

    void run() {
        connect_all();
        for (unsigned i = 0; i < options_.subscribers; ++i) {
            check(mosquitto_subscribe(clients_[i].handle, nullptr, kTopic, options_.qos),
                  "subscribe");
        }
        loop_until(
            [&] {
                return std::all_of(subscribers().begin(), subscribers().end(),
                                   [](const Client& c) { return c.subacked; });
            },
            "SUBACK");
        for (unsigned i = 0; i < options_.subscribers; ++i) {
            if (clients_[i].granted_qos != options_.qos) {
                throw std::runtime_error(clients_[i].id + " granted QoS " +
                                         std::to_string(clients_[i].granted_qos));
            }
        }
        publish_all();
        disconnect_all();
    }

    int report() const {
        std::uint64_t received = 0;
        std::uint64_t out_of_order = 0;
        for (const Client& client : subscribers()) {
            received += client.received;
            out_of_order += client.out_of_order;
        }
        const std::uint64_t expected = std::uint64_t{options_.messages} * options_.subscribers;
        std::printf(
            "bench_fanout: %u subscribers, %u messages, QoS %d, MQTT %s: %llu of %llu "
            "deliveries, %llu out of order or duplicate\n",
            options_.subscribers, options_.messages, options_.qos,
            options_.protocol == 5 ? "5" : "3.1.1", static_cast<unsigned long long>(received),
            static_cast<unsigned long long>(expected),
            static_cast<unsigned long long>(out_of_order));
        return received == expected && out_of_order == 0 ? 0 : 1;
    }

  private:
    std::span<Client> subscribers() { return {clients_.data(), options_.subscribers}; }
    std::span<const Client> subscribers() const { return {clients_.data(), options_.subscribers}; }
    Client& publisher() { return clients_.back(); }

    static void check(int rc, const char* what) {
        if (rc != MOSQ_ERR_SUCCESS) {
            throw std::runtime_error(std::string(what) + ": " + mosquitto_strerror(rc));
        }
    }

    // The broker may still be starting (under valgrind, seconds): retry the TCP connect.
    void connect_all() {
        for (Client& client : clients_) {
            while (mosquitto_connect(client.handle, kHost, options_.port, kKeepAliveSeconds) !=
                   MOSQ_ERR_SUCCESS) {
                if (Clock::now() >= deadline_) {
                    throw std::runtime_error("broker on port " + std::to_string(options_.port) +
                                             " does not accept connections");
                }
                std::this_thread::sleep_for(std::chrono::milliseconds{100});
            }
        }
        loop_until(
            [&] {
                return std::all_of(clients_.begin(), clients_.end(),
                                   [](const Client& c) { return c.connacked; });
            },
            "CONNACK");
        for (const Client& client : clients_) {
            if (client.connack_code != 0) {
                throw std::runtime_error(client.id + ": CONNACK refused: " +
                                         mosquitto_connack_string(client.connack_code));
            }
        }
    }

    std::uint64_t slowest_subscriber() const {
        std::uint64_t slowest = options_.messages;
        for (const Client& client : subscribers()) {
            slowest = std::min(slowest, client.received);
        }
        return slowest;
    }

    void publish_all() {
        const std::vector<char> payload(options_.payload_bytes, '.');
        std::vector<char> message = payload;
        std::uint64_t sent = 0;
        const auto all_delivered = [&] {
            return slowest_subscriber() == options_.messages &&
                   (options_.qos == 0 || publisher().acked == options_.messages);
        };
        while (!all_delivered()) {
            while (sent < options_.messages && sent - slowest_subscriber() < options_.window) {
                const auto sequence = static_cast<std::uint32_t>(sent);
                std::memcpy(message.data(), &sequence, std::min(sizeof sequence, message.size()));
                check(mosquitto_publish(publisher().handle, nullptr, kTopic,
                                        static_cast<int>(message.size()), message.data(),
                                        options_.qos, false),
                      "publish");
                ++sent;
            }
            poll_once("deliveries");
        }
    }

    void disconnect_all() {
        for (Client& client : clients_) {
            mosquitto_disconnect(client.handle);
        }
        // libmosquitto writes the DISCONNECT and closes the socket within its loop.
        loop_until(
            [&] {
                return std::all_of(clients_.begin(), clients_.end(),
                                   [](const Client& c) { return mosquitto_socket(c.handle) < 0; });
            },
            "DISCONNECT written");
        while (broker_connections() > 0) {
            if (Clock::now() >= deadline_) {
                throw std::runtime_error("broker keeps connections open after DISCONNECT");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
    }

    // Broker-side sockets on 127.0.0.1:port that are ESTABLISHED (01) or CLOSE_WAIT (08):
    // connections the broker has not closed yet.
    unsigned broker_connections() const {
        std::ifstream tcp("/proc/net/tcp");
        char local[32];
        std::snprintf(local, sizeof local, "0100007F:%04X", options_.port);
        unsigned open = 0;
        std::string line;
        std::getline(tcp, line);  // header
        while (std::getline(tcp, line)) {
            std::istringstream fields(line);
            std::string slot, local_address, remote_address, state;
            fields >> slot >> local_address >> remote_address >> state;
            if (local_address == local && (state == "01" || state == "08")) {
                ++open;
            }
        }
        return open;
    }

    template <class Done>
    void loop_until(Done done, const char* what) {
        while (!done()) {
            poll_once(what);
        }
    }

    void poll_once(const char* what) {
        if (Clock::now() >= deadline_) {
            throw std::runtime_error(std::string("timed out waiting for ") + what);
        }
        fds_.clear();
        owners_.clear();
        for (Client& client : clients_) {
            const int fd = mosquitto_socket(client.handle);
            if (fd < 0) {
                continue;
            }
            fds_.push_back(
                {fd,
                 static_cast<short>(POLLIN | (mosquitto_want_write(client.handle) ? POLLOUT : 0)),
                 0});
            owners_.push_back(&client);
        }
        if (::poll(fds_.data(), fds_.size(), kPollMs) < 0) {
            throw std::runtime_error("poll failed");
        }
        for (std::size_t i = 0; i < fds_.size(); ++i) {
            mosquitto* handle = owners_[i]->handle;
            if ((fds_[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
                check(mosquitto_loop_read(handle, 1), what);
            }
            if ((fds_[i].revents & POLLOUT) != 0 && mosquitto_socket(handle) >= 0) {
                check(mosquitto_loop_write(handle, 1), what);
            }
            if (mosquitto_socket(handle) >= 0) {
                mosquitto_loop_misc(handle);
            }
        }
    }

    Options options_;
    Clock::time_point deadline_;
    std::vector<Client> clients_;
    std::vector<pollfd> fds_;
    std::vector<Client*> owners_;
};

}  // namespace
}  // namespace petrel::bench

int main(int argc, char** argv) {
    using petrel::bench::Options;
    Options options;
    CLI::App app{"1 publisher -> N subscribers on one filter, against a running broker"};
    app.add_option("--port", options.port, "Broker port on 127.0.0.1")->required();
    app.add_option("--subscribers", options.subscribers)->check(CLI::Range(1, 10000));
    app.add_option("--messages", options.messages, "Messages to publish (0: connect only)");
    app.add_option("--payload", options.payload_bytes, "Payload bytes (>= 4)")
        ->check(CLI::Range(4, 1 << 20));
    app.add_option("--qos", options.qos)->check(CLI::Range(0, 1));
    app.add_option("--protocol", options.protocol, "4 (MQTT 3.1.1) or 5")
        ->check(CLI::IsMember({4, 5}));
    app.add_option("--window", options.window, "Messages ahead of the slowest subscriber")
        ->check(CLI::Range(1, 65535));
    app.add_option("--timeout", options.timeout_seconds, "Seconds for the whole run");
    CLI11_PARSE(app, argc, argv);

    mosquitto_lib_init();
    int status = 1;
    try {
        petrel::bench::Load load(options);
        load.run();
        status = load.report();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "bench_fanout: %s\n", error.what());
    }
    mosquitto_lib_cleanup();
    return status;
}
