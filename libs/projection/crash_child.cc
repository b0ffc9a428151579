// Runs the counting projection until it has applied `--records` records, dying by SIGKILL
// right before a store commit once in `--crash-one-in` commits. The crash test starts it
// again and again; what the store holds at the end must count every event exactly once.
//
//   projection_crash_child --log embedded:<data dir>|kafka:<bootstrap> --store memory|redis:<port>
//       --topic T --records N --crash-one-in K --seed S [--group] [--result FILE]
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "libs/projection/counting_handler.h"
#include "libs/servicekit/backends.h"

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "crash_child: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name == "--group") {
      flags["group"] = "1";
    } else if (i + 1 < argc) {
      flags[name.substr(2)] = argv[++i];
    }
  }
  int64_t records = 0, crash_one_in = 0, seed = 0;
  if (!absl::SimpleAtoi(flags["records"], &records) ||
      !absl::SimpleAtoi(flags["crash-one-in"], &crash_one_in) ||
      !absl::SimpleAtoi(flags["seed"], &seed)) {
    std::fprintf(stderr, "crash_child: bad flags\n");
    return 2;
  }

  ar::servicekit::BackendSettings settings;
  const std::string& log_spec = flags["log"];
  if (absl::StartsWith(log_spec, "embedded:")) {
    settings.log_backend = "embedded";
    settings.data_dir = log_spec.substr(9);
  } else {
    settings.log_backend = "kafka";
    settings.kafka_brokers = log_spec.substr(6);
  }
  if (flags["store"] != "memory") {
    settings.store_backend = "redis";
    settings.redis_address = "127.0.0.1:" + flags["store"].substr(6);
  }
  auto log = ar::servicekit::OpenEventLog(settings);
  if (!log.ok()) return Fail("open log", log.status());
  auto store = ar::servicekit::OpenStore(settings);
  if (!store.ok()) return Fail("open store", store.status());

  std::mt19937_64 random(static_cast<uint64_t>(seed));
  ar::projection::ProjectionOptions options;
  options.name = "crash-counting";
  options.topics = {flags["topic"]};
  options.use_consumer_group = flags.count("group") > 0;
  options.max_records_per_batch = 1 + static_cast<int>(random() % 40);
  options.poll_timeout = absl::Milliseconds(50);
  options.retry_backoff = absl::Milliseconds(20);
  options.before_commit_hook = [&] {
    if (crash_one_in > 0 && random() % static_cast<uint64_t>(crash_one_in) == 0) {
      // Writes are applied to the batch but not committed: the worst moment to die.
      kill(getpid(), SIGKILL);
    }
  };
  ar::projection::CountingHandler handler;
  ar::projection::ProjectionRunner runner(**log, **store, handler, options);
  if (absl::Status opened = runner.Open(); !opened.ok()) return Fail("open projection", opened);

  auto applied = [&]() -> absl::StatusOr<int64_t> {
    auto checkpoints = (*store)->LoadCheckpoints(options.name);
    if (!checkpoints.ok()) return checkpoints.status();
    int64_t total = 0;
    for (const auto& c : *checkpoints) total += c.next_offset;
    return total;
  };
  while (true) {
    auto done = applied();
    if (done.ok() && *done >= records) break;
    auto ran = runner.RunOnce();
    if (!ran.ok() && !absl::IsAborted(ran.status()) && !absl::IsUnavailable(ran.status())) {
      return Fail("run", ran.status());
    }
  }
  if (flags.count("result")) {
    auto counts = (*store)->HGetAll(ar::projection::CountingHandler::kCountsKey);
    if (!counts.ok()) return Fail("read counts", counts.status());
    std::ofstream out(flags["result"] + ".tmp");
    for (const auto& [account, n] : *counts) out << account << " " << n << "\n";
    out.close();
    std::rename((flags["result"] + ".tmp").c_str(), flags["result"].c_str());
  }
  runner.Stop();
  return 0;
}
