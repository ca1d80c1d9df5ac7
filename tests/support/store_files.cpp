#include "support/store_files.hpp"

#include <dlfcn.h>
#include <lmdb.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/broker_process.hpp"

namespace petrel::test {
namespace {

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r");
    return std::string{text.substr(first, last - first + 1)};
}

// The LMDB entry points the edits need, looked up in the shared library at run time.
struct LmdbApi {
    decltype(&::mdb_env_create) env_create = nullptr;
    decltype(&::mdb_env_set_maxdbs) env_set_maxdbs = nullptr;
    decltype(&::mdb_env_open) env_open = nullptr;
    decltype(&::mdb_env_close) env_close = nullptr;
    decltype(&::mdb_txn_begin) txn_begin = nullptr;
    decltype(&::mdb_txn_commit) txn_commit = nullptr;
    decltype(&::mdb_txn_abort) txn_abort = nullptr;
    decltype(&::mdb_dbi_open) dbi_open = nullptr;
    decltype(&::mdb_put) put = nullptr;
    decltype(&::mdb_strerror) strerror = nullptr;
};

template <class Function>
void bind(void* library, const char* name, Function& function) {
    function = reinterpret_cast<Function>(::dlsym(library, name));
    if (function == nullptr) {
        throw std::runtime_error(std::string("liblmdb has no ") + name);
    }
}

const LmdbApi& lmdb_api() {
    static const LmdbApi api = [] {
        void* library = ::dlopen("liblmdb.so.0", RTLD_NOW | RTLD_LOCAL);
        if (library == nullptr) {
            library = ::dlopen("liblmdb.so", RTLD_NOW | RTLD_LOCAL);
        }
        if (library == nullptr) {
            throw std::runtime_error(std::string("cannot load liblmdb: ") + ::dlerror());
        }
        LmdbApi a;
        bind(library, "mdb_env_create", a.env_create);
        bind(library, "mdb_env_set_maxdbs", a.env_set_maxdbs);
        bind(library, "mdb_env_open", a.env_open);
        bind(library, "mdb_env_close", a.env_close);
        bind(library, "mdb_txn_begin", a.txn_begin);
        bind(library, "mdb_txn_commit", a.txn_commit);
        bind(library, "mdb_txn_abort", a.txn_abort);
        bind(library, "mdb_dbi_open", a.dbi_open);
        bind(library, "mdb_put", a.put);
        bind(library, "mdb_strerror", a.strerror);
        return a;  // the library stays loaded for the life of the test process
    }();
    return api;
}

}  // namespace

std::int64_t StoreCheck::count(const std::string& name) const {
    const auto found = counts.find(name);
    return found == counts.end() ? -1 : static_cast<std::int64_t>(found->second);
}

StoreCheck check_store(const std::filesystem::path& directory) {
    StoreCheck check;
    check.result = run_petrel({"--check-store", directory.string()});
    std::istringstream lines(check.result.out);
    std::string last;
    for (std::string raw; std::getline(lines, raw);) {
        const std::string line = trim(raw);
        if (line.empty()) {
            continue;
        }
        last = line;
        if (line.starts_with("problem: ")) {
            check.problems.push_back(line.substr(9));
            continue;
        }
        const auto colon = line.rfind(": ");
        if (colon == std::string::npos) {
            continue;
        }
        const std::string number = line.substr(colon + 2);
        std::uint64_t value = 0;
        const auto parsed = std::from_chars(number.data(), number.data() + number.size(), value);
        if (parsed.ec == std::errc{} && parsed.ptr == number.data() + number.size()) {
            check.counts[line.substr(0, colon)] = value;
        }
    }
    check.ok_line = last == "ok";
    return check;
}

void lmdb_put(const std::filesystem::path& directory, const std::string& database,
              std::string_view key, std::string_view value) {
    const LmdbApi& api = lmdb_api();
    const auto fail = [&](const std::string& step, int rc) {
        throw std::runtime_error("LMDB " + step + " in " + directory.string() + ": " +
                                 api.strerror(rc));
    };
    MDB_env* env = nullptr;
    int rc = api.env_create(&env);
    if (rc != 0) {
        fail("env_create", rc);
    }
    api.env_set_maxdbs(env, 32);
    rc = api.env_open(env, directory.c_str(), 0, 0640);
    if (rc != 0) {
        api.env_close(env);
        fail("env_open", rc);
    }
    MDB_txn* txn = nullptr;
    rc = api.txn_begin(env, nullptr, 0, &txn);
    if (rc != 0) {
        api.env_close(env);
        fail("txn_begin", rc);
    }
    MDB_dbi dbi = 0;
    rc = api.dbi_open(txn, database.c_str(), 0, &dbi);
    if (rc == 0) {
        MDB_val k{key.size(), const_cast<char*>(key.data())};
        MDB_val v{value.size(), const_cast<char*>(value.data())};
        rc = api.put(txn, dbi, &k, &v, 0);
    }
    if (rc != 0) {
        api.txn_abort(txn);
        api.env_close(env);
        fail("put into '" + database + "'", rc);
    }
    rc = api.txn_commit(txn);
    api.env_close(env);
    if (rc != 0) {
        fail("commit", rc);
    }
}

void overwrite_file_bytes(const std::filesystem::path& path, std::uint64_t offset,
                          std::string_view bytes) {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    if (!file) {
        throw std::runtime_error("cannot open " + path.string());
    }
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    file.flush();
    if (!file) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

}  // namespace petrel::test
