// A fresh directory under $TMPDIR (or /tmp) that a test owns: broker config, logs and data
// directory live there so that tests never share files. Removed on destruction.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace petrel::test {

class TempDir {
  public:
    // Creates "<tmp>/<prefix>XXXXXX"; throws std::runtime_error when that fails.
    explicit TempDir(std::string_view prefix = "petrel-test-");
    ~TempDir();

    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Leaves the directory in place on destruction (to inspect a failed test's files).
    void keep() { keep_ = true; }

  private:
    std::filesystem::path path_;
    bool keep_ = false;
};

// Whole file as a string; empty when it does not exist.
std::string read_file(const std::filesystem::path& path);
// Creates or truncates `path` with `text`; throws std::runtime_error on failure.
void write_file(const std::filesystem::path& path, std::string_view text);

}  // namespace petrel::test
