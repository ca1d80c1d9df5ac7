// libFuzzer target for the protocol codec.
//
// For arbitrary bytes and each protocol version: frame() and decode() must not crash or
// read past the input (ASan watches), failures must carry a decode reason code, and any
// packet that decodes must survive encode -> decode unchanged, with encoded_size() and
// encode_publish_header() agreeing with encode(). A mismatch aborts, which libFuzzer
// reports with the input that caused it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "packet_equal.hpp"
#include "petrel/protocol/codec.hpp"

namespace {

using namespace petrel::protocol;

[[noreturn]] void fail(const char* what, ProtocolVersion version) {
    std::fprintf(stderr, "fuzz_decoder: %s (protocol level %d)\n", what, static_cast<int>(version));
    std::abort();
}

ByteView view(const std::string& bytes) {
    return ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

void check_round_trip(const Packet& packet, ProtocolVersion version) {
    std::string encoded;
    encode(packet, version, encoded);
    if (encoded_size(packet, version) != encoded.size()) {
        fail("encoded_size differs from encode", version);
    }
    const FrameResult framed = frame(view(encoded));
    if (framed.status != FrameStatus::Complete || framed.frame.total_length() != encoded.size()) {
        fail("encode produced a frame of the wrong length", version);
    }
    const Result<Packet> again = decode(view(encoded), version);
    if (!again) {
        std::fprintf(stderr, "re-decode error: %s\n", again.error().what);
        fail("encoded packet does not decode", version);
    }
    if (!petrel::protocol::testing::same_packet(*again, packet)) {
        fail("decode(encode(p)) differs from p", version);
    }
    std::string reencoded;
    encode(*again, version, reencoded);
    if (reencoded != encoded) {
        fail("encoding is not stable", version);
    }
    if (const auto* publish = std::get_if<Publish>(&packet)) {
        std::string header;
        encode_publish_header(*publish, version, header);
        if (header + *publish->payload != encoded) {
            fail("encode_publish_header + payload differs from encode", version);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    (void)frame(input);
    (void)peek_connect_level(input);
    (void)is_valid_utf8(std::string_view(reinterpret_cast<const char*>(data), size));

    for (ProtocolVersion version :
         {ProtocolVersion::V31, ProtocolVersion::V311, ProtocolVersion::V5}) {
        const Result<Packet> result = decode(input, version);
        if (!result) {
            const ReasonCode code = result.error().code;
            // Topic Alias 0 has its own code (3.3.2.3.4).
            if (code != ReasonCode::MalformedPacket && code != ReasonCode::ProtocolError &&
                code != ReasonCode::UnsupportedProtocolVersion &&
                code != ReasonCode::TopicAliasInvalid) {
                fail("decode failed with an unexpected reason code", version);
            }
            continue;
        }
        check_round_trip(*result, version);
    }
    return 0;
}
