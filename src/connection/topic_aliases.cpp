#include "petrel/connection/topic_aliases.hpp"

namespace petrel::connection {

using protocol::PropertyId;
using protocol::ReasonCode;

std::optional<protocol::Error> InboundTopicAliases::resolve(protocol::Publish& publish) {
    const auto alias = publish.properties.number(PropertyId::TopicAlias);
    if (!alias) {
        return std::nullopt;
    }
    if (*alias == 0 || *alias > topics_.size()) {
        return protocol::Error{ReasonCode::TopicAliasInvalid,
                               "topic alias 0 or above the Topic Alias Maximum"};
    }
    std::string& mapped = topics_[*alias - 1];
    if (publish.topic.empty()) {
        if (mapped.empty()) {
            return protocol::protocol_error("empty topic with a topic alias never set");
        }
        publish.topic = mapped;
    } else {
        mapped = publish.topic;
    }
    publish.properties.remove(PropertyId::TopicAlias);
    return std::nullopt;
}

std::optional<OutboundTopicAliases::Use> OutboundTopicAliases::use(std::string_view topic) {
    if (topics_.empty()) {
        return std::nullopt;
    }
    const std::string key(topic);
    if (auto found = aliases_.find(key); found != aliases_.end()) {
        return Use{found->second, false};
    }
    const std::uint16_t index = next_;
    next_ = static_cast<std::uint16_t>((next_ + 1) % topics_.size());
    std::string& previous = topics_[index];
    if (!previous.empty()) {
        aliases_.erase(previous);
    }
    previous = key;
    const auto alias = static_cast<std::uint16_t>(index + 1);
    aliases_.emplace(key, alias);
    return Use{alias, true};
}

}  // namespace petrel::connection
