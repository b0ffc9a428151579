#include "libs/store/redis_store.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/status_macros.h"

namespace ar::store {
namespace {

constexpr std::string_view kCheckpointKeyPrefix = "__checkpoints:";

// Debian's Abseil has its own absl::string_view, which StrCat and SimpleAtoi expect.
absl::string_view Av(std::string_view text) { return absl::string_view(text.data(), text.size()); }

// Commit's script. Redis runs a script without interleaving anything else, but a script
// that fails half-way keeps the writes it has made, so this one writes nothing until it
// has proved that every op will succeed: it checks the checkpoints' expected offsets,
// then replays the batch against a shadow of the touched keys (their types, and the
// integers that HINCRBY will meet, in exact 64-bit arithmetic although Lua numbers are
// doubles), and only then applies the ops and moves the checkpoints.
//
// ARGV: checkpoint count C; C x (hash key, field, expected offset, next offset); then the
// ops, each an opcode and its arguments (keys already prefixed):
//   S key value | D key | H key field value | X key field (HDEL) | I key field delta
//   Z key member score | R key member (ZREM)
// Returns {0} when applied, {1, why} for a fencing mismatch, {2, why} for an invalid op.
constexpr char kCommitScript[] = R"lua(#!lua
local argv = ARGV
local nargs = #argv
local call = redis.call
local E9 = 1000000000
local ARITY = {S = 2, D = 1, H = 3, X = 2, I = 3, Z = 3, R = 2}
local FAMILY = {H = 'hash', X = 'hash', I = 'hash', Z = 'zset', R = 'zset'}

-- Integers as (high, low) with value = high * 1e9 + low and 0 <= low < 1e9: both parts
-- stay far below 2^53, so the arithmetic is exact. Parsing follows Redis's string2ll.
local function parse_int(s)
  if s == '0' then return 0, 0 end
  local negative = string.byte(s, 1) == 45
  local digits = negative and string.sub(s, 2) or s
  local len = #digits
  if len > 19 or not string.find(digits, '^[1-9][0-9]*$') then return nil end
  local high, low = 0, tonumber(digits)
  if len > 9 then
    high = tonumber(string.sub(digits, 1, len - 9))
    low = tonumber(string.sub(digits, len - 8))
  end
  if high > 9223372036 or
     (high == 9223372036 and low > (negative and 854775808 or 854775807)) then
    return nil
  end
  if not negative then return high, low end
  if low == 0 then return -high, 0 end
  return -high - 1, E9 - low
end

local function add_int(h1, l1, h2, l2)
  local high, low = h1 + h2, l1 + l2
  if low >= E9 then low = low - E9; high = high + 1 end
  if high > 9223372036 or (high == 9223372036 and low > 854775807) then return nil end
  if high < -9223372037 or (high == -9223372037 and low < 145224192) then return nil end
  return high, low
end

-- 1. Fencing: a stale writer changes nothing.
local ncheckpoints = tonumber(argv[1])
local i = 2
local moved = {}
for _ = 1, ncheckpoints do
  local key, field, expected = argv[i], argv[i + 1], argv[i + 2]
  local fields = moved[key]
  if not fields then fields = {}; moved[key] = fields end
  local current = fields[field]
  if current == nil then current = call('HGET', key, field) or '0' end
  if current ~= expected then
    return {1, 'checkpoint ' .. field .. ' is ' .. current .. ', expected ' .. expected ..
               ' (another writer moved it)'}
  end
  fields[field] = argv[i + 3]
  i = i + 4
end
local ops_start = i

-- 2. Validation against shadows of the touched keys. A shadow holds the key's type as
-- the batch leaves it (t), whether its original content no longer matters (fresh: after
-- SET or DEL), whether the batch removed elements (removed: it may have emptied the key,
-- which Redis then deletes), and the hash fields the batch wrote (string, {high, low} or
-- false when deleted).
local shadows = {}
local function shadow(key)
  local s = shadows[key]
  if s == nil then
    s = {t = call('TYPE', key).ok, fresh = false, removed = false}
    shadows[key] = s
  end
  return s
end

-- Elements left in `key` (of type t) after this batch's ops before position `upto`:
-- replays them; only needed when a key the batch removed from changes type.
local function count_left(key, t, upto)
  local fresh, family, present = false, t, {}
  local j = ops_start
  while j < upto do
    local op = argv[j]
    if argv[j + 1] == key then
      local f = FAMILY[op]
      if f == nil then
        fresh, present = true, {}
      elseif f ~= family then
        fresh, family, present = true, f, {}  -- only possible once the key was emptied
      end
      if op == 'H' or op == 'I' or op == 'Z' then present[argv[j + 2]] = true
      elseif op == 'X' or op == 'R' then present[argv[j + 2]] = false end
    end
    j = j + 1 + ARITY[op]
  end
  local n = 0
  if not fresh then n = call(t == 'hash' and 'HLEN' or 'ZCARD', key) end
  for element, now in pairs(present) do
    local before = false
    if not fresh then
      if t == 'hash' then before = call('HEXISTS', key, element) == 1
      else before = call('ZSCORE', key, element) ~= false end
    end
    if now and not before then n = n + 1 elseif before and not now then n = n - 1 end
  end
  return n
end

local function admits(s, key, want, at)
  local t = s.t
  if t == want or t == 'none' then return true end
  if s.removed and (t == 'hash' or t == 'zset') and count_left(key, t, at) == 0 then
    s.t, s.fresh, s.removed, s.fields = 'none', true, false, nil
    return true
  end
  return false
end

local function wrongtype(key)
  return {2, 'WRONGTYPE Operation against a key holding the wrong kind of value (key "' ..
             key .. '")'}
end

i = ops_start
while i <= nargs do
  local op, key = argv[i], argv[i + 1]
  local s = shadow(key)
  if op == 'S' then
    s.t, s.fresh, s.removed, s.fields = 'string', true, false, nil
  elseif op == 'D' then
    s.t, s.fresh, s.removed, s.fields = 'none', true, false, nil
  elseif op == 'H' or op == 'X' or op == 'I' then
    if not admits(s, key, 'hash', i) then return wrongtype(key) end
    local field = argv[i + 2]
    if op == 'X' then
      if s.t == 'hash' then
        if not s.fields then s.fields = {} end
        s.fields[field] = false
        s.removed = true
      end
    else
      if not s.fields then s.fields = {} end
      if op == 'H' then
        s.fields[field] = argv[i + 3]
      else
        local current = s.fields[field]
        if current == nil then
          current = (s.t == 'hash' and not s.fresh) and call('HGET', key, field) or false
        end
        local high, low = 0, 0
        if type(current) == 'table' then
          high, low = current[1], current[2]
        elseif current then
          high, low = parse_int(current)
          if high == nil then
            return {2, 'ERR hash value is not an integer (key "' .. key .. '", field "' ..
                       field .. '")'}
          end
        end
        local dh, dl = parse_int(argv[i + 3])
        high, low = add_int(high, low, dh, dl)
        if high == nil then
          return {2, 'ERR increment or decrement would overflow (key "' .. key ..
                     '", field "' .. field .. '")'}
        end
        s.fields[field] = {high, low}
      end
      s.t = 'hash'
    end
  else  -- Z or R
    if not admits(s, key, 'zset', i) then return wrongtype(key) end
    if op == 'Z' then
      s.t = 'zset'
    elseif s.t == 'zset' then
      s.removed = true
    end
  end
  i = i + 1 + ARITY[op]
end

-- 3. Apply: every op is now known to succeed.
i = ops_start
while i <= nargs do
  local op = argv[i]
  if op == 'H' then call('HSET', argv[i + 1], argv[i + 2], argv[i + 3])
  elseif op == 'I' then call('HINCRBY', argv[i + 1], argv[i + 2], argv[i + 3])
  elseif op == 'Z' then call('ZADD', argv[i + 1], argv[i + 3], argv[i + 2])
  elseif op == 'S' then call('SET', argv[i + 1], argv[i + 2])
  elseif op == 'D' then call('DEL', argv[i + 1])
  elseif op == 'X' then call('HDEL', argv[i + 1], argv[i + 2])
  else call('ZREM', argv[i + 1], argv[i + 2]) end
  i = i + 1 + ARITY[op]
end
i = 2
for _ = 1, ncheckpoints do
  call('HSET', argv[i], argv[i + 1], argv[i + 3])
  i = i + 4
end
return {0}
)lua";

// --- RESP encoding: requests are written straight into one reused buffer per connection,
// with the key prefix spliced in, so a commit of thousands of ops allocates nothing.

void AppendNumberText(std::string& out, int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, end);
}

void AppendArrayHeader(std::string& out, size_t count) {
  out.push_back('*');
  AppendNumberText(out, static_cast<int64_t>(count));
  out.append("\r\n");
}

// One bulk string made of `head` then `tail` (a key prefix and a key).
void AppendBulk(std::string& out, std::string_view head, std::string_view tail = {}) {
  out.push_back('$');
  AppendNumberText(out, static_cast<int64_t>(head.size() + tail.size()));
  out.append("\r\n");
  out.append(head);
  out.append(tail);
  out.append("\r\n");
}

void AppendBulkNumber(std::string& out, int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  AppendBulk(out, std::string_view(digits, static_cast<size_t>(end - digits)));
}

// An argument of a simple command: one piece, or a key prefix and a key.
struct Arg {
  Arg(const char* text) : head(text) {}         // NOLINT: implicit by design
  Arg(std::string_view text) : head(text) {}    // NOLINT: implicit by design
  Arg(const std::string& text) : head(text) {}  // NOLINT: implicit by design
  Arg(std::string_view h, std::string_view t) : head(h), tail(t) {}
  std::string_view head, tail;
};

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

std::string_view ReplyText(const redisReply& reply) {
  return std::string_view(reply.str, reply.len);
}

// Maps a Redis error reply to a Status; the connection itself stays usable.
absl::Status ServerError(std::string_view context, std::string_view message) {
  std::string text = absl::StrCat("redis ", Av(context), ": ", Av(message));
  const auto starts = [&](std::string_view word) { return message.substr(0, word.size()) == word; };
  if (starts("WRONGTYPE")) return absl::InvalidArgumentError(text);
  if (starts("NOAUTH") || starts("WRONGPASS")) {
    return absl::UnauthenticatedError(
        absl::StrCat(text, " (check RedisStoreOptions.username/password)"));
  }
  if (starts("NOPERM")) return absl::PermissionDeniedError(text);
  if (starts("OOM")) return absl::ResourceExhaustedError(text);
  if (starts("LOADING") || starts("BUSY") || starts("MASTERDOWN") || starts("READONLY") ||
      starts("MISCONF") || starts("TRYAGAIN") || starts("CLUSTERDOWN")) {
    return absl::UnavailableError(text);
  }
  return absl::InternalError(text);
}

// hiredis writes with write(2), which raises SIGPIPE on a socket the server has closed
// and would kill the process. SIGPIPE is blocked for the calling thread around each
// exchange and a SIGPIPE raised meanwhile is consumed, so the error surfaces as EPIPE
// without touching the process's signal dispositions.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_mask_);
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{0, 0};
        while (sigtimedwait(&sigpipe_, nullptr, &no_wait) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }

 private:
  sigset_t sigpipe_;
  sigset_t previous_mask_;
  bool was_pending_ = false;
};

class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const RedisStoreOptions& options) {
    const std::string address = absl::StrCat(options.host, ":", options.port);
    redisContext* context = redisConnectWithTimeout(options.host.c_str(), options.port,
                                                    absl::ToTimeval(options.connect_timeout));
    if (context == nullptr) {
      return absl::ResourceExhaustedError("cannot allocate a hiredis context");
    }
    auto connection = std::unique_ptr<Connection>(new Connection(context, address));
    if (context->err != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to redis at ", address, ": ", context->errstr));
    }
    if (redisSetTimeout(context, absl::ToTimeval(options.command_timeout)) != REDIS_OK) {
      return absl::UnavailableError(
          absl::StrCat("cannot set socket timeouts for redis at ", address));
    }
    redisEnableKeepAlive(context);  // best effort: notices a vanished peer on idle sockets
    if (!options.password.empty()) {
      std::string& request = connection->request_;
      request.clear();
      AppendArrayHeader(request, options.username.empty() ? 2 : 3);
      AppendBulk(request, "AUTH");
      if (!options.username.empty()) AppendBulk(request, options.username);
      AppendBulk(request, options.password);
      ASSIGN_OR_RETURN(ReplyPtr reply, connection->RoundTrip(1));
      if (reply->type == REDIS_REPLY_ERROR) {
        absl::Status refused = ServerError(absl::StrCat(address, " AUTH"), ReplyText(*reply));
        if (!absl::IsUnauthenticated(refused)) {
          // e.g. "ERR AUTH <password> called without any password configured"
          return absl::UnauthenticatedError(refused.message());
        }
        return refused;
      }
    }
    return connection;
  }

  ~Connection() { redisFree(context_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& address() const { return address_; }
  bool broken() const { return broken_; }
  std::string& request() { return request_; }

  // An idle connection should have nothing to read: a readable socket means the server
  // closed it (a restart) or sent something unexpected. Either way it is not reusable.
  bool LooksReusable() const {
    pollfd descriptor{context_->fd, POLLIN, 0};
    return !broken_ && poll(&descriptor, 1, 0) == 0;
  }

  // Sends request() (holding `replies` pipelined commands) and reads the first `replies`
  // - 1 replies into `earlier` (if given) and returns the last one. An I/O failure marks
  // the connection broken: the server may or may not have executed the commands.
  absl::StatusOr<ReplyPtr> RoundTrip(int replies, std::vector<ReplyPtr>* earlier = nullptr) {
    ScopedSigpipeBlock no_sigpipe;
    if (redisAppendFormattedCommand(context_, request_.data(), request_.size()) != REDIS_OK) {
      return Broken();
    }
    ReplyPtr reply;
    for (int n = 0; n < replies; ++n) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return Broken();
      if (reply != nullptr && earlier != nullptr) earlier->push_back(std::move(reply));
      reply.reset(static_cast<redisReply*>(raw));
    }
    return reply;
  }

 private:
  Connection(redisContext* context, std::string address)
      : context_(context), address_(std::move(address)) {}

  absl::Status Broken() {
    broken_ = true;
    std::string why = context_->err != 0 ? context_->errstr : "no reply";
    if (context_->err == REDIS_ERR_IO && (absl::StrContains(why, "temporarily unavailable") ||
                                          absl::StrContains(why, "timed out"))) {
      why = "timed out waiting for the server";
    }
    if (context_->err == REDIS_ERR_PROTOCOL) {
      return absl::InternalError(absl::StrCat("redis at ", address_, ": protocol error: ", why));
    }
    return absl::UnavailableError(absl::StrCat("redis at ", address_, ": ", why));
  }

  redisContext* context_;
  std::string address_;
  std::string request_;  // reused for every request: RESP is written straight into it
  bool broken_ = false;
};

class RedisStore final : public Store {
 public:
  RedisStore(RedisStoreOptions options, std::string script_sha, std::unique_ptr<Connection> first)
      : options_(std::move(options)), script_sha_(std::move(script_sha)) {
    idle_.push_back(std::move(first));
  }

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    ASSIGN_OR_RETURN(ReplyPtr reply, Call({"GET", {options_.key_prefix, key}}));
    return OptionalString(*reply, "GET");
  }

  absl::StatusOr<std::optional<std::string>> HGet(std::string_view key,
                                                  std::string_view field) override {
    ASSIGN_OR_RETURN(ReplyPtr reply, Call({"HGET", {options_.key_prefix, key}, field}));
    return OptionalString(*reply, "HGET");
  }

  absl::StatusOr<std::map<std::string, std::string>> HGetAll(std::string_view key) override {
    ASSIGN_OR_RETURN(ReplyPtr reply, Call({"HGETALL", {options_.key_prefix, key}}));
    return PairsToMap(*reply, "HGETALL");
  }

  absl::StatusOr<std::vector<ScoredMember>> ZRange(std::string_view key,
                                                   const RangeOptions& range) override {
    if (range.offset < 0 || range.limit < -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("ZRange: bad offset ", range.offset, " or limit ", range.limit));
    }
    std::vector<ScoredMember> result;
    char low[24], high[24], offset[24], limit[24];
    const auto text = [](char* buffer, int64_t value) {
      auto [end, ec] = std::to_chars(buffer, buffer + 24, value);
      return std::string_view(buffer, static_cast<size_t>(end - buffer));
    };
    // BYSCORE REV takes the bounds high first.
    std::string_view first = text(low, range.descending ? range.max_score : range.min_score);
    std::string_view second = text(high, range.descending ? range.min_score : range.max_score);
    ASSIGN_OR_RETURN(ReplyPtr reply, range.descending ? Call({"ZRANGE",
                                                              {options_.key_prefix, key},
                                                              first,
                                                              second,
                                                              "BYSCORE",
                                                              "REV",
                                                              "LIMIT",
                                                              text(offset, range.offset),
                                                              text(limit, range.limit),
                                                              "WITHSCORES"})
                                                      : Call({"ZRANGE",
                                                              {options_.key_prefix, key},
                                                              first,
                                                              second,
                                                              "BYSCORE",
                                                              "LIMIT",
                                                              text(offset, range.offset),
                                                              text(limit, range.limit),
                                                              "WITHSCORES"}));
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
      return Unexpected("ZRANGE", *reply);
    }
    if (range.limit == 0) return result;  // Redis reads LIMIT x 0 as "none"; so do we
    result.reserve(reply->elements / 2);
    for (size_t i = 0; i < reply->elements; i += 2) {
      ASSIGN_OR_RETURN(int64_t score, ParseScore(*reply->element[i + 1]));
      result.push_back({std::string(ReplyText(*reply->element[i])), score});
    }
    return result;
  }

  absl::StatusOr<int64_t> ZCount(std::string_view key, int64_t min_score,
                                 int64_t max_score) override {
    char low[24], high[24];
    auto [low_end, e1] = std::to_chars(low, low + sizeof(low), min_score);
    auto [high_end, e2] = std::to_chars(high, high + sizeof(high), max_score);
    ASSIGN_OR_RETURN(ReplyPtr reply,
                     Call({"ZCOUNT",
                           {options_.key_prefix, key},
                           std::string_view(low, static_cast<size_t>(low_end - low)),
                           std::string_view(high, static_cast<size_t>(high_end - high))}));
    if (reply->type != REDIS_REPLY_INTEGER) return Unexpected("ZCOUNT", *reply);
    return static_cast<int64_t>(reply->integer);
  }

  absl::StatusOr<std::optional<int64_t>> ZScore(std::string_view key,
                                                std::string_view member) override {
    ASSIGN_OR_RETURN(ReplyPtr reply, Call({"ZSCORE", {options_.key_prefix, key}, member}));
    if (reply->type == REDIS_REPLY_NIL) return std::nullopt;
    ASSIGN_OR_RETURN(int64_t score, ParseScore(*reply));
    return score;
  }

  absl::Status Commit(const WriteBatch& batch,
                      const std::vector<CheckpointAdvance>& checkpoints) override {
    if (batch.empty() && checkpoints.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(CheckOps(batch));
    ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Acquire());
    std::string& request = connection->request();
    request.clear();
    EncodeCommit(batch, checkpoints, request);
    absl::StatusOr<ReplyPtr> reply = connection->RoundTrip(1);
    if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR &&
        absl::StartsWith(Av(ReplyText(**reply)), "NOSCRIPT")) {
      // The server lost its script cache (a restart, SCRIPT FLUSH). NOSCRIPT means nothing
      // ran: load the script and run the same request, pipelined in one round trip.
      std::string evalsha = std::move(request);
      request.clear();
      AppendArrayHeader(request, 3);
      AppendBulk(request, "SCRIPT");
      AppendBulk(request, "LOAD");
      AppendBulk(request, kCommitScript);
      request.append(evalsha);
      std::vector<ReplyPtr> load;
      reply = connection->RoundTrip(2, &load);
      if (reply.ok() && !load.empty() && load[0]->type == REDIS_REPLY_ERROR) {
        absl::Status failed = ServerError("SCRIPT LOAD", ReplyText(*load[0]));
        Release(std::move(connection));
        return failed;
      }
    }
    if (!reply.ok()) {
      return absl::Status(reply.status().code(),
                          absl::StrCat(reply.status().message(),
                                       " (the commit may or may not have been applied; "
                                       "reload the checkpoints)"));
    }
    Release(std::move(connection));
    const redisReply& result = **reply;
    if (result.type == REDIS_REPLY_ERROR) return ServerError("commit", ReplyText(result));
    if (result.type != REDIS_REPLY_ARRAY || result.elements < 1 ||
        result.element[0]->type != REDIS_REPLY_INTEGER) {
      return Unexpected("commit script", result);
    }
    const long long code = result.element[0]->integer;
    if (code == 0) return absl::OkStatus();
    std::string why = result.elements > 1 && result.element[1]->type == REDIS_REPLY_STRING
                          ? std::string(ReplyText(*result.element[1]))
                          : "(no reason given)";
    if (code == 1) return absl::AbortedError(absl::StrCat("commit fenced: ", why));
    return absl::InvalidArgumentError(absl::StrCat("commit rejected, nothing applied: ", why));
  }

  absl::StatusOr<std::vector<Checkpoint>> LoadCheckpoints(std::string_view projection) override {
    ASSIGN_OR_RETURN(ReplyPtr reply, Call({"HGETALL", {CheckpointKey(projection)}}));
    ASSIGN_OR_RETURN(auto fields, PairsToMap(*reply, "HGETALL checkpoints"));
    std::vector<Checkpoint> result;
    result.reserve(fields.size());
    for (const auto& [field, value] : fields) {
      Checkpoint checkpoint;
      checkpoint.projection = std::string(projection);
      const size_t colon = field.rfind(':');
      if (colon == std::string::npos ||
          !absl::SimpleAtoi(absl::string_view(field).substr(colon + 1), &checkpoint.partition) ||
          !absl::SimpleAtoi(value, &checkpoint.next_offset)) {
        return absl::DataLossError(absl::StrCat("malformed checkpoint \"", field, "\" = \"", value,
                                                "\" in ", CheckpointKey(projection)));
      }
      checkpoint.topic = field.substr(0, colon);
      result.push_back(std::move(checkpoint));
    }
    std::sort(result.begin(), result.end(), [](const Checkpoint& a, const Checkpoint& b) {
      return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });
    return result;
  }

 private:
  std::string CheckpointKey(std::string_view projection) const {
    return absl::StrCat(options_.key_prefix, Av(kCheckpointKeyPrefix), Av(projection));
  }

  // Checks what the script need not: scores Redis can hold exactly, and keys that would
  // collide with the checkpoint hashes.
  static absl::Status CheckOps(const WriteBatch& batch) {
    for (const WriteBatch::Op& op : batch.ops()) {
      const std::string& key =
          std::visit([](const auto& o) -> const std::string& { return o.key; }, op);
      if (key.compare(0, kCheckpointKeyPrefix.size(), kCheckpointKeyPrefix) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("key \"", key,
                                                       "\" is reserved for checkpoints (prefix \"",
                                                       Av(kCheckpointKeyPrefix), "\")"));
      }
      if (const auto* zadd = std::get_if<struct WriteBatch::ZAdd>(&op)) {
        if (zadd->score < kMinScore || zadd->score > kMaxScore) {
          return absl::InvalidArgumentError(absl::StrCat("ZADD score ", zadd->score, " for key \"",
                                                         zadd->key, "\" is outside [-2^53, 2^53]"));
        }
      }
    }
    return absl::OkStatus();
  }

  void EncodeCommit(const WriteBatch& batch, const std::vector<CheckpointAdvance>& checkpoints,
                    std::string& out) const {
    size_t argc = 3 + 1 + 4 * checkpoints.size();  // EVALSHA sha 0 C ...
    size_t bytes = 64;
    for (const WriteBatch::Op& op : batch.ops()) {
      std::visit(
          [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            bytes += 48 + options_.key_prefix.size() + o.key.size();
            if constexpr (std::is_same_v<T, struct WriteBatch::Set>) {
              argc += 3;
              bytes += o.value.size();
            } else if constexpr (std::is_same_v<T, struct WriteBatch::Del>) {
              argc += 2;
            } else if constexpr (std::is_same_v<T, struct WriteBatch::HSet>) {
              argc += 4;
              bytes += o.field.size() + o.value.size();
            } else if constexpr (std::is_same_v<T, struct WriteBatch::HDel>) {
              argc += 3;
              bytes += o.field.size();
            } else if constexpr (std::is_same_v<T, struct WriteBatch::HIncrBy>) {
              argc += 4;
              bytes += o.field.size() + 20;
            } else if constexpr (std::is_same_v<T, struct WriteBatch::ZAdd>) {
              argc += 4;
              bytes += o.member.size() + 20;
            } else {
              argc += 3;
              bytes += o.member.size();
            }
          },
          op);
    }
    out.reserve(bytes);
    AppendArrayHeader(out, argc);
    AppendBulk(out, "EVALSHA");
    AppendBulk(out, script_sha_);
    AppendBulk(out, "0");
    AppendBulkNumber(out, static_cast<int64_t>(checkpoints.size()));
    std::string field;
    for (const CheckpointAdvance& advance : checkpoints) {
      AppendBulk(out, CheckpointKey(advance.projection));
      field.assign(advance.topic);
      field.push_back(':');
      AppendNumberText(field, advance.partition);
      AppendBulk(out, field);
      AppendBulkNumber(out, advance.expected_offset);
      AppendBulkNumber(out, advance.next_offset);
    }
    const std::string_view prefix = options_.key_prefix;
    for (const WriteBatch::Op& op : batch.ops()) {
      std::visit(
          [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, struct WriteBatch::Set>) {
              AppendBulk(out, "S");
              AppendBulk(out, prefix, o.key);
              AppendBulk(out, o.value);
            } else if constexpr (std::is_same_v<T, struct WriteBatch::Del>) {
              AppendBulk(out, "D");
              AppendBulk(out, prefix, o.key);
            } else if constexpr (std::is_same_v<T, struct WriteBatch::HSet>) {
              AppendBulk(out, "H");
              AppendBulk(out, prefix, o.key);
              AppendBulk(out, o.field);
              AppendBulk(out, o.value);
            } else if constexpr (std::is_same_v<T, struct WriteBatch::HDel>) {
              AppendBulk(out, "X");
              AppendBulk(out, prefix, o.key);
              AppendBulk(out, o.field);
            } else if constexpr (std::is_same_v<T, struct WriteBatch::HIncrBy>) {
              AppendBulk(out, "I");
              AppendBulk(out, prefix, o.key);
              AppendBulk(out, o.field);
              AppendBulkNumber(out, o.delta);
            } else if constexpr (std::is_same_v<T, struct WriteBatch::ZAdd>) {
              AppendBulk(out, "Z");
              AppendBulk(out, prefix, o.key);
              AppendBulk(out, o.member);
              AppendBulkNumber(out, o.score);
            } else {
              AppendBulk(out, "R");
              AppendBulk(out, prefix, o.key);
              AppendBulk(out, o.member);
            }
          },
          op);
    }
  }

  absl::StatusOr<std::unique_ptr<Connection>> Acquire() {
    {
      absl::MutexLock lock(&pool_mu_);
      while (!idle_.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle_.back());
        idle_.pop_back();
        if (connection->LooksReusable()) return connection;
      }
    }
    return Connection::Open(options_);
  }

  void Release(std::unique_ptr<Connection> connection) {
    if (connection->broken()) return;  // closed here; the next call connects afresh
    absl::MutexLock lock(&pool_mu_);
    if (static_cast<int>(idle_.size()) < std::max(1, options_.max_idle_connections)) {
      idle_.push_back(std::move(connection));
    }
  }

  // A read-only command. A pooled connection that fails on I/O is retried once on a fresh
  // one: repeating a read is harmless, and it hides a restart the pool had not noticed.
  absl::StatusOr<ReplyPtr> Call(std::initializer_list<Arg> args) {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Acquire());
      std::string& request = connection->request();
      request.clear();
      AppendArrayHeader(request, args.size());
      for (const Arg& arg : args) AppendBulk(request, arg.head, arg.tail);
      absl::StatusOr<ReplyPtr> reply = connection->RoundTrip(1);
      if (!reply.ok()) {
        if (attempt == 0 && absl::IsUnavailable(reply.status())) continue;
        return reply.status();
      }
      Release(std::move(connection));
      if ((*reply)->type == REDIS_REPLY_ERROR) {
        return ServerError(args.begin()->head, ReplyText(**reply));
      }
      return reply;
    }
  }

  static absl::Status Unexpected(std::string_view command, const redisReply& reply) {
    return absl::InternalError(
        absl::StrCat("redis ", Av(command), ": unexpected reply of type ", reply.type));
  }

  static absl::StatusOr<std::optional<std::string>> OptionalString(const redisReply& reply,
                                                                   std::string_view command) {
    if (reply.type == REDIS_REPLY_NIL) return std::nullopt;
    if (reply.type != REDIS_REPLY_STRING) return Unexpected(command, reply);
    return std::string(ReplyText(reply));
  }

  static absl::StatusOr<std::map<std::string, std::string>> PairsToMap(const redisReply& reply,
                                                                       std::string_view command) {
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements % 2 != 0) {
      return Unexpected(command, reply);
    }
    std::map<std::string, std::string> result;
    for (size_t i = 0; i < reply.elements; i += 2) {
      result.emplace(ReplyText(*reply.element[i]), ReplyText(*reply.element[i + 1]));
    }
    return result;
  }

  // Redis prints scores with %.17g; integers up to 2^53 come back as plain digits.
  static absl::StatusOr<int64_t> ParseScore(const redisReply& reply) {
    if (reply.type != REDIS_REPLY_STRING) return Unexpected("score", reply);
    const absl::string_view text = Av(ReplyText(reply));
    int64_t score = 0;
    if (absl::SimpleAtoi(text, &score)) return score;
    double value = 0;
    if (absl::SimpleAtod(text, &value) && value >= static_cast<double>(kMinScore) &&
        value <= static_cast<double>(kMaxScore) &&
        value == static_cast<double>(static_cast<int64_t>(value))) {
      return static_cast<int64_t>(value);
    }
    return absl::DataLossError(absl::StrCat("sorted-set score \"", text, "\" is not an integer"));
  }

  const RedisStoreOptions options_;
  const std::string script_sha_;
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRedisStore(const RedisStoreOptions& options) {
  if (options.port <= 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad redis port ", options.port));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(options));
  std::string& request = connection->request();
  request.clear();
  AppendArrayHeader(request, 3);
  AppendBulk(request, "SCRIPT");
  AppendBulk(request, "LOAD");
  AppendBulk(request, kCommitScript);
  ASSIGN_OR_RETURN(ReplyPtr reply, connection->RoundTrip(1));
  if (reply->type == REDIS_REPLY_ERROR) {
    return ServerError(absl::StrCat(connection->address(), " SCRIPT LOAD"), ReplyText(*reply));
  }
  if (reply->type != REDIS_REPLY_STRING) {
    return absl::InternalError("redis SCRIPT LOAD: unexpected reply");
  }
  std::string sha(ReplyText(*reply));
  return std::unique_ptr<Store>(new RedisStore(options, std::move(sha), std::move(connection)));
}

}  // namespace ar::store
