#include "libs/command/command_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/projection/counting_handler.h"
#include "libs/store/memory_store.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

namespace ar::command {
namespace {

constexpr char kTopic[] = "ar.test.events";

// A command's result as the test saw it: every CommandDone call is counted, so a second
// call shows up.
struct Outcome {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::optional<absl::StatusOr<v1::CommandResult>> result;
  // Whether the read model had applied the command's record when the result arrived.
  bool applied_when_done = false;

  bool done() { return calls.load() > 0; }
  absl::StatusOr<v1::CommandResult> Get() {
    std::lock_guard lock(mu);
    return result.value_or(absl::InternalError("no result"));
  }
};

class CommandExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventlog::EmbeddedLogOptions options;
    options.data_dir = dir_.path();
    auto log = eventlog::OpenEmbeddedLog(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    ASSERT_TRUE(log_->CreateTopic({kTopic, 4}).ok());
    ASSERT_TRUE(log_->CreateTopic({"ar.deadletter", 1}).ok());
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    store_ = store::NewMemoryStore();
    projection::ProjectionOptions projection_options;
    projection_options.name = "counting";
    projection_options.topics = {kTopic};
    projection_options.use_consumer_group = false;
    projection_options.poll_timeout = absl::Milliseconds(20);
    runner_ = std::make_unique<projection::ProjectionRunner>(*log_, *store_, handler_,
                                                             projection_options);
  }

  void TearDown() override {
    // The executor's callbacks come from the producer: it goes first, then the executor.
    if (producer_) producer_->Stop(absl::Seconds(5));
    executor_.reset();
    if (runner_) runner_->Stop();
  }

  CommandExecutor& Executor(absl::Duration catch_up_timeout = absl::Seconds(10)) {
    CommandExecutor::Options options;
    options.topic = kTopic;
    options.catch_up_timeout = catch_up_timeout;
    executor_ = std::make_unique<CommandExecutor>(*producer_, *runner_, options);
    return *executor_;
  }

  // Events the read model has counted for `account`.
  int64_t Count(const std::string& account) {
    auto value = store_->HGet(projection::CountingHandler::kCountsKey, account);
    int64_t count = 0;
    if (value.ok() && value->has_value()) {
      EXPECT_TRUE(absl::SimpleAtoi(**value, &count));
    }
    return count;
  }

  static Decision OneEvent(const std::string& account, const std::string& command_id) {
    Decision decision;
    decision.command_id = command_id;
    v1::Event event;
    event.set_event_id(command_id + "-0");
    event.set_tenant("t1");
    event.set_account(account);
    event.mutable_business_day_closed()->mutable_date()->set_year(2027);
    decision.events.push_back(std::move(event));
    return decision;
  }

  CommandDone Record(Outcome& outcome) {
    return [this, &outcome](absl::StatusOr<v1::CommandResult> result) {
      std::lock_guard lock(outcome.mu);
      if (result.ok()) {
        const v1::LogPosition& position = result->position();
        outcome.applied_when_done =
            runner_->CommittedOffset({position.topic(), position.partition()}) > position.offset();
      }
      outcome.result = std::move(result);
      ++outcome.calls;
    };
  }

  int64_t EndOffsets() {
    int64_t total = 0;
    for (int32_t p = 0; p < 4; ++p) total += log_->EndOffset({kTopic, p}).value_or(0);
    return total;
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<store::Store> store_;
  projection::CountingHandler handler_;
  std::unique_ptr<projection::ProjectionRunner> runner_;
  std::unique_ptr<CommandExecutor> executor_;
};

TEST_F(CommandExecutorTest, CompletesOnceAfterTheReadModelAppliedTheRecord) {
  ASSERT_TRUE(runner_->Start().ok());
  CommandExecutor& executor = Executor();
  Outcome outcome;
  executor.ExecuteAsync(
      "t1", "a", [] { return OneEvent("a", "c1"); }, Record(outcome));
  ASSERT_TRUE(ar::testing::WaitFor([&] { return outcome.done(); }, absl::Seconds(10)));
  absl::StatusOr<v1::CommandResult> result = outcome.Get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->position().topic(), kTopic);
  ASSERT_EQ(result->event_ids_size(), 1);
  EXPECT_EQ(result->event_ids(0), "c1-0");
  EXPECT_TRUE(outcome.applied_when_done);
  EXPECT_EQ(Count("a"), 1);
  // Stopping everything flushes whatever could still call back: nothing does.
  TearDown();
  EXPECT_EQ(outcome.calls.load(), 1);
}

TEST_F(CommandExecutorTest, DecideErrorsComeBackAsTheyAreAndPublishNothing) {
  ASSERT_TRUE(runner_->Start().ok());
  CommandExecutor& executor = Executor();
  Outcome outcome;
  executor.ExecuteAsync(
      "t1", "a",
      []() -> absl::StatusOr<Decision> { return absl::FailedPreconditionError("credit hold"); },
      Record(outcome));
  // An error decided on the caller's thread is answered before ExecuteAsync returns.
  ASSERT_TRUE(outcome.done());
  EXPECT_EQ(outcome.Get().status(), absl::FailedPreconditionError("credit hold"));
  // The account is free again: the next command runs.
  absl::StatusOr<v1::CommandResult> next =
      executor.Execute("t1", "a", [] { return OneEvent("a", "c2"); });
  EXPECT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(EndOffsets(), 1);
}

TEST_F(CommandExecutorTest, LogRefusingTheRecordIsUnavailable) {
  ASSERT_TRUE(runner_->Start().ok());
  CommandExecutor& executor = Executor();
  producer_->Stop(absl::Seconds(1));
  Outcome outcome;
  executor.ExecuteAsync(
      "t1", "a", [] { return OneEvent("a", "c1"); }, Record(outcome));
  ASSERT_TRUE(ar::testing::WaitFor([&] { return outcome.done(); }, absl::Seconds(10)));
  EXPECT_EQ(outcome.Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(outcome.calls.load(), 1);
}

TEST_F(CommandExecutorTest, RepeatIsAnsweredFromTheOriginalResultAndPublishesNothing) {
  ASSERT_TRUE(runner_->Start().ok());
  CommandExecutor& executor = Executor();
  // The decision of an idempotent command: a repeat when the read model shows it applied.
  std::optional<v1::CommandResult> original;
  auto decide = [&]() -> absl::StatusOr<Decision> {
    if (Count("a") > 0) {
      Decision repeat;
      repeat.duplicate_of = original;
      return repeat;
    }
    return OneEvent("a", "c1");
  };
  Outcome first, second;
  executor.ExecuteAsync("t1", "a", decide, Record(first));
  ASSERT_TRUE(ar::testing::WaitFor([&] { return first.done(); }, absl::Seconds(10)));
  ASSERT_TRUE(first.Get().ok()) << first.Get().status();
  original = *first.Get();
  executor.ExecuteAsync("t1", "a", decide, Record(second));
  ASSERT_TRUE(ar::testing::WaitFor([&] { return second.done(); }, absl::Seconds(10)));
  ASSERT_TRUE(second.Get().ok()) << second.Get().status();
  EXPECT_EQ(second.Get()->SerializeAsString(), original->SerializeAsString());
  EXPECT_EQ(EndOffsets(), 1);
  EXPECT_EQ(Count("a"), 1);
}

TEST_F(CommandExecutorTest, CommandsOfAnAccountRunInOrderAndSeeEachOther) {
  ASSERT_TRUE(runner_->Start().ok());
  CommandExecutor& executor = Executor();
  constexpr int kCommands = 30;
  const std::vector<std::string> accounts = {"a", "b", "c"};
  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> seen;   // read-model count each decide saw
  std::map<std::string, std::vector<int>> completed;  // command numbers in done order
  std::map<std::string, std::atomic<int>> running;    // decides running per account
  for (const std::string& account : accounts) running[account] = 0;
  std::atomic<int> done_count{0};
  std::atomic<bool> overlapped{false};
  // All submitted at once from one thread: most wait in their account's queue.
  for (int i = 0; i < kCommands; ++i) {
    for (const std::string& account : accounts) {
      executor.ExecuteAsync(
          "t1", account,
          [&, account, i]() -> absl::StatusOr<Decision> {
            if (++running[account] > 1) overlapped = true;
            const int64_t count = Count(account);
            {
              std::lock_guard lock(mu);
              seen[account].push_back(count);
            }
            --running[account];
            return OneEvent(account, absl::StrCat(account, "-", i));
          },
          [&, account, i](absl::StatusOr<v1::CommandResult> result) {
            EXPECT_TRUE(result.ok()) << result.status();
            {
              std::lock_guard lock(mu);
              completed[account].push_back(i);
            }
            ++done_count;
          });
    }
  }
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] { return done_count.load() == kCommands * static_cast<int>(accounts.size()); },
      absl::Seconds(20)));
  EXPECT_FALSE(overlapped.load());
  std::vector<int64_t> expected_seen;
  std::vector<int> expected_order;
  for (int i = 0; i < kCommands; ++i) {
    expected_seen.push_back(i);
    expected_order.push_back(i);
  }
  std::lock_guard lock(mu);
  for (const std::string& account : accounts) {
    EXPECT_EQ(seen[account], expected_seen) << account;
    EXPECT_EQ(completed[account], expected_order) << account;
  }
}

TEST_F(CommandExecutorTest, AccountWaitsForItsLaggingReadModelOthersDoNot) {
  // The read model applies nothing until it is started below.
  CommandExecutor& executor = Executor(absl::Milliseconds(100));
  absl::StatusOr<v1::CommandResult> first =
      executor.Execute("t1", "a", [] { return OneEvent("a", "c1"); });
  // Published: the command succeeds although its read model did not apply it in time.
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(EndOffsets(), 1);
  bool decided = false;
  absl::StatusOr<v1::CommandResult> second = executor.Execute("t1", "a", [&] {
    decided = true;
    return OneEvent("a", "c2");
  });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_FALSE(decided);
  // Other accounts are not held up by it.
  Outcome other;
  executor.ExecuteAsync(
      "t1", "b", [] { return OneEvent("b", "c3"); }, Record(other));
  ASSERT_TRUE(ar::testing::WaitFor([&] { return other.done(); }, absl::Seconds(10)));
  EXPECT_TRUE(other.Get().ok()) << other.Get().status();

  ASSERT_TRUE(runner_->Start().ok());
  absl::StatusOr<v1::CommandResult> third = executor.Execute("t1", "a", [&] {
    EXPECT_EQ(Count("a"), 1);  // decided on a read model that holds the first command
    return OneEvent("a", "c4");
  });
  EXPECT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(Count("a"), 2);
}

TEST_F(CommandExecutorTest, DestroyingTheExecutorCompletesQueuedCommands) {
  // No read model running: the first command waits for it, the others queue behind.
  CommandExecutor& executor = Executor(absl::Seconds(30));
  std::vector<std::unique_ptr<Outcome>> outcomes;
  for (int i = 0; i < 3; ++i) {
    outcomes.push_back(std::make_unique<Outcome>());
    executor.ExecuteAsync(
        "t1", "a", [i] { return OneEvent("a", absl::StrCat("c", i)); }, Record(*outcomes.back()));
  }
  ASSERT_TRUE(ar::testing::WaitFor([&] { return EndOffsets() == 1; }, absl::Seconds(10)));
  EXPECT_FALSE(outcomes[0]->done());
  producer_->Stop(absl::Seconds(5));
  executor_.reset();
  // The first is published (a success), the ones behind it could not know their read
  // model was current: UNAVAILABLE, try again.
  for (auto& outcome : outcomes) EXPECT_EQ(outcome->calls.load(), 1);
  EXPECT_TRUE(outcomes[0]->Get().ok()) << outcomes[0]->Get().status();
  EXPECT_EQ(outcomes[1]->Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(outcomes[2]->Get().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ar::command
