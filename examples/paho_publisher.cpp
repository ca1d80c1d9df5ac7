// Publishes COUNT messages to a broker with the Eclipse Paho MQTT C++ client and waits
// for each to be acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2).
//
//   paho_publisher [-h HOST] [-p PORT] [-t TOPIC] [-n COUNT] [-q QOS] [-r] [-V 311|5]
//
// Defaults: 127.0.0.1, 1883, petrel/example, 10 messages, QoS 1, MQTT 3.1.1.
#include <mqtt/async_client.h>

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
    int mqtt_version = MQTTVERSION_3_1_1;
};

[[noreturn]] void usage(const char* program) {
    std::cerr << "usage: " << program
              << " [-h HOST] [-p PORT] [-t TOPIC] [-n COUNT] [-q 0|1|2] [-r] [-V 311|5]\n";
    std::exit(2);
}

Options parse_options(int argc, char* argv[]) {
    Options options;
    int opt;
    while ((opt = getopt(argc, argv, "h:p:t:n:q:rV:")) != -1) {
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
    const std::string client_id = "paho-publisher-" + std::to_string(getpid());

    // MQTT 5 has to be chosen when the client is created, not only when it connects.
    mqtt::async_client client(uri, client_id, mqtt::create_options(options.mqtt_version));

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
        std::cout << "connected to " << uri << " as " << client_id << " (MQTT "
                  << (options.mqtt_version == MQTTVERSION_5 ? "5" : "3.1.1") << ")\n";

        for (int i = 1; i <= options.count; ++i) {
            const std::string payload =
                "message " + std::to_string(i) + " of " + std::to_string(options.count);
            auto message = mqtt::make_message(options.topic, payload, options.qos, options.retain);
            // wait() returns once the broker has acknowledged the message (QoS 1/2) or
            // once it has been written to the socket (QoS 0).
            client.publish(message)->wait();
            std::cout << "sent " << options.topic << " qos=" << options.qos
                      << (options.retain ? " retained" : "") << ": " << payload << '\n';
        }

        client.disconnect()->wait();
    } catch (const mqtt::exception& error) {
        std::cerr << "error: " << error.what() << '\n';
        return 1;
    }
    return 0;
}
