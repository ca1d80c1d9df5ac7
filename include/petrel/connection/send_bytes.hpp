// The event both roles of the endpoint emit most: bytes to write to the peer, in order
// with the other events.
#pragma once

#include <string>

namespace petrel::connection {

struct SendBytes {
    std::string bytes;
};

}  // namespace petrel::connection
