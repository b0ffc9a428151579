// A counting projection is killed with SIGKILL between apply and commit many times, on
// both log backends and both stores; in the end every event is counted exactly once.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "libs/eventlog/embedded_log.h"
#include "libs/eventlog/kafka_log.h"
#include "libs/eventlog/kafka_mock_cluster.h"
#include "libs/projection/counting_handler.h"
#include "libs/store/redis_store.h"
#include "libs/testing/child_process.h"
#include "libs/testing/redis_server.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

namespace ar::projection {
namespace {

constexpr char kTopic[] = "ar.crash.events";
constexpr int kRecords = 1500;
constexpr int kPartitions = 4;

struct CrashCase {
  std::string log;    // "Embedded" or "Kafka"
  std::string store;  // "Memory" or "Redis"
  friend void PrintTo(const CrashCase& c, std::ostream* os) { *os << c.log << "+" << c.store; }
};

std::string ChildBinary() {
  const char* dir = std::getenv("AR_TEST_BINARY_DIR");
  return std::string(dir ? dir : ".") + "/projection_crash_child";
}

class ProjectionCrashTest : public ::testing::TestWithParam<CrashCase> {
 protected:
  void SetUp() override {
    std::unique_ptr<eventlog::EventLog> log;
    if (GetParam().log == "Kafka") {
      auto cluster = eventlog::KafkaMockCluster::Start(3);
      ASSERT_TRUE(cluster.ok()) << cluster.status();
      cluster_ = std::move(*cluster);
      eventlog::KafkaLogOptions options = cluster_->ClientOptions();
      auto opened = eventlog::OpenKafkaLog(options);
      ASSERT_TRUE(opened.ok()) << opened.status();
      log = std::move(*opened);
      log_spec_ = "kafka:" + cluster_->bootstraps();
    } else {
      eventlog::EmbeddedLogOptions options;
      options.data_dir = dir_.Join("log");
      options.create_if_missing = true;
      auto opened = eventlog::OpenEmbeddedLog(options);
      ASSERT_TRUE(opened.ok()) << opened.status();
      log = std::move(*opened);
      log_spec_ = "embedded:" + dir_.path();  // the child opens <data dir>/log
    }
    ASSERT_TRUE(log->CreateTopic({kTopic, kPartitions}).ok());
    // Created here: a child cannot create topics on the mock cluster, which has no
    // CreateTopics API.
    ASSERT_TRUE(log->CreateTopic({"ar.deadletter", 1}).ok());
    auto producer = log->NewProducer();
    ASSERT_TRUE(producer.ok()) << producer.status();
    std::mt19937 random(7);
    for (int i = 0; i < kRecords; ++i) {
      std::string account = "acct-" + std::to_string(random() % 37);
      int events = 1 + static_cast<int>(random() % 3);
      expected_[account] += events;
      (*producer)->Append(
          kTopic, account, MakeCountingRecord(account, events, i),
          [](absl::StatusOr<eventlog::LogPosition> r) { EXPECT_TRUE(r.ok()) << r.status(); });
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(60)).ok());
    (*producer)->Stop(absl::Seconds(5));
    // The embedded log admits one process at a time: the children open it after us.

    if (GetParam().store == "Redis") {
      ASSERT_TRUE(redis_.Start().ok());
      store::RedisStoreOptions options;
      options.host = redis_.host();
      options.port = redis_.port();
      auto store = store::OpenRedisStore(options);
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(*store);
      store_spec_ = "redis:" + std::to_string(redis_.port());
    } else {
      store_spec_ = "memory";
    }
  }

  testing::ChildProcess RunChild(int crash_one_in, int seed, const std::string& result = "") {
    std::vector<std::string> argv = {ChildBinary(),
                                     "--log",
                                     log_spec_,
                                     "--store",
                                     store_spec_,
                                     "--topic",
                                     kTopic,
                                     "--records",
                                     std::to_string(kRecords),
                                     "--crash-one-in",
                                     std::to_string(crash_one_in),
                                     "--seed",
                                     std::to_string(seed)};
    if (!result.empty()) {
      argv.push_back("--result");
      argv.push_back(result);
    }
    return testing::ChildProcess::Exec(argv);
  }

  int64_t CommittedRecords() {
    auto checkpoints = store_->LoadCheckpoints("crash-counting");
    if (!checkpoints.ok()) return -1;
    int64_t total = 0;
    for (const auto& c : *checkpoints) total += c.next_offset;
    return total;
  }

  std::map<std::string, int64_t> ReadCounts(const std::string& result_file) {
    std::map<std::string, int64_t> counts;
    if (store_) {
      auto all = store_->HGetAll(CountingHandler::kCountsKey);
      EXPECT_TRUE(all.ok()) << all.status();
      if (all.ok()) {
        for (const auto& [k, v] : *all) counts[k] = std::stoll(v);
      }
    } else {
      std::ifstream in(result_file);
      std::string account;
      int64_t n;
      while (in >> account >> n) counts[account] = n;
    }
    return counts;
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::KafkaMockCluster> cluster_;
  testing::RedisServer redis_;
  std::unique_ptr<store::Store> store_;
  std::string log_spec_, store_spec_;
  std::map<std::string, int64_t> expected_;
};

TEST_P(ProjectionCrashTest, CountsExactlyOnceAcrossManySigkills) {
  constexpr int kSigkilledRunsWanted = 12;
  int sigkilled = 0;
  std::mt19937 random(11);
  // Runs that die by their own hand right before a commit, and (with Redis, where the
  // parent can watch progress) runs the parent kills at a random point of progress.
  for (int run = 0; sigkilled < kSigkilledRunsWanted && run < 200; ++run) {
    testing::ChildProcess child = RunChild(/*crash_one_in=*/4, /*seed=*/run);
    if (store_ && run % 2 == 1) {
      int64_t target = CommittedRecords() + 1 + static_cast<int64_t>(random() % 200);
      ASSERT_TRUE(testing::WaitFor(
          [&] { return child.HasExited() || CommittedRecords() >= target; }, absl::Seconds(60)));
      child.Kill(SIGKILL);
    }
    int code = child.Wait();
    ASSERT_TRUE(code == 0 || code == 128 + SIGKILL) << "child failed with exit code " << code;
    if (code == 128 + SIGKILL) ++sigkilled;
  }
  EXPECT_GE(sigkilled, kSigkilledRunsWanted);

  // A last run without crashes brings the projection to the end of the log.
  std::string result = dir_.Join("counts.txt");
  testing::ChildProcess last = RunChild(/*crash_one_in=*/0, /*seed=*/999, result);
  ASSERT_EQ(last.Wait(), 0);
  EXPECT_EQ(ReadCounts(result), expected_);
  if (store_) {
    EXPECT_EQ(CommittedRecords(), kRecords);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ProjectionCrashTest,
                         ::testing::Values(CrashCase{"Embedded", "Memory"},
                                           CrashCase{"Embedded", "Redis"},
                                           CrashCase{"Kafka", "Memory"},
                                           CrashCase{"Kafka", "Redis"}),
                         [](const ::testing::TestParamInfo<CrashCase>& info) {
                           return info.param.log + info.param.store;
                         });

}  // namespace
}  // namespace ar::projection
