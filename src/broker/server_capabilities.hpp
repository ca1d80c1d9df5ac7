// The capabilities this broker announces in CONNACK and holds its clients to, from its
// configuration.
#pragma once

#include "petrel/broker/config.hpp"
#include "petrel/connection/server_capabilities.hpp"

namespace petrel::broker {

connection::ServerCapabilities server_capabilities(const Config& config);

}  // namespace petrel::broker
