// Subscribes to a topic filter with libmosquitto (MQTT 3.1.1) and prints every message it
// receives; exits after COUNT messages (0: run until Ctrl-C).
//
//   mosquitto_subscriber [-h HOST] [-p PORT] [-t FILTER] [-n COUNT] [-q QOS]
//
// Defaults: 127.0.0.1, 1883, petrel/example, 10 messages, QoS 1.
// Single-threaded: the program drives the client's network loop itself (mosquitto_loop).
#include <mosquitto.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

volatile std::sig_atomic_t g_stop = 0;

struct Options {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string filter = "petrel/example";
    int count = 10;
    int qos = 1;
};

// Shared between main() and the callbacks, which run inside mosquitto_loop().
struct State {
    const Options* options = nullptr;
    int connack = -1;      // CONNACK return code once it arrives
    int granted_qos = -1;  // from the SUBACK; 0x80 means refused
    int received = 0;
};

[[noreturn]] void usage(const char* program) {
    std::cerr << "usage: " << program << " [-h HOST] [-p PORT] [-t FILTER] [-n COUNT] [-q 0|1|2]\n";
    std::exit(2);
}

Options parse_options(int argc, char* argv[]) {
    Options options;
    int opt;
    while ((opt = getopt(argc, argv, "h:p:t:n:q:")) != -1) {
        switch (opt) {
            case 'h':
                options.host = optarg;
                break;
            case 'p':
                options.port = std::atoi(optarg);
                break;
            case 't':
                options.filter = optarg;
                break;
            case 'n':
                options.count = std::atoi(optarg);
                break;
            case 'q':
                options.qos = std::atoi(optarg);
                break;
            default:
                usage(argv[0]);
        }
    }
    if (optind != argc || options.port <= 0 || options.count < 0 || options.qos < 0 ||
        options.qos > 2) {
        usage(argv[0]);
    }
    return options;
}

void on_connect(mosquitto* client, void* user, int rc) {
    auto& state = *static_cast<State*>(user);
    state.connack = rc;
    if (rc == 0) {
        // Subscribe once the broker has accepted the connection; the SUBACK arrives in
        // on_subscribe.
        mosquitto_subscribe(client, nullptr, state.options->filter.c_str(), state.options->qos);
    }
}

void on_subscribe(mosquitto*, void* user, int /*mid*/, int count, const int* granted_qos) {
    auto& state = *static_cast<State*>(user);
    state.granted_qos = count > 0 ? granted_qos[0] : 0x80;
    if (state.granted_qos <= 2) {
        std::cout << "subscribed to " << state.options->filter
                  << " (MQTT 3.1.1, granted qos=" << state.granted_qos << ")" << std::endl;
    }
}

void on_message(mosquitto*, void* user, const mosquitto_message* message) {
    auto& state = *static_cast<State*>(user);
    ++state.received;
    const std::string payload(static_cast<const char*>(message->payload),
                              static_cast<size_t>(message->payloadlen));
    std::cout << "received " << message->topic << " qos=" << message->qos
              << (message->retain ? " retained" : "") << ": " << payload << std::endl;
}

int run(mosquitto* client, const Options& options, State& state) {
    mosquitto_connect_callback_set(client, on_connect);
    mosquitto_subscribe_callback_set(client, on_subscribe);
    mosquitto_message_callback_set(client, on_message);

    int rc = mosquitto_connect(client, options.host.c_str(), options.port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        std::cerr << "error: connect to " << options.host << ":" << options.port << ": "
                  << mosquitto_strerror(rc) << '\n';
        return 1;
    }

    while (!g_stop && (options.count == 0 || state.received < options.count)) {
        rc = mosquitto_loop(client, 200, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            std::cerr << "error: " << mosquitto_strerror(rc) << '\n';
            return 1;
        }
        if (state.connack > 0) {
            std::cerr << "error: connection refused: " << mosquitto_connack_string(state.connack)
                      << '\n';
            return 1;
        }
        if (state.granted_qos > 2) {
            std::cerr << "error: subscription to " << options.filter << " refused\n";
            return 1;
        }
    }

    mosquitto_disconnect(client);
    std::cout << "received " << state.received << " message(s)" << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    const Options options = parse_options(argc, argv);
    const std::string client_id = "mosquitto-subscriber-" + std::to_string(getpid());

    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });

    mosquitto_lib_init();
    State state;
    state.options = &options;
    mosquitto* client = mosquitto_new(client_id.c_str(), /*clean_session=*/true, &state);
    if (client == nullptr) {
        std::cerr << "error: mosquitto_new failed\n";
        return 1;
    }
    mosquitto_int_option(client, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    const int status = run(client, options, state);
    mosquitto_destroy(client);
    mosquitto_lib_cleanup();
    return status;
}
