#include "passwd_file_edit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "petrel/auth/password_file.hpp"

namespace petrel::passwd {
namespace {

// As auth::PasswordFile::parse trims a line.
std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r";
    const auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

bool is_comment_or_blank(std::string_view trimmed) {
    return trimmed.empty() || trimmed.front() == '#';
}

// The username a line belongs to; nullopt for comments, blank lines and lines without ':'.
std::optional<std::string_view> line_username(std::string_view line) {
    const std::string_view trimmed = trim(line);
    if (is_comment_or_blank(trimmed)) {
        return std::nullopt;
    }
    const auto colon = trimmed.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    return trimmed.substr(0, colon);
}

std::string errno_text(int error) {
    return std::strerror(error);
}

// Closes a descriptor and removes the temporary file unless the rename happened.
class TempFile {
  public:
    TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    ~TempFile() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        if (!path_.empty()) {
            ::unlink(path_.c_str());
        }
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd() const { return fd_; }
    const std::string& path() const { return path_; }
    // Returns close()'s errno, 0 on success.
    int close() {
        const int result = ::close(std::exchange(fd_, -1));
        return result == 0 ? 0 : errno;
    }
    void committed() { path_.clear(); }

  private:
    int fd_;
    std::string path_;
};

// Returns write()'s errno, 0 on success.
int write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t written = ::write(fd, text.data(), text.size());
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        text.remove_prefix(static_cast<std::size_t>(written));
    }
    return 0;
}

}  // namespace

PasswordFileText PasswordFileText::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw EditError("Unable to open password file " + path + ". " + errno_text(errno) + ".");
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw EditError("Unable to read password file " + path + ".");
    }
    return parse(text.str());
}

PasswordFileText PasswordFileText::parse(std::string_view text) {
    PasswordFileText file;
    while (!text.empty()) {
        const auto end = text.find('\n');
        file.lines_.emplace_back(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    }
    return file;
}

void PasswordFileText::set_user(std::string_view username, std::string line) {
    bool replaced = false;
    std::vector<std::string> kept;
    kept.reserve(lines_.size() + 1);
    for (std::string& existing : lines_) {
        if (line_username(existing) != username) {
            kept.push_back(std::move(existing));
        } else if (!replaced) {
            kept.push_back(line);
            replaced = true;
        }
    }
    if (!replaced) {
        kept.push_back(std::move(line));
    }
    lines_ = std::move(kept);
}

bool PasswordFileText::remove_user(std::string_view username) {
    return std::erase_if(lines_, [&](const std::string& line) {
               return line_username(line) == username;
           }) > 0;
}

std::size_t PasswordFileText::upgrade_plain_text(const HashLine& hash_line) {
    std::vector<std::string> upgraded = lines_;
    std::size_t count = 0;
    for (std::size_t index = 0; index < upgraded.size(); ++index) {
        const std::string_view trimmed = trim(upgraded[index]);
        if (is_comment_or_blank(trimmed)) {
            continue;
        }
        const auto colon = trimmed.find(':');
        const std::string_view username = trimmed.substr(0, colon);
        const std::string_view password =
            colon == std::string_view::npos ? std::string_view{} : trimmed.substr(colon + 1);
        if (colon == std::string_view::npos || !auth::is_valid_username(username) ||
            password.empty()) {
            throw EditError("Corrupt password file at line " + std::to_string(index + 1) + ".");
        }
        // "HASH" or "HASH:SCRAM": already done. A plain-text password may itself contain
        // ':'; it is everything after the username.
        if (auth::parse_password_hash(password.substr(0, password.find(':')))) {
            continue;
        }
        upgraded[index] = hash_line(std::string(username), std::string(password));
        ++count;
    }
    lines_ = std::move(upgraded);
    return count;
}

std::string PasswordFileText::text() const {
    std::string text;
    for (const std::string& line : lines_) {
        text += line;
        text += '\n';
    }
    return text;
}

void save_atomically(const std::string& path, std::string_view text) {
    namespace fs = std::filesystem;
    fs::path target(path);
    std::error_code error;
    if (fs::is_symlink(target, error)) {
        target = fs::canonical(target, error);
        if (error) {
            throw EditError("Unable to resolve the link " + path + ". " + error.message() + ".");
        }
    }
    struct stat existing {};
    const bool exists = ::stat(target.c_str(), &existing) == 0;

    const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string temp_path = (directory / ("." + target.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkstemp(temp_path.data());
    if (fd < 0) {
        throw EditError("Unable to open file " + path + " for writing. " + errno_text(errno) + ".");
    }
    TempFile temp(fd, temp_path);
    const auto fail = [&](int code) {
        return EditError("Unable to write password file " + path + ". " + errno_text(code) + ".");
    };
    if (const int code = write_all(temp.fd(), text); code != 0) {
        throw fail(code);
    }
    // Whoever could read the old file (the broker's user, say) can read the new one. Only
    // root may give a file away; for anyone else the file stays theirs, as it would be if
    // they had written it in place.
    if (exists && ::fchown(temp.fd(), existing.st_uid, existing.st_gid) != 0) {
        [[maybe_unused]] const int group_kept =
            ::fchown(temp.fd(), static_cast<uid_t>(-1), existing.st_gid);
    }
    const mode_t mode = exists ? (existing.st_mode & 07777) : 0600;
    if (::fchmod(temp.fd(), mode) != 0 || ::fsync(temp.fd()) != 0) {
        throw fail(errno);
    }
    if (const int code = temp.close(); code != 0) {
        throw fail(code);
    }
    if (::rename(temp.path().c_str(), target.c_str()) != 0) {
        throw fail(errno);
    }
    temp.committed();
    // The rename itself lasts once the directory entry is on disk.
    if (const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
}

}  // namespace petrel::passwd
