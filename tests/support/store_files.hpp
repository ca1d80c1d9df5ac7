// The broker's LMDB store as files, for persistence tests: `petrel --check-store` run and
// parsed, and direct edits that make a store the broker would never write (a newer schema
// version, garbage, a truncated file).
//
// LMDB itself is loaded at run time (dlopen of the library the broker links), so the test
// support library needs no link dependency beyond the broker's own; lmdb.h supplies the
// types.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"

namespace petrel::test {

// What `petrel --check-store DIR` printed and how it exited.
struct StoreCheck {
    CommandResult result;
    std::map<std::string, std::uint64_t> counts;  // "sessions" → N, for each "NAME: N" line
    std::vector<std::string> problems;            // text after each "problem: "
    bool ok_line = false;                         // the last non-empty line is "ok"

    // The count printed as "NAME: N"; -1 when there is no such line.
    std::int64_t count(const std::string& name) const;
};

StoreCheck check_store(const std::filesystem::path& directory);

// The store's data file inside its directory.
inline std::filesystem::path store_data_file(const std::filesystem::path& directory) {
    return directory / "data.mdb";
}

// Puts `value` under `key` in the named database `database` of the LMDB environment in
// `directory` (which must exist), in one committed transaction. Throws
// std::runtime_error naming the step that failed.
void lmdb_put(const std::filesystem::path& directory, const std::string& database,
              std::string_view key, std::string_view value);

// Overwrites `bytes.size()` bytes of `path` at `offset` in place (the size is unchanged
// unless the write runs past the end). Throws std::runtime_error on failure.
void overwrite_file_bytes(const std::filesystem::path& path, std::uint64_t offset,
                          std::string_view bytes);

}  // namespace petrel::test
