#include "password_prompt.hpp"

#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <iterator>

namespace petrel::passwd {
namespace {

constexpr int kRestoreSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};

// The terminal settings to restore if a signal arrives while echo is off. Written before
// the handlers are installed and only read by them.
struct termios saved_terminal {};

extern "C" void restore_terminal_and_reraise(int signal_number) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
}

// Turns echo off for its lifetime (when standard input is a terminal).
class EchoOff {
  public:
    EchoOff() {
        if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_terminal) != 0) {
            return;
        }
        struct sigaction action {};
        action.sa_handler = restore_terminal_and_reraise;
        sigemptyset(&action.sa_mask);
        for (std::size_t i = 0; i < std::size(kRestoreSignals); ++i) {
            ::sigaction(kRestoreSignals[i], &action, &previous_[i]);
        }
        struct termios quiet = saved_terminal;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        installed_ = true;
    }
    ~EchoOff() {
        if (active_) {
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
        }
        if (installed_) {
            for (std::size_t i = 0; i < std::size(kRestoreSignals); ++i) {
                ::sigaction(kRestoreSignals[i], &previous_[i], nullptr);
            }
        }
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

  private:
    struct sigaction previous_[std::size(kRestoreSignals)]{};
    bool installed_ = false;
    bool active_ = false;
};

}  // namespace

std::optional<std::string> read_password(const char* prompt) {
    std::fputs(prompt, stdout);
    std::fflush(stdout);
    std::string line;
    {
        const EchoOff echo_off;
        const bool read = static_cast<bool>(std::getline(std::cin, line)) || !line.empty();
        // The line break typed (or piped) was not echoed; end the prompt's line ourselves.
        std::fputs("\n", stdout);
        std::fflush(stdout);
        if (!read) {
            return std::nullopt;
        }
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return line;
}

}  // namespace petrel::passwd
