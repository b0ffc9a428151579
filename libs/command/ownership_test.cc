#include "libs/command/ownership.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace ar::command {
namespace {

using State = OwnershipTable::State;

TEST(OwnershipTableTest, AssignedPartitionIsRefusedUntilCaughtUp) {
  OwnershipTable table;
  EXPECT_TRUE(absl::IsUnavailable(table.Acquire(3)));
  const uint64_t token = table.Assign(3);
  EXPECT_EQ(table.state(3), State::kCatchingUp);
  EXPECT_FALSE(table.Settled());
  EXPECT_TRUE(absl::IsUnavailable(table.Acquire(3)));
  EXPECT_TRUE(table.MarkCaughtUp(3, token));
  EXPECT_TRUE(table.Settled());
  EXPECT_TRUE(table.Acquire(3).ok());
  EXPECT_EQ(table.in_flight(3), 1);
  table.Release(3);
  EXPECT_EQ(table.in_flight(3), 0);
}

TEST(OwnershipTableTest, CatchUpOfAnEarlierAssignmentDoesNotOwn) {
  OwnershipTable table;
  const uint64_t first = table.Assign(1);
  EXPECT_TRUE(table.Revoke(1, absl::Now()));
  const uint64_t second = table.Assign(1);
  EXPECT_FALSE(table.MarkCaughtUp(1, first));
  EXPECT_EQ(table.state(1), State::kCatchingUp);
  EXPECT_FALSE(table.IsCurrent(1, first));
  EXPECT_TRUE(table.MarkCaughtUp(1, second));
  EXPECT_EQ(table.state(1), State::kOwned);
}

TEST(OwnershipTableTest, RevokeRefusesNewCommandsAndWaitsForThoseInFlight) {
  OwnershipTable table;
  ASSERT_TRUE(table.MarkCaughtUp(0, table.Assign(0)));
  ASSERT_TRUE(table.Acquire(0).ok());
  std::atomic<bool> revoked{false};
  std::thread revoker([&] {
    EXPECT_TRUE(table.Revoke(0, absl::Now() + absl::Seconds(30)));
    revoked = true;
  });
  // Refused as soon as the revocation started, while the earlier command is still out.
  while (table.state(0) != State::kNotOwned) std::this_thread::yield();
  EXPECT_TRUE(absl::IsUnavailable(table.Acquire(0)));
  EXPECT_FALSE(revoked.load());
  table.Release(0);
  revoker.join();
  EXPECT_TRUE(revoked.load());
}

TEST(OwnershipTableTest, RevokeGivesUpAtItsDeadline) {
  OwnershipTable table;
  ASSERT_TRUE(table.MarkCaughtUp(2, table.Assign(2)));
  ASSERT_TRUE(table.Acquire(2).ok());
  EXPECT_FALSE(table.Revoke(2, absl::Now() + absl::Milliseconds(20)));
  EXPECT_EQ(table.state(2), State::kNotOwned);
  table.Release(2);  // the straggler's release is harmless
  EXPECT_EQ(table.in_flight(2), 0);
}

TEST(OwnershipTableTest, PartitionsAreIndependent) {
  OwnershipTable table;
  ASSERT_TRUE(table.MarkCaughtUp(0, table.Assign(0)));
  table.Assign(1);
  EXPECT_TRUE(table.Acquire(0).ok());
  EXPECT_TRUE(absl::IsUnavailable(table.Acquire(1)));
  EXPECT_FALSE(table.WaitSettled(absl::Now() + absl::Milliseconds(10)));
  table.Release(0);
}

}  // namespace
}  // namespace ar::command
