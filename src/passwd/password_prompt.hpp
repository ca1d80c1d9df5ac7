// Reading a password for petrel-passwd: from the terminal without echo when standard input
// is one, otherwise one line of standard input, so that scripts and tests can pipe it in.
#pragma once

#include <optional>
#include <string>

namespace petrel::passwd {

// Writes `prompt` to standard output and reads one line, without its line break (nor a
// '\r' before it). The terminal's echo is restored afterwards, also when a signal ends the
// program meanwhile. nullopt at end of input or on a read error.
std::optional<std::string> read_password(const char* prompt);

}  // namespace petrel::passwd
