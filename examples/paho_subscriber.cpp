// Subscribes to a topic filter with the Eclipse Paho MQTT C++ client and prints every
// message it receives; exits after COUNT messages (0: run until Ctrl-C).
//
//   paho_subscriber [-h HOST] [-p PORT] [-t FILTER] [-n COUNT] [-q QOS] [-V 311|5]
//
// Defaults: 127.0.0.1, 1883, petrel/example, 10 messages, QoS 1, MQTT 3.1.1.
#include <mqtt/async_client.h>

#include <unistd.h>

#include <chrono>
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
    int mqtt_version = MQTTVERSION_3_1_1;
};

[[noreturn]] void usage(const char* program) {
    std::cerr << "usage: " << program
              << " [-h HOST] [-p PORT] [-t FILTER] [-n COUNT] [-q 0|1|2] [-V 311|5]\n";
    std::exit(2);
}

Options parse_options(int argc, char* argv[]) {
    Options options;
    int opt;
    while ((opt = getopt(argc, argv, "h:p:t:n:q:V:")) != -1) {
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
            case 'V':
                if (std::string(optarg) == "5") {
                    options.mqtt_version = MQTTVERSION_5;
                } else if (std::string(optarg) == "311") {
                    options.mqtt_version = MQTTVERSION_3_1_1;
                } else {
                    usage(argv[0]);
                }
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

}  // namespace

int main(int argc, char* argv[]) {
    const Options options = parse_options(argc, argv);
    const std::string uri = "tcp://" + options.host + ":" + std::to_string(options.port);
    const std::string client_id = "paho-subscriber-" + std::to_string(getpid());

    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });

    mqtt::async_client client(uri, client_id, mqtt::create_options(options.mqtt_version));
    // Received messages go to a queue that the loop below reads; no callbacks needed.
    client.start_consuming();

    auto connect_builder = mqtt::connect_options_builder()
                               .mqtt_version(options.mqtt_version)
                               .keep_alive_interval(std::chrono::seconds(30));
    if (options.mqtt_version == MQTTVERSION_5) {
        connect_builder.clean_start(true);
    } else {
        connect_builder.clean_session(true);
    }

    try {
        client.connect(connect_builder.finalize())->wait();
        auto subscribed = client.subscribe(options.filter, options.qos);
        subscribed->wait();
        // The SUBACK carries one code per filter: the granted QoS (0..2), or a failure
        // (0x80 in MQTT 3.1.1, a reason code >= 0x80 in MQTT 5).
        const auto codes = subscribed->get_subscribe_response().get_reason_codes();
        const int granted = codes.empty() ? 0x80 : int(codes.front());
        if (granted > 2) {
            std::cerr << "error: subscription to " << options.filter << " refused (0x" << std::hex
                      << granted << ")\n";
            return 1;
        }
        std::cout << "subscribed to " << options.filter << " on " << uri << " (MQTT "
                  << (options.mqtt_version == MQTTVERSION_5 ? "5" : "3.1.1")
                  << ", granted qos=" << granted << ")" << std::endl;

        int received = 0;
        while (!g_stop && (options.count == 0 || received < options.count)) {
            mqtt::const_message_ptr message;
            if (!client.try_consume_message_for(&message, std::chrono::milliseconds(200))) {
                continue;  // nothing yet; look at g_stop again
            }
            if (!message) {  // the client queues an empty message when the connection drops
                std::cerr << "error: connection lost\n";
                return 1;
            }
            ++received;
            std::cout << "received " << message->get_topic() << " qos=" << message->get_qos()
                      << (message->is_retained() ? " retained" : "") << ": " << message->to_string()
                      << std::endl;
        }

        client.unsubscribe(options.filter)->wait();
        client.disconnect()->wait();
        std::cout << "received " << received << " message(s)" << std::endl;
    } catch (const mqtt::exception& error) {
        std::cerr << "error: " << error.what() << '\n';
        return 1;
    }
    return 0;
}
