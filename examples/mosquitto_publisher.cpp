// Publishes COUNT messages to a broker with libmosquitto (MQTT 3.1.1) and waits for each
// to be acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2, written for QoS 0).
//
//   mosquitto_publisher [-h HOST] [-p PORT] [-t TOPIC] [-n COUNT] [-q QOS] [-r]
//
// Defaults: 127.0.0.1, 1883, petrel/example, 10 messages, QoS 1.
// Single-threaded: the program drives the client's network loop itself (mosquitto_loop).
#include <mosquitto.h>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

struct Options {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string topic = "petrel/example";
    int count = 10;
    int qos = 1;
    bool retain = false;
};

// What the callbacks report back to main().
struct State {
    int connack = -1;   // CONNACK return code once it arrives
    int completed = 0;  // messages the broker has acknowledged
};

[[noreturn]] void usage(const char* program) {
    std::cerr << "usage: " << program
              << " [-h HOST] [-p PORT] [-t TOPIC] [-n COUNT] [-q 0|1|2] [-r]\n";
    std::exit(2);
}

Options parse_options(int argc, char* argv[]) {
    Options options;
    int opt;
    while ((opt = getopt(argc, argv, "h:p:t:n:q:r")) != -1) {
        switch (opt) {
            case 'h':
                options.host = optarg;
                break;
            case 'p':
                options.port = std::atoi(optarg);
                break;
            case 't':
                options.topic = optarg;
                break;
            case 'n':
                options.count = std::atoi(optarg);
                break;
            case 'q':
                options.qos = std::atoi(optarg);
                break;
            case 'r':
                options.retain = true;
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

// Runs the network loop until done() or an error; false on error.
template <typename Done>
bool loop_until(mosquitto* client, Done done) {
    while (!done()) {
        const int rc = mosquitto_loop(client, 1000, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            std::cerr << "error: " << mosquitto_strerror(rc) << '\n';
            return false;
        }
    }
    return true;
}

int run(mosquitto* client, const Options& options, State& state) {
    mosquitto_connect_callback_set(
        client, [](mosquitto*, void* user, int rc) { static_cast<State*>(user)->connack = rc; });
    mosquitto_publish_callback_set(client, [](mosquitto*, void* user, int /*mid*/) {
        ++static_cast<State*>(user)->completed;
    });

    int rc = mosquitto_connect(client, options.host.c_str(), options.port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        std::cerr << "error: connect to " << options.host << ":" << options.port << ": "
                  << mosquitto_strerror(rc) << '\n';
        return 1;
    }
    if (!loop_until(client, [&] { return state.connack != -1; })) {
        return 1;
    }
    if (state.connack != 0) {
        std::cerr << "error: connection refused: " << mosquitto_connack_string(state.connack)
                  << '\n';
        return 1;
    }
    std::cout << "connected to " << options.host << ":" << options.port << " (MQTT 3.1.1)\n";

    for (int i = 1; i <= options.count; ++i) {
        const std::string payload =
            "message " + std::to_string(i) + " of " + std::to_string(options.count);
        rc = mosquitto_publish(client, nullptr, options.topic.c_str(),
                               static_cast<int>(payload.size()), payload.data(), options.qos,
                               options.retain);
        if (rc != MOSQ_ERR_SUCCESS) {
            std::cerr << "error: publish: " << mosquitto_strerror(rc) << '\n';
            return 1;
        }
        // One message at a time keeps the example simple; a fast publisher would keep
        // several in flight.
        if (!loop_until(client, [&] { return state.completed == i; })) {
            return 1;
        }
        std::cout << "sent " << options.topic << " qos=" << options.qos
                  << (options.retain ? " retained" : "") << ": " << payload << '\n';
    }

    mosquitto_disconnect(client);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    const Options options = parse_options(argc, argv);
    const std::string client_id = "mosquitto-publisher-" + std::to_string(getpid());

    mosquitto_lib_init();
    State state;
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
