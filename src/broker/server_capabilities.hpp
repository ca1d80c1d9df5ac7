// The capabilities this broker announces in CONNACK and holds its clients to, and the rest
// of the server role's settings, from its configuration.
#pragma once

#include "petrel/broker/config.hpp"
#include "petrel/connection/server_capabilities.hpp"
#include "petrel/connection/server_events.hpp"

namespace petrel::broker {

connection::ServerCapabilities server_capabilities(const Config& config);
connection::ServerSettings server_settings(const Config& config);

}  // namespace petrel::broker
