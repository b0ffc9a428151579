#include "libs/eventlog/embedded_log.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/core/status_macros.h"

namespace ar::eventlog {
namespace {

// "ARLG" in the SQLite header: tells our database apart from any other SQLite file.
constexpr int32_t kApplicationId = 0x41524c47;
// Bumped on every incompatible schema change; an older binary refuses a newer file.
constexpr int32_t kSchemaVersion = 1;
constexpr char kDatabaseFile[] = "eventlog.db";
constexpr char kLockFile[] = "LOCK";
// Keeps the WAL file from staying at its high-water mark after checkpoints.
constexpr int64_t kJournalSizeLimitBytes = 64 << 20;
// Checkpoints (copying the WAL back into the database) run on their own thread once the
// WAL holds this many pages, so the writer never pays for them while appending...
constexpr int kBackgroundCheckpointPages = 4096;
// ...unless sustained load keeps the WAL from ever being fully copied back: beyond this
// the writer checkpoints itself (RESTART) before its next transaction, bounding the WAL.
constexpr int kForcedCheckpointPages = 16384;

constexpr char kSchemaSql[] = R"sql(
CREATE TABLE topics(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL CHECK (partitions > 0));
CREATE TABLE records(
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  key BLOB NOT NULL,
  value BLOB NOT NULL,
  timestamp_unix_micros INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition, offset)) WITHOUT ROWID;
CREATE TABLE group_offsets(
  group_id TEXT NOT NULL,
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (group_id, topic_id, partition)) WITHOUT ROWID;
)sql";

// ---------------------------------------------------------------------------------------
// SQLite plumbing

absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message = absl::StrCat(std::string(what), ": ",
                                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::DataLossError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    case SQLITE_CANTOPEN:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Resets a statement when a scope ends, so that a read statement never holds a WAL
// snapshot (which would keep checkpoints from recycling the WAL) and every use starts
// from a clean state.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() { sqlite3_reset(statement_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

// Binds a blob; a zero-length value must still be a (empty) blob, not NULL, so the
// pointer handed to SQLite is never null.
int BindBlob(sqlite3_stmt* statement, int index, std::string_view bytes) {
  static const char kEmpty[1] = {0};
  return sqlite3_bind_blob64(statement, index, bytes.empty() ? kEmpty : bytes.data(), bytes.size(),
                             SQLITE_STATIC);
}

int BindText(sqlite3_stmt* statement, int index, std::string_view text) {
  static const char kEmpty[1] = {0};
  return sqlite3_bind_text64(statement, index, text.empty() ? kEmpty : text.data(), text.size(),
                             SQLITE_STATIC, SQLITE_UTF8);
}

std::string ColumnBytes(sqlite3_stmt* statement, int column) {
  const void* data = sqlite3_column_blob(statement, column);
  const int size = sqlite3_column_bytes(statement, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

// One SQLite connection. Used by one thread at a time (the owner serialises access), so
// it is opened without SQLite's own per-connection mutex.
class Connection {
 public:
  Connection() = default;
  Connection(Connection&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Connection& operator=(Connection&& other) noexcept {
    if (this != &other) {
      Close();
      db_ = std::exchange(other.db_, nullptr);
    }
    return *this;
  }
  ~Connection() { Close(); }

  static absl::StatusOr<Connection> Open(const std::string& path, bool create,
                                         absl::Duration lock_timeout) {
    Connection connection;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
    if (create) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &connection.db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      return SqliteStatus(connection.db_, rc, absl::StrCat("cannot open ", path));
    }
    sqlite3_extended_result_codes(connection.db_, 1);
    const int64_t timeout_ms = std::clamp<int64_t>(absl::ToInt64Milliseconds(lock_timeout), 0,
                                                   std::numeric_limits<int>::max());
    sqlite3_busy_timeout(connection.db_, static_cast<int>(timeout_ms));
    return connection;
  }

  sqlite3* get() const { return db_; }

  absl::StatusOr<Statement> Prepare(std::string_view sql) const {
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(statement);
      return SqliteStatus(db_, rc, absl::StrCat("preparing `", std::string(sql), "`"));
    }
    return Statement(statement);
  }

  // Runs SQL without results (several statements allowed).
  absl::Status Exec(const char* sql) const {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, absl::StrCat("running `", sql, "`"));
    return absl::OkStatus();
  }

  // Runs a statement returning one integer (a pragma, a count).
  absl::StatusOr<int64_t> QueryInt(const char* sql) const {
    ASSIGN_OR_RETURN(Statement statement, Prepare(sql));
    const int rc = sqlite3_step(statement.get());
    if (rc != SQLITE_ROW) return SqliteStatus(db_, rc, absl::StrCat("running `", sql, "`"));
    return sqlite3_column_int64(statement.get(), 0);
  }

  absl::StatusOr<std::string> QueryText(const char* sql) const {
    ASSIGN_OR_RETURN(Statement statement, Prepare(sql));
    const int rc = sqlite3_step(statement.get());
    if (rc != SQLITE_ROW) return SqliteStatus(db_, rc, absl::StrCat("running `", sql, "`"));
    const unsigned char* text = sqlite3_column_text(statement.get(), 0);
    return std::string(text == nullptr ? "" : reinterpret_cast<const char*>(text));
  }

  // Durability is a per-connection setting: every connection that writes needs it.
  absl::Status MakeDurable() const { return Exec("PRAGMA synchronous=FULL"); }

  absl::Status Error(int rc, std::string_view what) const { return SqliteStatus(db_, rc, what); }

 private:
  void Close() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE / COMMIT / ROLLBACK, prepared once per connection.
struct TransactionStatements {
  Statement begin;
  Statement commit;
  Statement rollback;

  static absl::StatusOr<TransactionStatements> Prepare(const Connection& connection) {
    TransactionStatements statements;
    ASSIGN_OR_RETURN(statements.begin, connection.Prepare("BEGIN IMMEDIATE"));
    ASSIGN_OR_RETURN(statements.commit, connection.Prepare("COMMIT"));
    ASSIGN_OR_RETURN(statements.rollback, connection.Prepare("ROLLBACK"));
    return statements;
  }
};

absl::Status StepDone(const Connection& connection, sqlite3_stmt* statement,
                      std::string_view what) {
  ResetOnExit reset(statement);
  const int rc = sqlite3_step(statement);
  if (rc != SQLITE_DONE) return connection.Error(rc, what);
  return absl::OkStatus();
}

void RollBack(const Connection& connection, const TransactionStatements& statements) {
  // Only when a transaction is open: ROLLBACK outside one is an error we do not need.
  if (sqlite3_get_autocommit(connection.get()) == 0) {
    StepDone(connection, statements.rollback.get(), "rolling back").IgnoreError();
  }
}

absl::Status ErrnoStatus(int error, std::string_view what) {
  std::string message = absl::StrCat(std::string(what), ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

std::string Describe(const TopicPartition& tp) { return absl::StrCat(tp.topic, "/", tp.partition); }

// ---------------------------------------------------------------------------------------
// Shared state of one open log

struct TopicState {
  int64_t id = 0;
  std::string name;
  int32_t partitions = 0;
  // Next offset per partition, as visible to readers: advanced only after the writer's
  // transaction committed. Guarded by LogCore::mu_.
  std::vector<int64_t> end_offsets;
};

// What a producer shares with the writer thread: how many of its records still await
// their delivery callback.
struct ProducerState {
  std::mutex mu;
  std::condition_variable drained;
  int64_t in_flight = 0;
  bool stopped = false;
};

struct PendingAppend {
  std::string topic;
  std::string key;
  std::string value;
  DeliveryCallback on_delivery;
  std::shared_ptr<ProducerState> producer;
};

struct GroupMember {
  std::set<std::string> topics;
  std::set<TopicPartition> target;  // what the current assignment gives this member
  std::set<TopicPartition> owned;   // what it holds (assigned and not yet revoked)
  uint64_t seen_generation = 0;     // the group generation its last rebalance step saw
};

struct GroupState {
  std::map<uint64_t, GroupMember> members;  // by member id, i.e. join order
  std::map<TopicPartition, uint64_t> owner;
  uint64_t generation = 1;
};

void FinishDeliveries(std::vector<PendingAppend>& appends) {
  // One lock per run of records from the same producer rather than one per record.
  size_t i = 0;
  while (i < appends.size()) {
    ProducerState* producer = appends[i].producer.get();
    int64_t count = 0;
    while (i < appends.size() && appends[i].producer.get() == producer) {
      ++count;
      ++i;
    }
    if (producer == nullptr) continue;
    std::lock_guard lock(producer->mu);
    producer->in_flight -= count;
    if (producer->in_flight == 0) producer->drained.notify_all();
  }
}

class LogCore {
 public:
  static absl::StatusOr<std::shared_ptr<LogCore>> Open(const EmbeddedLogOptions& options);
  ~LogCore();

  // Writes everything still queued, stops the writer and turns consumers away.
  void Shutdown();

  const EmbeddedLogOptions& options() const { return options_; }
  const std::string& database_path() const { return database_path_; }

  absl::Status CreateTopic(const TopicSpec& spec);
  absl::StatusOr<int32_t> PartitionCount(std::string_view topic);
  absl::StatusOr<int64_t> EndOffset(const TopicPartition& partition);
  // The topic, if it exists. Topics are never deleted, so the pointer stays valid for the
  // core's lifetime; its end_offsets are read under mu_ only.
  const TopicState* FindTopic(std::string_view topic);

  // Queues (moves away) an append for the writer. False when the log is shutting down:
  // `append` is then left untouched and the caller reports UNAVAILABLE itself.
  bool Enqueue(PendingAppend& append);
  // Takes this producer's queued (not yet written) appends back out of the queue.
  std::vector<PendingAppend> RemoveQueued(const ProducerState* producer);
  bool OnWriterThread() const { return std::this_thread::get_id() == writer_thread_id_; }

  // Consumer side. Every *Locked function expects mu_ held (inside WaitUntil).
  int64_t EndOffsetLocked(const TopicState& topic, int32_t partition) const {
    return topic.end_offsets[static_cast<size_t>(partition)];
  }
  int64_t CurrentEndOffset(const TopicState& topic, int32_t partition) {
    std::lock_guard lock(mu_);
    return EndOffsetLocked(topic, partition);
  }
  bool ClosedLocked() const { return closed_; }
  // Waits until `ready` (evaluated with mu_ held) holds or the deadline passes; returns
  // `ready`'s last value.
  bool WaitUntil(absl::Time deadline, const std::function<bool()>& ready);
  // Runs `fn` with mu_ held (for *Locked reads).
  void WithLock(const std::function<void()>& fn) {
    std::lock_guard lock(mu_);
    fn();
  }

  // Group membership, coordinated in this process.
  uint64_t JoinGroup(const std::string& group, const std::vector<std::string>& topics);
  void UpdateSubscription(const std::string& group, uint64_t member,
                          const std::vector<std::string>& topics);
  bool NeedsRebalanceLocked(const std::string& group, uint64_t member) const;
  // What the member must give up (owned, no longer in its target).
  std::vector<TopicPartition> PendingRevocations(const std::string& group, uint64_t member);
  // Frees partitions the member revoked, so that their new owners may claim them.
  void ReleasePartitions(const std::string& group, uint64_t member,
                         const std::vector<TopicPartition>& revoked);
  // Claims the target partitions nobody else holds; marks this generation as seen.
  std::vector<TopicPartition> ClaimAssignable(const std::string& group, uint64_t member);
  std::vector<TopicPartition> Owned(const std::string& group, uint64_t member);
  void LeaveGroup(const std::string& group, uint64_t member);

 private:
  explicit LogCore(EmbeddedLogOptions options) : options_(std::move(options)) {}

  absl::Status OpenDatabase();
  absl::Status LoadTopics();
  absl::Status StartWriter();
  void WriterLoop();
  void CheckpointLoop();
  // sqlite3_wal_hook: after each commit of the writer, with the WAL's size in pages.
  static int OnWalCommit(void* core, sqlite3* db, const char* database, int wal_pages);
  void WriteBatch(std::vector<PendingAppend>& batch);
  // Recomputes every member's target share after a membership or topic change (range
  // assignment per topic over the members subscribed to it, in join order).
  void RecomputeAssignmentLocked(GroupState& group);

  const EmbeddedLogOptions options_;
  std::string database_path_;
  int lock_fd_ = -1;

  // Topic creation (rare) goes through its own connection.
  std::mutex admin_mu_;
  Connection admin_;

  // Topics, end offsets, groups; consumers wait on `changed_` for any of them to move.
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool closed_ = false;
  std::map<std::string, std::unique_ptr<TopicState>, std::less<>> topics_;
  std::map<std::string, GroupState> groups_;
  uint64_t next_member_id_ = 1;

  // The append queue and the writer thread that group-commits it.
  std::mutex queue_mu_;
  std::condition_variable queue_not_empty_;
  std::condition_variable queue_not_full_;
  std::vector<PendingAppend> queue_;
  bool writer_stopping_ = false;
  std::thread writer_;
  // Set once, before Open returns; every reader runs after that (on the writer thread, only
  // inside callbacks for appends queued after Open).
  std::thread::id writer_thread_id_;

  // Background checkpoints.
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_wanted_;
  int wal_pages_ = 0;  // as of the writer's last commit
  bool checkpointer_stopping_ = false;
  std::thread checkpointer_;
  Connection checkpoint_connection_;

  // Owned by the writer thread.
  Connection writer_connection_;
  TransactionStatements writer_transactions_;
  Statement insert_record_;
};

absl::StatusOr<std::shared_ptr<LogCore>> LogCore::Open(const EmbeddedLogOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("embedded log: empty data_dir");
  std::shared_ptr<LogCore> core(new LogCore(options));
  const std::string& dir = options.data_dir;

  std::error_code error;
  const auto status = std::filesystem::status(dir, error);
  if (!std::filesystem::exists(status)) {
    if (!options.create_if_missing) {
      return absl::NotFoundError(absl::StrCat("embedded log: data directory ", dir,
                                              " does not exist (create_if_missing is off)"));
    }
    std::filesystem::create_directories(dir, error);
    if (error) {
      return ErrnoStatus(error.value(), absl::StrCat("embedded log: cannot create ", dir));
    }
  } else if (!std::filesystem::is_directory(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("embedded log: data_dir ", dir, " is not a directory"));
  }

  // flock belongs to the open file description: a second open in this very process
  // conflicts as well as one in another process, and a crash releases it.
  const std::string lock_path = absl::StrCat(dir, "/", kLockFile);
  core->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (core->lock_fd_ < 0) {
    return ErrnoStatus(errno, absl::StrCat("embedded log: cannot open lock file ", lock_path));
  }
  if (::flock(core->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int flock_error = errno;
    if (flock_error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("embedded log: ", dir,
                       " is already open by another event log (in this process or another one)"));
    }
    return ErrnoStatus(flock_error, absl::StrCat("embedded log: cannot lock ", lock_path));
  }

  core->database_path_ = EmbeddedLogDatabasePath(dir);
  RETURN_IF_ERROR(core->OpenDatabase());
  RETURN_IF_ERROR(core->LoadTopics());
  RETURN_IF_ERROR(core->StartWriter());
  return core;
}

absl::Status LogCore::OpenDatabase() {
  const std::string& path = database_path_;
  ASSIGN_OR_RETURN(admin_, Connection::Open(path, /*create=*/true, options_.lock_timeout));

  // Identify the file before changing anything in it: a foreign database must be left
  // exactly as it was (not even switched to WAL).
  auto application_id = admin_.QueryInt("PRAGMA application_id");
  if (!application_id.ok()) {
    if (absl::IsDataLoss(application_id.status())) {
      return absl::DataLossError(absl::StrCat("embedded log: ", path,
                                              " is corrupt or not an SQLite database (",
                                              application_id.status().message(), ")"));
    }
    return application_id.status();
  }
  ASSIGN_OR_RETURN(int64_t schema_objects, admin_.QueryInt("SELECT count(*) FROM sqlite_master"));
  ASSIGN_OR_RETURN(int64_t user_version, admin_.QueryInt("PRAGMA user_version"));

  const bool fresh = *application_id == 0 && schema_objects == 0 && user_version == 0;
  if (!fresh) {
    if (*application_id != kApplicationId) {
      return absl::FailedPreconditionError(absl::StrCat(
          "embedded log: ", path, " is an SQLite database of another application (application_id ",
          *application_id, "), not an ar-suite event log"));
    }
    if (user_version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("embedded log: ", path, " has schema version ", user_version,
                       ", newer than this build understands (", kSchemaVersion, ")"));
    }
    if (user_version != kSchemaVersion) {
      return absl::DataLossError(
          absl::StrCat("embedded log: ", path, " has an invalid schema version ", user_version));
    }
  }

  ASSIGN_OR_RETURN(std::string journal_mode, admin_.QueryText("PRAGMA journal_mode=WAL"));
  if (journal_mode != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "embedded log: cannot put ", path, " in WAL mode (journal_mode is ", journal_mode, ")"));
  }
  RETURN_IF_ERROR(admin_.MakeDurable());
  RETURN_IF_ERROR(
      admin_.Exec(absl::StrCat("PRAGMA journal_size_limit=", kJournalSizeLimitBytes).c_str()));

  if (fresh) {
    RETURN_IF_ERROR(admin_.Exec("BEGIN IMMEDIATE"));
    absl::Status created = admin_.Exec(kSchemaSql);
    if (created.ok()) {
      created = admin_.Exec(absl::StrCat("PRAGMA application_id=", kApplicationId, ";",
                                         "PRAGMA user_version=", kSchemaVersion)
                                .c_str());
    }
    if (created.ok()) created = admin_.Exec("COMMIT");
    if (!created.ok()) {
      admin_.Exec("ROLLBACK").IgnoreError();
      return created;
    }
  }
  return absl::OkStatus();
}

absl::Status LogCore::LoadTopics() {
  ASSIGN_OR_RETURN(Statement list_topics,
                   admin_.Prepare("SELECT id, name, partitions FROM topics ORDER BY id"));
  ASSIGN_OR_RETURN(Statement last_offset, admin_.Prepare("SELECT max(offset) FROM records "
                                                         "WHERE topic_id = ?1 AND partition = ?2"));
  std::map<std::string, std::unique_ptr<TopicState>, std::less<>> topics;
  while (true) {
    const int rc = sqlite3_step(list_topics.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return admin_.Error(rc, "embedded log: reading topics");
    auto topic = std::make_unique<TopicState>();
    topic->id = sqlite3_column_int64(list_topics.get(), 0);
    const unsigned char* name = sqlite3_column_text(list_topics.get(), 1);
    topic->name = name == nullptr ? "" : reinterpret_cast<const char*>(name);
    const int64_t partitions = sqlite3_column_int64(list_topics.get(), 2);
    if (partitions <= 0 || partitions > std::numeric_limits<int32_t>::max()) {
      return absl::DataLossError(absl::StrCat("embedded log: topic ", topic->name,
                                              " has an invalid partition count ", partitions));
    }
    topic->partitions = static_cast<int32_t>(partitions);
    topic->end_offsets.resize(static_cast<size_t>(partitions), 0);
    for (int32_t p = 0; p < topic->partitions; ++p) {
      ResetOnExit reset(last_offset.get());
      sqlite3_bind_int64(last_offset.get(), 1, topic->id);
      sqlite3_bind_int(last_offset.get(), 2, p);
      const int step = sqlite3_step(last_offset.get());
      if (step != SQLITE_ROW) return admin_.Error(step, "embedded log: reading end offsets");
      if (sqlite3_column_type(last_offset.get(), 0) != SQLITE_NULL) {
        topic->end_offsets[static_cast<size_t>(p)] = sqlite3_column_int64(last_offset.get(), 0) + 1;
      }
    }
    std::string key = topic->name;
    topics.emplace(std::move(key), std::move(topic));
  }
  std::lock_guard lock(mu_);
  topics_ = std::move(topics);
  return absl::OkStatus();
}

absl::Status LogCore::StartWriter() {
  ASSIGN_OR_RETURN(writer_connection_,
                   Connection::Open(database_path_, /*create=*/false, options_.lock_timeout));
  RETURN_IF_ERROR(writer_connection_.MakeDurable());
  ASSIGN_OR_RETURN(writer_transactions_, TransactionStatements::Prepare(writer_connection_));
  ASSIGN_OR_RETURN(
      insert_record_,
      writer_connection_.Prepare("INSERT INTO records(topic_id, partition, offset, key, value, "
                                 "timestamp_unix_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  ASSIGN_OR_RETURN(checkpoint_connection_,
                   Connection::Open(database_path_, /*create=*/false, options_.lock_timeout));
  RETURN_IF_ERROR(checkpoint_connection_.MakeDurable());
  // Replaces SQLite's automatic checkpoint (which would run inside the writer's commits).
  sqlite3_wal_hook(writer_connection_.get(), &LogCore::OnWalCommit, this);
  checkpointer_ = std::thread([this] { CheckpointLoop(); });
  writer_ = std::thread([this] { WriterLoop(); });
  writer_thread_id_ = writer_.get_id();
  return absl::OkStatus();
}

int LogCore::OnWalCommit(void* core_pointer, sqlite3*, const char*, int wal_pages) {
  auto* core = static_cast<LogCore*>(core_pointer);
  {
    std::lock_guard lock(core->checkpoint_mu_);
    core->wal_pages_ = wal_pages;
  }
  if (wal_pages >= kBackgroundCheckpointPages) core->checkpoint_wanted_.notify_one();
  return SQLITE_OK;
}

void LogCore::CheckpointLoop() {
  while (true) {
    {
      std::unique_lock lock(checkpoint_mu_);
      checkpoint_wanted_.wait(lock, [this] {
        return checkpointer_stopping_ || wal_pages_ >= kBackgroundCheckpointPages;
      });
      if (checkpointer_stopping_) return;
      wal_pages_ = 0;  // the next commit reports the size again
    }
    // PASSIVE: copies what it can without waiting for, or blocking, the writer and the
    // readers. A failure only means the WAL stays longer; the next round retries.
    sqlite3_wal_checkpoint_v2(checkpoint_connection_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                              nullptr, nullptr);
  }
}

LogCore::~LogCore() {
  Shutdown();
  {
    std::lock_guard lock(checkpoint_mu_);
    checkpointer_stopping_ = true;
  }
  checkpoint_wanted_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  // Statements before their connection; the connections close in member order.
  insert_record_.reset();
  writer_transactions_ = TransactionStatements();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void LogCore::Shutdown() {
  {
    std::lock_guard lock(queue_mu_);
    writer_stopping_ = true;
  }
  queue_not_empty_.notify_all();
  queue_not_full_.notify_all();
  if (writer_.joinable()) {
    // Shut down from inside a delivery callback: the writer cannot join itself; it ends
    // on its own once it finds the queue drained and the stop flag set.
    if (OnWriterThread()) {
      writer_.detach();
    } else {
      writer_.join();
    }
  }
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool LogCore::Enqueue(PendingAppend& append) {
  std::unique_lock lock(queue_mu_);
  // The writer thread itself (a delivery callback appending) must never wait for space
  // only it can make.
  if (!OnWriterThread()) {
    queue_not_full_.wait(
        lock, [this] { return queue_.size() < options_.max_pending_appends || writer_stopping_; });
  }
  if (writer_stopping_) return false;
  queue_.push_back(std::move(append));
  // The writer only sleeps on an empty queue, so only the first append needs to wake it.
  if (queue_.size() == 1) queue_not_empty_.notify_one();
  return true;
}

std::vector<PendingAppend> LogCore::RemoveQueued(const ProducerState* producer) {
  std::vector<PendingAppend> removed;
  std::lock_guard lock(queue_mu_);
  auto kept = std::stable_partition(
      queue_.begin(), queue_.end(),
      [producer](const PendingAppend& a) { return a.producer.get() != producer; });
  removed.assign(std::make_move_iterator(kept), std::make_move_iterator(queue_.end()));
  queue_.erase(kept, queue_.end());
  if (!removed.empty()) queue_not_full_.notify_all();
  return removed;
}

void LogCore::WriterLoop() {
  std::vector<PendingAppend> batch;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      queue_not_empty_.wait(lock, [this] { return !queue_.empty() || writer_stopping_; });
      // On shutdown the queue is drained first: accepted appends are written, not dropped.
      if (queue_.empty()) return;
      // Everything pending goes into one transaction: this is the group commit.
      batch.swap(queue_);
    }
    queue_not_full_.notify_all();
    WriteBatch(batch);
    batch.clear();
  }
}

void LogCore::WriteBatch(std::vector<PendingAppend>& batch) {
  bool wal_too_long = false;
  {
    std::lock_guard lock(checkpoint_mu_);
    wal_too_long = wal_pages_ >= kForcedCheckpointPages;
  }
  if (wal_too_long) {
    // Blocking, but rare: only when background checkpoints could not keep up.
    sqlite3_wal_checkpoint_v2(writer_connection_.get(), nullptr, SQLITE_CHECKPOINT_RESTART, nullptr,
                              nullptr);
    std::lock_guard lock(checkpoint_mu_);
    wal_pages_ = 0;
  }
  struct BatchTopic {
    const TopicState* state = nullptr;
    std::vector<int64_t> next_offsets;
  };
  std::map<std::string_view, BatchTopic> batch_topics;
  {
    std::lock_guard lock(mu_);
    for (const PendingAppend& append : batch) {
      auto [it, inserted] = batch_topics.try_emplace(append.topic);
      if (!inserted) continue;
      auto found = topics_.find(append.topic);
      if (found == topics_.end()) continue;
      it->second.state = found->second.get();
      it->second.next_offsets = found->second->end_offsets;
    }
  }

  struct Placement {
    int32_t partition = -1;
    int64_t offset = -1;
  };
  std::vector<Placement> placements(batch.size());
  const int64_t now_micros = absl::ToUnixMicros(absl::Now());
  absl::Status failure;
  bool wrote_any = false;

  sqlite3_stmt* insert = insert_record_.get();
  for (size_t i = 0; i < batch.size() && failure.ok(); ++i) {
    BatchTopic& topic = batch_topics[batch[i].topic];
    if (topic.state == nullptr) continue;  // reported below, per record
    if (!wrote_any) {
      failure = StepDone(writer_connection_, writer_transactions_.begin.get(),
                         "embedded log: beginning the append transaction");
      if (!failure.ok()) break;
      wrote_any = true;
    }
    const int32_t partition = PartitionForKey(batch[i].key, topic.state->partitions);
    int64_t& next = topic.next_offsets[static_cast<size_t>(partition)];
    ResetOnExit reset(insert);
    sqlite3_bind_int64(insert, 1, topic.state->id);
    sqlite3_bind_int(insert, 2, partition);
    sqlite3_bind_int64(insert, 3, next);
    BindBlob(insert, 4, batch[i].key);
    BindBlob(insert, 5, batch[i].value);
    sqlite3_bind_int64(insert, 6, now_micros);
    const int rc = sqlite3_step(insert);
    if (rc != SQLITE_DONE) {
      failure = writer_connection_.Error(rc, "embedded log: appending a record");
      break;
    }
    placements[i] = {partition, next};
    ++next;
  }
  if (wrote_any && failure.ok()) {
    failure = StepDone(writer_connection_, writer_transactions_.commit.get(),
                       "embedded log: committing appended records");
  }
  if (!failure.ok()) {
    RollBack(writer_connection_, writer_transactions_);
  } else if (wrote_any) {
    {
      std::lock_guard lock(mu_);
      for (auto& [name, topic] : batch_topics) {
        if (topic.state != nullptr) {
          const_cast<TopicState*>(topic.state)->end_offsets = topic.next_offsets;
        }
      }
    }
    changed_.notify_all();
  }

  // Callbacks run with no lock held: they may append again or poll.
  for (size_t i = 0; i < batch.size(); ++i) {
    PendingAppend& append = batch[i];
    if (!append.on_delivery) continue;
    if (batch_topics[append.topic].state == nullptr) {
      append.on_delivery(absl::NotFoundError(
          absl::StrCat("embedded log: topic ", append.topic, " does not exist")));
    } else if (!failure.ok()) {
      append.on_delivery(failure);
    } else {
      append.on_delivery(LogPosition{append.topic, placements[i].partition, placements[i].offset});
    }
  }
  FinishDeliveries(batch);
}

absl::Status LogCore::CreateTopic(const TopicSpec& spec) {
  if (spec.name.empty()) return absl::InvalidArgumentError("CreateTopic: empty topic name");
  if (spec.partitions <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CreateTopic ", spec.name, ": partition count must be positive, got ", spec.partitions));
  }
  std::lock_guard admin_lock(admin_mu_);
  {
    std::lock_guard lock(mu_);
    if (closed_) return absl::UnavailableError("embedded log: closed");
    auto found = topics_.find(spec.name);
    if (found != topics_.end()) {
      if (found->second->partitions == spec.partitions) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("CreateTopic ", spec.name, ": the topic exists with ",
                       found->second->partitions, " partitions, not ", spec.partitions));
    }
  }
  ASSIGN_OR_RETURN(Statement insert,
                   admin_.Prepare("INSERT INTO topics(name, partitions) VALUES (?1, ?2)"));
  BindText(insert.get(), 1, spec.name);
  sqlite3_bind_int(insert.get(), 2, spec.partitions);
  const int rc = sqlite3_step(insert.get());
  if (rc != SQLITE_DONE) {
    return admin_.Error(rc, absl::StrCat("CreateTopic ", spec.name));
  }
  auto topic = std::make_unique<TopicState>();
  topic->id = sqlite3_last_insert_rowid(admin_.get());
  topic->name = spec.name;
  topic->partitions = spec.partitions;
  topic->end_offsets.assign(static_cast<size_t>(spec.partitions), 0);
  {
    std::lock_guard lock(mu_);
    topics_.emplace(spec.name, std::move(topic));
    // Members already subscribed to this name get their share now.
    for (auto& [name, group] : groups_) {
      for (auto& [id, member] : group.members) {
        if (member.topics.count(spec.name) != 0) {
          RecomputeAssignmentLocked(group);
          break;
        }
      }
    }
  }
  changed_.notify_all();
  return absl::OkStatus();
}

const TopicState* LogCore::FindTopic(std::string_view topic) {
  std::lock_guard lock(mu_);
  auto found = topics_.find(topic);
  return found == topics_.end() ? nullptr : found->second.get();
}

absl::StatusOr<int32_t> LogCore::PartitionCount(std::string_view topic) {
  const TopicState* state = FindTopic(topic);
  if (state == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("embedded log: topic ", std::string(topic), " does not exist"));
  }
  return state->partitions;  // immutable once created
}

absl::StatusOr<int64_t> LogCore::EndOffset(const TopicPartition& partition) {
  const TopicState* state = FindTopic(partition.topic);
  if (state == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("embedded log: topic ", partition.topic, " does not exist"));
  }
  if (partition.partition < 0 || partition.partition >= state->partitions) {
    return absl::InvalidArgumentError(absl::StrCat("embedded log: ", Describe(partition),
                                                   " is out of range (", state->partitions,
                                                   " partitions)"));
  }
  return CurrentEndOffset(*state, partition.partition);
}

bool LogCore::WaitUntil(absl::Time deadline, const std::function<bool()>& ready) {
  std::unique_lock lock(mu_);
  if (deadline == absl::InfiniteFuture()) {
    changed_.wait(lock, ready);
    return true;
  }
  return changed_.wait_until(lock, absl::ToChronoTime(deadline), ready);
}

uint64_t LogCore::JoinGroup(const std::string& group_id, const std::vector<std::string>& topics) {
  uint64_t member_id = 0;
  {
    std::lock_guard lock(mu_);
    member_id = next_member_id_++;
    GroupState& group = groups_[group_id];
    group.members[member_id].topics = std::set<std::string>(topics.begin(), topics.end());
    RecomputeAssignmentLocked(group);
  }
  changed_.notify_all();
  return member_id;
}

void LogCore::UpdateSubscription(const std::string& group_id, uint64_t member,
                                 const std::vector<std::string>& topics) {
  {
    std::lock_guard lock(mu_);
    GroupState& group = groups_[group_id];
    group.members[member].topics = std::set<std::string>(topics.begin(), topics.end());
    RecomputeAssignmentLocked(group);
  }
  changed_.notify_all();
}

void LogCore::RecomputeAssignmentLocked(GroupState& group) {
  std::set<std::string> all_topics;
  for (auto& [id, member] : group.members) {
    member.target.clear();
    all_topics.insert(member.topics.begin(), member.topics.end());
  }
  for (const std::string& topic_name : all_topics) {
    auto topic = topics_.find(topic_name);
    if (topic == topics_.end()) continue;  // assigned once it is created
    std::vector<GroupMember*> subscribers;
    for (auto& [id, member] : group.members) {
      if (member.topics.count(topic_name) != 0) subscribers.push_back(&member);
    }
    // Range assignment: contiguous runs, the first (partitions % members) get one more.
    const int32_t partitions = topic->second->partitions;
    const int32_t members = static_cast<int32_t>(subscribers.size());
    const int32_t per_member = partitions / members;
    const int32_t extra = partitions % members;
    int32_t next = 0;
    for (int32_t m = 0; m < members; ++m) {
      const int32_t count = per_member + (m < extra ? 1 : 0);
      for (int32_t p = next; p < next + count; ++p) {
        subscribers[static_cast<size_t>(m)]->target.insert({topic_name, p});
      }
      next += count;
    }
  }
  ++group.generation;
}

bool LogCore::NeedsRebalanceLocked(const std::string& group_id, uint64_t member) const {
  auto group = groups_.find(group_id);
  if (group == groups_.end()) return false;
  auto found = group->second.members.find(member);
  return found != group->second.members.end() &&
         found->second.seen_generation != group->second.generation;
}

std::vector<TopicPartition> LogCore::PendingRevocations(const std::string& group_id,
                                                        uint64_t member_id) {
  std::lock_guard lock(mu_);
  std::vector<TopicPartition> revoked;
  GroupMember& member = groups_[group_id].members[member_id];
  for (const TopicPartition& tp : member.owned) {
    if (member.target.count(tp) == 0) revoked.push_back(tp);
  }
  return revoked;
}

void LogCore::ReleasePartitions(const std::string& group_id, uint64_t member_id,
                                const std::vector<TopicPartition>& revoked) {
  {
    std::lock_guard lock(mu_);
    GroupState& group = groups_[group_id];
    GroupMember& member = group.members[member_id];
    for (const TopicPartition& tp : revoked) {
      member.owned.erase(tp);
      auto owner = group.owner.find(tp);
      if (owner != group.owner.end() && owner->second == member_id) group.owner.erase(owner);
    }
    // Wakes the members waiting for these partitions.
    ++group.generation;
  }
  changed_.notify_all();
}

std::vector<TopicPartition> LogCore::ClaimAssignable(const std::string& group_id,
                                                     uint64_t member_id) {
  std::lock_guard lock(mu_);
  GroupState& group = groups_[group_id];
  GroupMember& member = group.members[member_id];
  std::vector<TopicPartition> claimed;
  for (const TopicPartition& tp : member.target) {
    if (member.owned.count(tp) != 0) continue;
    // Still held by its previous owner until that one revokes it in its own Poll.
    if (group.owner.count(tp) != 0) continue;
    group.owner[tp] = member_id;
    member.owned.insert(tp);
    claimed.push_back(tp);
  }
  member.seen_generation = group.generation;
  return claimed;
}

std::vector<TopicPartition> LogCore::Owned(const std::string& group_id, uint64_t member_id) {
  std::lock_guard lock(mu_);
  const GroupMember& member = groups_[group_id].members[member_id];
  return std::vector<TopicPartition>(member.owned.begin(), member.owned.end());
}

void LogCore::LeaveGroup(const std::string& group_id, uint64_t member_id) {
  {
    std::lock_guard lock(mu_);
    GroupState& group = groups_[group_id];
    for (auto it = group.owner.begin(); it != group.owner.end();) {
      it = it->second == member_id ? group.owner.erase(it) : std::next(it);
    }
    group.members.erase(member_id);
    if (group.members.empty()) {
      groups_.erase(group_id);
    } else {
      RecomputeAssignmentLocked(group);
    }
  }
  changed_.notify_all();
}

// ---------------------------------------------------------------------------------------
// Producer

class EmbeddedProducer final : public Producer {
 public:
  explicit EmbeddedProducer(std::shared_ptr<LogCore> core)
      : core_(std::move(core)), state_(std::make_shared<ProducerState>()) {}
  ~EmbeddedProducer() override { Stop(absl::Seconds(5)); }

  void Append(std::string_view topic, std::string_view key, std::string_view value,
              DeliveryCallback on_delivery) override {
    bool accepted = false;
    {
      std::lock_guard lock(state_->mu);
      if (!state_->stopped) {
        ++state_->in_flight;
        accepted = true;
      }
    }
    if (!accepted) {
      if (on_delivery) on_delivery(absl::UnavailableError("embedded log: producer stopped"));
      return;
    }
    PendingAppend append{std::string(topic), std::string(key), std::string(value),
                         std::move(on_delivery), state_};
    if (!core_->Enqueue(append)) {
      if (append.on_delivery) {
        append.on_delivery(absl::UnavailableError("embedded log: the event log was closed"));
      }
      std::lock_guard lock(state_->mu);
      if (--state_->in_flight == 0) state_->drained.notify_all();
    }
  }

  absl::Status Flush(absl::Duration timeout) override {
    if (core_->OnWriterThread()) {
      return absl::FailedPreconditionError(
          "embedded log: Flush called from a delivery callback would wait for itself");
    }
    std::unique_lock lock(state_->mu);
    const bool drained = state_->drained.wait_for(
        lock, absl::ToChronoNanoseconds(std::max(timeout, absl::ZeroDuration())),
        [this] { return state_->in_flight == 0; });
    if (!drained) {
      return absl::DeadlineExceededError(absl::StrCat("embedded log: ", state_->in_flight,
                                                      " appends still pending after ",
                                                      absl::FormatDuration(timeout)));
    }
    return absl::OkStatus();
  }

  void Stop(absl::Duration timeout) override {
    {
      std::lock_guard lock(state_->mu);
      if (stop_finished_) return;
      state_->stopped = true;
    }
    if (core_->OnWriterThread()) return;  // cannot wait for our own thread; stopped anyway
    Flush(timeout).IgnoreError();
    std::vector<PendingAppend> left = core_->RemoveQueued(state_.get());
    for (PendingAppend& append : left) {
      if (append.on_delivery) {
        append.on_delivery(
            absl::UnavailableError("embedded log: producer stopped before the record was written"));
      }
    }
    FinishDeliveries(left);
    // Records the writer is committing right now finish within one transaction.
    std::unique_lock lock(state_->mu);
    state_->drained.wait(lock, [this] { return state_->in_flight == 0; });
    stop_finished_ = true;
  }

 private:
  std::shared_ptr<LogCore> core_;
  std::shared_ptr<ProducerState> state_;
  bool stop_finished_ = false;  // guarded by state_->mu
};

// ---------------------------------------------------------------------------------------
// Consumer

class EmbeddedConsumer final : public Consumer {
 public:
  EmbeddedConsumer(std::shared_ptr<LogCore> core, ConsumerOptions options)
      : core_(std::move(core)), options_(std::move(options)) {}
  ~EmbeddedConsumer() override { Close(); }

  absl::Status Init() {
    ASSIGN_OR_RETURN(connection_, Connection::Open(core_->database_path(), /*create=*/false,
                                                   core_->options().lock_timeout));
    RETURN_IF_ERROR(connection_.MakeDurable());
    ASSIGN_OR_RETURN(transactions_, TransactionStatements::Prepare(connection_));
    ASSIGN_OR_RETURN(read_records_,
                     connection_.Prepare("SELECT offset, key, value, timestamp_unix_micros "
                                         "FROM records WHERE topic_id = ?1 AND partition = ?2 "
                                         "AND offset >= ?3 ORDER BY offset LIMIT ?4"));
    ASSIGN_OR_RETURN(read_committed_,
                     connection_.Prepare("SELECT next_offset FROM group_offsets WHERE "
                                         "group_id = ?1 AND topic_id = ?2 AND partition = ?3"));
    ASSIGN_OR_RETURN(
        write_committed_,
        connection_.Prepare("INSERT OR REPLACE INTO group_offsets(group_id, "
                            "topic_id, partition, next_offset) VALUES (?1, ?2, ?3, ?4)"));
    return absl::OkStatus();
  }

  absl::Status Subscribe(const std::vector<std::string>& topics) override {
    RETURN_IF_ERROR(CheckOpen());
    if (options_.group_id.empty()) {
      return absl::InvalidArgumentError("Subscribe needs a consumer group id");
    }
    if (topics.empty()) return absl::InvalidArgumentError("Subscribe: no topics");
    if (mode_ == Mode::kAssigned) {
      return absl::FailedPreconditionError("Subscribe: the consumer uses Assign already");
    }
    if (member_id_ == 0) {
      member_id_ = core_->JoinGroup(options_.group_id, topics);
    } else {
      core_->UpdateSubscription(options_.group_id, member_id_, topics);
    }
    mode_ = Mode::kSubscribed;
    return absl::OkStatus();
  }

  absl::Status Assign(const std::vector<TopicPartitionOffset>& partitions) override {
    RETURN_IF_ERROR(CheckOpen());
    if (mode_ == Mode::kSubscribed) {
      return absl::FailedPreconditionError("Assign: the consumer is subscribed to a group");
    }
    std::map<TopicPartition, PartitionState> assigned;
    for (const TopicPartitionOffset& tpo : partitions) {
      TopicPartition tp{tpo.topic, tpo.partition};
      ASSIGN_OR_RETURN(const TopicState* topic, FindPartition(tp));
      ASSIGN_OR_RETURN(int64_t position, ResolveStart(*topic, tp, tpo.offset));
      assigned[tp] = PartitionState{topic, position, std::nullopt, false};
    }
    partitions_ = std::move(assigned);
    mode_ = partitions_.empty() ? Mode::kNone : Mode::kAssigned;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Record>> Poll(int max_records, absl::Duration timeout) override {
    RETURN_IF_ERROR(CheckOpen());
    if (max_records <= 0) return absl::InvalidArgumentError("Poll: max_records must be positive");
    const absl::Time deadline =
        timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
    while (true) {
      if (mode_ == Mode::kSubscribed) RETURN_IF_ERROR(Rebalance());
      ASSIGN_OR_RETURN(std::vector<Record> records, Fetch(max_records));
      if (!records.empty()) return records;
      bool log_closed = false;
      const bool woken = core_->WaitUntil(deadline, [&] {
        log_closed = core_->ClosedLocked();
        return log_closed || HasWorkLocked();
      });
      if (log_closed) return absl::UnavailableError("embedded log: the event log was closed");
      if (!woken) return std::vector<Record>();
    }
  }

  absl::Status Seek(const TopicPartitionOffset& position) override {
    RETURN_IF_ERROR(CheckOpen());
    TopicPartition tp{position.topic, position.partition};
    auto found = partitions_.find(tp);
    if (found == partitions_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Seek: ", Describe(tp), " is not assigned to this consumer"));
    }
    ASSIGN_OR_RETURN(int64_t start, ResolveStart(*found->second.topic, tp, position.offset));
    found->second.position = start;
    found->second.unresolved_start.reset();
    return absl::OkStatus();
  }

  absl::Status Pause(const std::vector<TopicPartition>& partitions) override {
    return SetPaused(partitions, true);
  }
  absl::Status Resume(const std::vector<TopicPartition>& partitions) override {
    RETURN_IF_ERROR(SetPaused(partitions, false));
    // A resumed partition may have records waiting: the next Poll sees them at once.
    return absl::OkStatus();
  }

  absl::Status Commit(const std::vector<TopicPartitionOffset>& offsets) override {
    RETURN_IF_ERROR(CheckOpenOrClosing());
    if (options_.group_id.empty()) {
      return absl::FailedPreconditionError("Commit needs a consumer group id");
    }
    std::vector<std::pair<const TopicState*, const TopicPartitionOffset*>> resolved;
    for (const TopicPartitionOffset& tpo : offsets) {
      ASSIGN_OR_RETURN(const TopicState* topic, FindPartition({tpo.topic, tpo.partition}));
      if (tpo.offset < 0) {
        return absl::InvalidArgumentError(absl::StrCat("Commit: offset ", tpo.offset, " for ",
                                                       tpo.topic, "/", tpo.partition,
                                                       " is not a next-offset"));
      }
      resolved.emplace_back(topic, &tpo);
    }
    if (resolved.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(StepDone(connection_, transactions_.begin.get(),
                             "Commit: beginning the offset transaction"));
    absl::Status written;
    for (const auto& [topic, tpo] : resolved) {
      sqlite3_stmt* statement = write_committed_.get();
      BindText(statement, 1, options_.group_id);
      sqlite3_bind_int64(statement, 2, topic->id);
      sqlite3_bind_int(statement, 3, tpo->partition);
      sqlite3_bind_int64(statement, 4, tpo->offset);
      written = StepDone(connection_, statement, "Commit: writing an offset");
      if (!written.ok()) break;
    }
    if (written.ok()) {
      written = StepDone(connection_, transactions_.commit.get(), "Commit: committing offsets");
    }
    if (!written.ok()) RollBack(connection_, transactions_);
    return written;
  }

  absl::StatusOr<std::vector<TopicPartitionOffset>> Committed(
      const std::vector<TopicPartition>& partitions) override {
    RETURN_IF_ERROR(CheckOpenOrClosing());
    if (options_.group_id.empty()) {
      return absl::FailedPreconditionError("Committed needs a consumer group id");
    }
    std::vector<TopicPartitionOffset> answer;
    for (const TopicPartition& tp : partitions) {
      ASSIGN_OR_RETURN(const TopicState* topic, FindPartition(tp));
      ASSIGN_OR_RETURN(int64_t offset, ReadCommitted(*topic, tp.partition));
      answer.push_back({tp.topic, tp.partition, offset});
    }
    return answer;
  }

  std::vector<TopicPartition> Assignment() const override {
    std::vector<TopicPartition> assignment;
    for (const auto& [tp, state] : partitions_) assignment.push_back(tp);
    return assignment;
  }

  void Close() override {
    if (closed_ || closing_) return;
    closing_ = true;
    if (mode_ == Mode::kSubscribed) {
      std::vector<TopicPartition> owned = core_->Owned(options_.group_id, member_id_);
      // Leaving revokes, as in Kafka: the listener gets its last chance to commit.
      if (!owned.empty() && options_.listener.on_revoked) options_.listener.on_revoked(owned);
      core_->LeaveGroup(options_.group_id, member_id_);
    }
    partitions_.clear();
    mode_ = Mode::kNone;
    closed_ = true;
    read_records_.reset();
    read_committed_.reset();
    write_committed_.reset();
    transactions_ = TransactionStatements();
    connection_ = Connection();
  }

 private:
  enum class Mode { kNone, kSubscribed, kAssigned };

  struct PartitionState {
    const TopicState* topic = nullptr;
    int64_t position = 0;
    // Set when the start could not be resolved yet (reading the committed offset failed);
    // Fetch retries before reading anything of this partition.
    std::optional<int64_t> unresolved_start;
    bool paused = false;
  };

  absl::Status CheckOpen() const {
    if (closed_ || closing_) return absl::FailedPreconditionError("consumer is closed");
    return absl::OkStatus();
  }
  // Commit and Committed stay usable inside the revocation callback that Close runs.
  absl::Status CheckOpenOrClosing() const {
    if (closed_) return absl::FailedPreconditionError("consumer is closed");
    return absl::OkStatus();
  }

  absl::StatusOr<const TopicState*> FindPartition(const TopicPartition& tp) {
    const TopicState* topic = core_->FindTopic(tp.topic);
    if (topic == nullptr) {
      return absl::NotFoundError(absl::StrCat("embedded log: topic ", tp.topic, " does not exist"));
    }
    if (tp.partition < 0 || tp.partition >= topic->partitions) {
      return absl::InvalidArgumentError(absl::StrCat(
          "embedded log: ", Describe(tp), " is out of range (", topic->partitions, " partitions)"));
    }
    return topic;
  }

  absl::StatusOr<int64_t> ReadCommitted(const TopicState& topic, int32_t partition) {
    sqlite3_stmt* statement = read_committed_.get();
    ResetOnExit reset(statement);
    BindText(statement, 1, options_.group_id);
    sqlite3_bind_int64(statement, 2, topic.id);
    sqlite3_bind_int(statement, 3, partition);
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) return kNoOffset;
    if (rc != SQLITE_ROW) return connection_.Error(rc, "reading a committed offset");
    return sqlite3_column_int64(statement, 0);
  }

  // Turns a requested start (explicit or one of the kOffset* values) into an offset.
  absl::StatusOr<int64_t> ResolveStart(const TopicState& topic, const TopicPartition& tp,
                                       int64_t requested) {
    if (requested >= 0) return requested;
    if (requested == kOffsetBeginning) return 0;  // nothing is ever deleted
    if (requested == kOffsetEnd) return core_->CurrentEndOffset(topic, tp.partition);
    if (requested == kOffsetCommitted) {
      if (options_.group_id.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "embedded log: ", Describe(tp), ": kOffsetCommitted needs a consumer group id"));
      }
      ASSIGN_OR_RETURN(int64_t committed, ReadCommitted(topic, tp.partition));
      if (committed != kNoOffset) return committed;
      return options_.auto_offset_reset == kOffsetEnd ? core_->CurrentEndOffset(topic, tp.partition)
                                                      : 0;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("embedded log: ", Describe(tp), ": invalid start offset ", requested));
  }

  // One step of group membership: revoke what the group moved away, then take what is
  // ours and free. Callbacks run here, on the polling thread, with no lock held.
  absl::Status Rebalance() {
    std::vector<TopicPartition> revoked = core_->PendingRevocations(options_.group_id, member_id_);
    if (!revoked.empty()) {
      if (options_.listener.on_revoked) options_.listener.on_revoked(revoked);
      for (const TopicPartition& tp : revoked) partitions_.erase(tp);
      core_->ReleasePartitions(options_.group_id, member_id_, revoked);
    }
    std::vector<TopicPartition> claimed = core_->ClaimAssignable(options_.group_id, member_id_);
    if (claimed.empty()) return absl::OkStatus();
    std::vector<TopicPartitionOffset> assigned;
    for (const TopicPartition& tp : claimed)
      assigned.push_back({tp.topic, tp.partition, kOffsetCommitted});
    if (options_.listener.on_assigned) options_.listener.on_assigned(assigned);
    // The listener chooses start offsets; the partitions themselves are the group's call.
    std::map<TopicPartition, int64_t> requested;
    for (const TopicPartitionOffset& tpo : assigned)
      requested[{tpo.topic, tpo.partition}] = tpo.offset;
    absl::Status first_error;
    for (const TopicPartition& tp : claimed) {
      auto it = requested.find(tp);
      const int64_t start = it == requested.end() ? kOffsetCommitted : it->second;
      PartitionState state;
      state.topic = core_->FindTopic(tp.topic);
      if (state.topic == nullptr) continue;  // cannot happen: only existing topics are assigned
      absl::StatusOr<int64_t> position = ResolveStart(*state.topic, tp, start);
      if (position.ok()) {
        state.position = *position;
      } else {
        state.unresolved_start = start;
        if (first_error.ok()) first_error = position.status();
      }
      partitions_[tp] = state;
    }
    return first_error;
  }

  // With the core's lock held: whether Poll has something to do.
  bool HasWorkLocked() const {
    if (mode_ == Mode::kSubscribed && core_->NeedsRebalanceLocked(options_.group_id, member_id_)) {
      return true;
    }
    for (const auto& [tp, state] : partitions_) {
      if (state.paused) continue;
      if (state.unresolved_start.has_value()) return true;
      if (state.position < core_->EndOffsetLocked(*state.topic, tp.partition)) return true;
    }
    return false;
  }

  absl::StatusOr<std::vector<Record>> Fetch(int max_records) {
    std::vector<Record> records;
    if (partitions_.empty()) return records;

    struct Fetchable {
      const TopicPartition* tp;
      PartitionState* state;
      int64_t end;
    };
    std::vector<Fetchable> fetchable;
    // Rotate the starting partition so that a busy partition cannot starve the others.
    std::vector<std::pair<const TopicPartition*, PartitionState*>> order;
    for (auto& [tp, state] : partitions_) order.emplace_back(&tp, &state);
    const size_t rotation = next_fetch_start_++ % order.size();
    std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(rotation), order.end());

    for (auto& [tp, state] : order) {
      if (state->paused || !state->unresolved_start.has_value()) continue;
      ASSIGN_OR_RETURN(state->position, ResolveStart(*state->topic, *tp, *state->unresolved_start));
      state->unresolved_start.reset();
    }
    core_->WithLock([&] {
      for (auto& [tp, state] : order) {
        if (state->paused) continue;
        const int64_t end = core_->EndOffsetLocked(*state->topic, tp->partition);
        if (state->position < end) fetchable.push_back({tp, state, end});
      }
    });

    int64_t remaining = max_records;
    for (const Fetchable& f : fetchable) {
      if (remaining <= 0) break;
      const int64_t wanted = std::min(remaining, f.end - f.state->position);
      sqlite3_stmt* statement = read_records_.get();
      ResetOnExit reset(statement);
      sqlite3_bind_int64(statement, 1, f.state->topic->id);
      sqlite3_bind_int(statement, 2, f.tp->partition);
      sqlite3_bind_int64(statement, 3, f.state->position);
      sqlite3_bind_int64(statement, 4, wanted);
      const int64_t first = f.state->position;
      while (true) {
        const int rc = sqlite3_step(statement);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
          return connection_.Error(rc, absl::StrCat("reading ", Describe(*f.tp)));
        }
        Record record;
        record.offset = sqlite3_column_int64(statement, 0);
        // Offsets are dense: anything else means the file was damaged behind our back.
        if (record.offset != f.state->position) {
          return absl::DataLossError(absl::StrCat("embedded log: ", Describe(*f.tp),
                                                  " expected offset ", f.state->position,
                                                  ", found ", record.offset));
        }
        record.topic = f.tp->topic;
        record.partition = f.tp->partition;
        record.key = ColumnBytes(statement, 1);
        record.value = ColumnBytes(statement, 2);
        record.timestamp_unix_micros = sqlite3_column_int64(statement, 3);
        records.push_back(std::move(record));
        ++f.state->position;
        --remaining;
      }
      // Committed records below the end offset are always there; if not, the file lost
      // them (and Poll must not spin on a partition that claims to have more).
      if (f.state->position - first != wanted) {
        return absl::DataLossError(absl::StrCat("embedded log: ", Describe(*f.tp), " offsets ",
                                                f.state->position, "..", f.end - 1,
                                                " are missing"));
      }
    }
    return records;
  }

  absl::Status SetPaused(const std::vector<TopicPartition>& partitions, bool paused) {
    RETURN_IF_ERROR(CheckOpen());
    // Partitions not assigned are ignored, as librdkafka does; pausing is per assignment.
    for (const TopicPartition& tp : partitions) {
      auto found = partitions_.find(tp);
      if (found != partitions_.end()) found->second.paused = paused;
    }
    return absl::OkStatus();
  }

  std::shared_ptr<LogCore> core_;
  ConsumerOptions options_;
  Connection connection_;
  TransactionStatements transactions_;
  Statement read_records_;
  Statement read_committed_;
  Statement write_committed_;

  Mode mode_ = Mode::kNone;
  uint64_t member_id_ = 0;
  std::map<TopicPartition, PartitionState> partitions_;
  size_t next_fetch_start_ = 0;
  bool closing_ = false;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------
// EventLog

class EmbeddedEventLog final : public EventLog {
 public:
  explicit EmbeddedEventLog(std::shared_ptr<LogCore> core) : core_(std::move(core)) {}
  // Producers and consumers still alive keep the core (and the directory lock) until they
  // go; the writer stops here after writing everything already accepted.
  ~EmbeddedEventLog() override { core_->Shutdown(); }

  absl::Status CreateTopic(const TopicSpec& spec) override { return core_->CreateTopic(spec); }
  absl::StatusOr<int32_t> PartitionCount(std::string_view topic) override {
    return core_->PartitionCount(topic);
  }
  absl::StatusOr<int64_t> EndOffset(const TopicPartition& partition) override {
    return core_->EndOffset(partition);
  }
  absl::StatusOr<std::unique_ptr<Producer>> NewProducer() override {
    return std::unique_ptr<Producer>(new EmbeddedProducer(core_));
  }
  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(ConsumerOptions options) override {
    if (options.auto_offset_reset != kOffsetBeginning && options.auto_offset_reset != kOffsetEnd) {
      return absl::InvalidArgumentError("auto_offset_reset must be kOffsetBeginning or kOffsetEnd");
    }
    auto consumer = std::make_unique<EmbeddedConsumer>(core_, std::move(options));
    RETURN_IF_ERROR(consumer->Init());
    return std::unique_ptr<Consumer>(std::move(consumer));
  }

 private:
  std::shared_ptr<LogCore> core_;
};

}  // namespace

std::string EmbeddedLogDatabasePath(const std::string& data_dir) {
  return absl::StrCat(data_dir, "/", kDatabaseFile);
}

absl::StatusOr<std::unique_ptr<EventLog>> OpenEmbeddedLog(const EmbeddedLogOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<LogCore> core, LogCore::Open(options));
  return std::unique_ptr<EventLog>(new EmbeddedEventLog(std::move(core)));
}

}  // namespace ar::eventlog
