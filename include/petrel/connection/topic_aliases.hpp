// Topic aliases of one v5 connection (spec 3.3.2.3.4), one table per direction. An alias
// maps a two-byte number to a topic for the life of the network connection only, so these
// live with the connection, never with the session.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "petrel/protocol/packet.hpp"
#include "petrel/protocol/result.hpp"

namespace petrel::connection {

// Aliases the client sets up in its PUBLISHes, up to the Topic Alias Maximum we announced.
class InboundTopicAliases {
  public:
    explicit InboundTopicAliases(std::uint16_t maximum = 0) : topics_(maximum) {}

    // Gives `publish` its full topic: a topic with an alias (re)defines the alias, an empty
    // topic with an alias uses it. The Topic Alias property is removed. Errors: an alias of 0
    // or above the maximum (0x94, [MQTT-3.3.2-8], [MQTT-3.3.2-9]); an empty topic with an
    // alias never defined on this connection (protocol error).
    std::optional<protocol::Error> resolve(protocol::Publish& publish);

  private:
    std::vector<std::string> topics_;  // index alias - 1; empty: not defined
};

// Aliases the broker sets up towards the client, up to the client's Topic Alias Maximum
// [MQTT-3.3.2-11]. New topics take free aliases; once all are taken they are reassigned in
// turn, which costs one PUBLISH with the full topic each time.
class OutboundTopicAliases {
  public:
    explicit OutboundTopicAliases(std::uint16_t maximum = 0) : topics_(maximum) {}

    struct Use {
        std::uint16_t alias = 0;
        bool send_topic = false;  // first use of this alias for this topic: send both
    };
    bool enabled() const { return !topics_.empty(); }
    // The alias to put in the next PUBLISH on `topic`; nullopt when aliases are off.
    std::optional<Use> use(std::string_view topic);

  private:
    std::vector<std::string> topics_;  // index alias - 1
    std::unordered_map<std::string, std::uint16_t> aliases_;
    std::uint16_t next_ = 0;  // next alias to take (index), cycling once all are in use
};

}  // namespace petrel::connection
