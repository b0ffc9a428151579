#pragma once
// The in-memory read-model store: Redis's semantics (types, HINCRBY's integer rules,
// sorted-set order by (score, member)) without a server, for the embedded deployment and
// for tests. Thread-safe; nothing survives the process.

#include <memory>

#include "libs/store/store.h"

namespace ar::store {

std::unique_ptr<Store> NewMemoryStore();

}  // namespace ar::store
