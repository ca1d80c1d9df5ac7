// libFuzzer target for the server role of the MQTT endpoint (connection::ServerEndpoint):
// fuzz_broker's inputs (connection_input.hpp) played by the same script
// (connection_script.hpp) against endpoints in process, with a small embedder playing the
// broker (endpoint_broker.hpp). What the endpoint writes is held to the rules
// fuzz_broker holds the broker to (stream_check.hpp), and its events to the phases
// that allow them. No socket, thread or clock: an input is deterministic, and a fresh
// embedder serves each one, so that a crash reproduces from its input alone.
#include <cstddef>
#include <cstdint>

#include "connection_script.hpp"
#include "endpoint_broker.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    petrel::fuzz::TestBroker broker;
    petrel::fuzz::run_connection_script({data, size}, broker);
    return 0;
}
