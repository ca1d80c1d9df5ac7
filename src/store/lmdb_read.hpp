// Reading a whole LMDB store back: shared by LmdbStore::load() (which throws on the first
// problem) and check() (which collects them all). Internal to src/store.
#pragma once

#include <string>
#include <vector>

#include "lmdb_support.hpp"
#include "petrel/store/store.hpp"

namespace petrel::store::lmdb {

// With `problems` null, the first unreadable record throws StoreError; otherwise each
// problem is appended and reading goes on, skipping the bad record.
Snapshot read_snapshot(MDB_txn* txn, const Databases& dbs, std::vector<std::string>* problems);

StoreCounts read_counts(MDB_txn* txn, const Databases& dbs);

}  // namespace petrel::store::lmdb
