// Writes the fuzz_decoder seed corpus: every sample packet of the unit tests, encoded for
// each protocol version, one file per packet. Run it when the packet set changes:
//   fuzz_decoder_corpus tests/fuzz/corpus/decoder
#include <cstdio>
#include <fstream>
#include <string>

#include "petrel/protocol/codec.hpp"
#include "sample_packets.hpp"

int main(int argc, char** argv) {
    using namespace petrel::protocol;
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
        return 2;
    }
    const std::string directory = argv[1];
    int written = 0;
    for (ProtocolVersion version :
         {ProtocolVersion::V31, ProtocolVersion::V311, ProtocolVersion::V5}) {
        int index = 0;
        for (const Packet& packet : testing::sample_packets(version)) {
            std::string bytes;
            encode(packet, version, bytes);
            std::string name(to_string(packet_type(packet)));
            for (char& c : name) {
                c = static_cast<char>(c - 'A' + 'a');
            }
            char prefix[32];
            std::snprintf(prefix, sizeof prefix, "v%d_%02d_", static_cast<int>(version), index++);
            std::ofstream out(directory + "/" + prefix + name + ".bin", std::ios::binary);
            out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
            if (!out) {
                std::fprintf(stderr, "cannot write into %s\n", directory.c_str());
                return 1;
            }
            ++written;
        }
    }
    std::printf("wrote %d seeds to %s\n", written, directory.c_str());
    return 0;
}
