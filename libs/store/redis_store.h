#pragma once
// The Redis read-model store (hiredis, synchronous). Keys are namespaced by
// `key_prefix`, so tenants and tests can share one server. Checkpoints live beside the
// read model in one hash per projection: "<prefix>__checkpoints:<projection>", field
// "<topic>:<partition>", value the next offset; data keys starting with
// "__checkpoints:" are therefore reserved (Commit rejects writes to them).
//
// Commit runs one Lua script that checks the checkpoints' expected offsets and proves
// every op will succeed before it writes anything, then applies the ops and moves the
// checkpoints: all or nothing, even for INVALID_ARGUMENT (MULTI/EXEC alone would keep the
// commands before a failing one).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/store/store.h"

namespace ar::store {

struct RedisStoreOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // Redis 6 ACL user; empty: the default user
  std::string password;  // empty: no AUTH
  std::string key_prefix;
  absl::Duration connect_timeout = absl::Seconds(2);
  // Bounds every socket read and write; a commit of a huge batch must fit inside it.
  absl::Duration command_timeout = absl::Seconds(10);
  // Connections kept open between calls; concurrent callers beyond it open more.
  int max_idle_connections = 4;
};

// Connects (and authenticates) once to report a bad address or password now: UNAVAILABLE
// when the server cannot be reached, UNAUTHENTICATED when it refuses the credentials.
// Later calls reconnect by themselves after a failure.
absl::StatusOr<std::unique_ptr<Store>> OpenRedisStore(const RedisStoreOptions& options);

}  // namespace ar::store
