// A password file edited as text, for petrel-passwd: one user's line is added, replaced or
// removed, and every other line (comments, blank lines, other users, even lines this
// version cannot parse) is written back byte for byte. Lines are recognised the way
// auth::PasswordFile::parse reads them: trimmed, '#' starts a comment, the username ends
// at the first ':'.
//
// Saving replaces the file atomically (a temporary file in the same directory, fsync,
// rename), so a broker reading it meanwhile, or a crash, sees the old file or the new one,
// never a torn one.
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::passwd {

// What stops the tool; what() is the message without the "Error: " prefix.
class EditError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class PasswordFileText {
  public:
    PasswordFileText() = default;  // an empty file, for -c

    // Throws EditError "Unable to open password file PATH. REASON."
    static PasswordFileText load(const std::string& path);
    static PasswordFileText parse(std::string_view text);

    // Replaces the first line of `username` with `line` and drops any later ones (a
    // duplicate makes the broker refuse the file); appends `line` when there is none.
    void set_user(std::string_view username, std::string line);
    // Removes every line of `username`; false when there was none.
    bool remove_user(std::string_view username);

    // -U: rewrites each `username:plaintext` line as `hash_line(username, plaintext)`; a
    // line whose second field already parses as a password hash stays as it is. Returns
    // the number of lines rewritten. Throws EditError "Corrupt password file at line N."
    // for a line without a valid username or with an empty password, leaving this
    // unchanged.
    using HashLine =
        std::function<std::string(const std::string& username, const std::string& password)>;
    std::size_t upgrade_plain_text(const HashLine& hash_line);

    // Every line followed by '\n'.
    std::string text() const;

  private:
    std::vector<std::string> lines_;
};

// Writes `text` to `path` atomically. An existing file keeps its permission bits and, as far
// as the caller may set it, its owner and group; a new file gets mode 0600, since it holds
// password hashes. A symbolic link is followed: its target is replaced, the link stays.
// Throws EditError on failure, leaving the old file untouched.
void save_atomically(const std::string& path, std::string_view text);

}  // namespace petrel::passwd
