// The clock end to end: embedded log in a temp dir, memory store, the gRPC API through a
// real channel on a free loopback port.
#include "services/clock/clock_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ar/v1/clock.grpc.pb.h"
#include "libs/core/dates.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

namespace ar::clock {
namespace {

using ::testing::HasSubstr;

// The instant the tests' wall clock shows; moved by the tests.
absl::Time g_now;

absl::Time Utc(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), absl::UTCTimeZone());
}

class ClockServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_now = Utc(2027, 3, 31, 20, 0);
    store_ = store::NewMemoryStore();
    OpenLog();
    StartClock();
  }

  void OpenLog() {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }

  void StartClock(bool starts_regions = true, bool wall_clock = false) {
    ClockOptions options;
    auto regions = ParseRegionZones("apac=Asia/Shanghai,us=America/New_York");
    ASSERT_TRUE(regions.ok());
    options.regions = *regions;
    options.wall_clock = wall_clock;  // off: passes are run by the tests (CloseEndedDays)
    options.wall_clock_starts_regions = starts_regions;
    options.now = [] { return g_now; };
    options.topic_partitions = 2;
    options.read_wait_timeout = absl::Milliseconds(300);
    auto clock = ClockService::Create(*log_, *store_, options);
    ASSERT_TRUE(clock.ok()) << clock.status();
    clock_ = *std::move(clock);
    server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server_->AddService(clock_->grpc_service());
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_TRUE(clock_->Start().ok());
    stub_ = v1::ClockService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  void StopClock() {
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (clock_) clock_->Stop();
    server_.reset();
    clock_.reset();
  }

  void TearDown() override { StopClock(); }

  grpc::Status Advance(const std::string& region, v1::Date to_date,
                       v1::AdvanceBusinessDayResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::AdvanceBusinessDayRequest request;
    request.set_region(region);
    *request.mutable_to_date() = to_date;
    return stub_->AdvanceBusinessDay(&context, request, response);
  }

  // (region, date) of every BusinessDayClosed in the log, in log order per partition.
  std::vector<std::pair<std::string, std::string>> ClosedInLog() {
    auto events = testing::ReadEvents(*log_, topics::kClock);
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<std::pair<std::string, std::string>> closed;
    for (const v1::Event& event : *events) {
      closed.emplace_back(event.region(),
                          protoconv::DescribeDay(event.business_day_closed().date()));
    }
    return closed;
  }

  std::string ClosedThrough(const std::string& region) {
    auto calendar = LoadRegionCalendar(*store_, region);
    EXPECT_TRUE(calendar.ok());
    if (!calendar.ok() || !calendar->has_value()) return "none";
    return core::FormatDate((*calendar)->closed_through);
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ClockService> clock_;
  std::unique_ptr<servicekit::GrpcServer> server_;
  std::unique_ptr<v1::ClockService::Stub> stub_;
};

TEST_F(ClockServiceTest, AdvancingThirtyDaysEmitsThirtyEventsInOrder) {
  v1::AdvanceBusinessDayResponse first;
  ASSERT_TRUE(Advance("us", protoconv::DateProto(2027, 1, 31), &first).ok());
  v1::AdvanceBusinessDayResponse response;
  grpc::Status status = Advance("us", protoconv::DateProto(2027, 3, 2), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.closed_size(), 30);
  EXPECT_EQ(protoconv::DescribeDay(response.closed(0)), "2027-02-01");
  EXPECT_EQ(protoconv::DescribeDay(response.closed(29)), "2027-03-02");
  EXPECT_EQ(protoconv::DescribeDay(response.business_date()), "2027-03-03");
  EXPECT_FALSE(response.result().duplicate());
  EXPECT_EQ(response.result().position().topic(), topics::kClock);

  const auto closed = ClosedInLog();
  ASSERT_EQ(closed.size(), 31u);
  absl::CivilDay expected(2027, 1, 31);
  for (const auto& [region, date] : closed) {
    EXPECT_EQ(region, "us");
    EXPECT_EQ(date, core::FormatDate(expected));
    ++expected;
  }
  EXPECT_EQ(ClosedThrough("us"), "2027-03-02");
}

TEST_F(ClockServiceTest, AdvancingToADayAlreadyClosedChangesNothing) {
  v1::AdvanceBusinessDayResponse response;
  ASSERT_TRUE(Advance("apac", protoconv::DateProto(2027, 2, 10), &response).ok());
  const v1::LogPosition position = response.result().position();
  for (v1::Date again : {protoconv::DateProto(2027, 2, 10), protoconv::DateProto(2027, 1, 1)}) {
    v1::AdvanceBusinessDayResponse repeat;
    ASSERT_TRUE(Advance("apac", again, &repeat).ok());
    EXPECT_EQ(repeat.closed_size(), 0);
    EXPECT_TRUE(repeat.result().duplicate());
    EXPECT_EQ(repeat.result().position().offset(), position.offset());
    EXPECT_EQ(protoconv::DescribeDay(repeat.closed_through()), "2027-02-10");
  }
  EXPECT_EQ(ClosedInLog().size(), 1u);
}

TEST_F(ClockServiceTest, AReplayedDayCloseChangesNothingInTheReadModel) {
  v1::AdvanceBusinessDayResponse response;
  ASSERT_TRUE(Advance("apac", protoconv::DateProto(2027, 2, 10), &response).ok());
  // Publish the 2027-02-09 close again behind the clock's back, then the 02-10 one.
  auto producer = log_->NewProducer();
  ASSERT_TRUE(producer.ok());
  const RegionZone& apac = clock_->regions().at("apac");
  for (absl::CivilDay day : {absl::CivilDay(2027, 2, 9), absl::CivilDay(2027, 2, 10)}) {
    v1::EventBatch batch;
    *batch.add_events() = DayClosedEvent(apac, day);
    (*producer)->Append(topics::kClock, "apac", batch.SerializeAsString(), nullptr);
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  (*producer)->Stop(absl::Seconds(1));
  v1::AdvanceBusinessDayResponse next;
  ASSERT_TRUE(Advance("apac", protoconv::DateProto(2027, 2, 11), &next).ok());
  EXPECT_EQ(next.closed_size(), 1);
  EXPECT_EQ(ClosedThrough("apac"), "2027-02-11");
}

TEST_F(ClockServiceTest, RejectsUnknownRegionsAndBadDatesWithTheRightCodes) {
  v1::AdvanceBusinessDayResponse response;
  grpc::Status unknown = Advance("mars", protoconv::DateProto(2027, 2, 10), &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("apac"));
  EXPECT_EQ(Advance("us", protoconv::DateProto(2027, 2, 30), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Advance("us", v1::Date(), &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Advance("us", protoconv::DateProto(2027, 2, 10), &response).ok());
  grpc::Status far = Advance("us", protoconv::DateProto(2047, 2, 10), &response);
  EXPECT_EQ(far.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(far.error_message(), HasSubstr("at most"));
}

TEST_F(ClockServiceTest, WallClockClosesEachRegionAtItsOwnMidnight) {
  // 2027-03-31T20:00Z: Shanghai is in 2027-04-01, New York still in 2027-03-31.
  ASSERT_TRUE(clock_->CloseEndedDays().ok());
  EXPECT_EQ(ClosedThrough("apac"), "2027-03-31");
  EXPECT_EQ(ClosedThrough("us"), "2027-03-30");
  // 04:30Z on 04-01: New York's midnight (UTC-4 in summer time) has passed.
  g_now = Utc(2027, 4, 1, 4, 30);
  ASSERT_TRUE(clock_->CloseEndedDays().ok());
  EXPECT_EQ(ClosedThrough("apac"), "2027-03-31");
  EXPECT_EQ(ClosedThrough("us"), "2027-03-31");
  // Three days later both move three days, one event per day.
  g_now += absl::Hours(72);
  ASSERT_TRUE(clock_->CloseEndedDays().ok());
  EXPECT_EQ(ClosedThrough("apac"), "2027-04-03");
  EXPECT_EQ(ClosedThrough("us"), "2027-04-03");
  EXPECT_EQ(ClosedInLog().size(), 2u + 1u + 3u + 3u);

  v1::GetBusinessDatesResponse dates;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetBusinessDates(&context, v1::GetBusinessDatesRequest(), &dates).ok());
  ASSERT_EQ(dates.regions_size(), 2);
  EXPECT_EQ(dates.regions(0).region(), "apac");
  EXPECT_EQ(dates.regions(0).time_zone(), "Asia/Shanghai");
  EXPECT_EQ(protoconv::DescribeDay(dates.regions(0).business_date()), "2027-04-04");
}

TEST_F(ClockServiceTest, TheWallClockThreadClosesEndedDaysByItself) {
  StopClock();
  StartClock(/*starts_regions=*/true, /*wall_clock=*/true);
  EXPECT_TRUE(
      testing::WaitFor([&] { return ClosedThrough("us") == "2027-03-30"; }, absl::Seconds(10)));
  EXPECT_EQ(ClosedThrough("apac"), "2027-03-31");
  StopClock();  // joins the thread while it waits for the next midnight
}

TEST_F(ClockServiceTest, WallClockLeavesUnstartedRegionsToAnAdvanceWhenToldTo) {
  StopClock();
  StartClock(/*starts_regions=*/false);
  v1::AdvanceBusinessDayResponse response;
  ASSERT_TRUE(Advance("us", protoconv::DateProto(2027, 3, 28), &response).ok());
  ASSERT_TRUE(clock_->CloseEndedDays().ok());
  EXPECT_EQ(ClosedThrough("apac"), "none");
  EXPECT_EQ(ClosedThrough("us"), "2027-03-30");
}

TEST_F(ClockServiceTest, ARestartedClockContinuesWhereTheLogEnds) {
  v1::AdvanceBusinessDayResponse response;
  ASSERT_TRUE(Advance("us", protoconv::DateProto(2027, 2, 10), &response).ok());
  ASSERT_TRUE(Advance("us", protoconv::DateProto(2027, 2, 14), &response).ok());
  StopClock();
  log_.reset();
  store_ = store::NewMemoryStore();  // the memory store is rebuilt from the log
  OpenLog();
  StartClock();
  EXPECT_EQ(ClosedThrough("us"), "2027-02-14");
  ASSERT_TRUE(Advance("us", protoconv::DateProto(2027, 2, 16), &response).ok());
  EXPECT_EQ(response.closed_size(), 2);
  EXPECT_EQ(ClosedInLog().size(), 7u);
}

TEST_F(ClockServiceTest, QueriesWaitForAPositionAndRejectForeignTopics) {
  v1::AdvanceBusinessDayResponse response;
  ASSERT_TRUE(Advance("us", protoconv::DateProto(2027, 2, 10), &response).ok());
  v1::GetBusinessDatesRequest request;
  *request.mutable_consistency()->mutable_min_position() = response.result().position();
  v1::GetBusinessDatesResponse dates;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetBusinessDates(&context, request, &dates).ok());
  }
  request.mutable_consistency()->mutable_min_position()->set_topic(topics::kPayments);
  grpc::ClientContext context;
  EXPECT_EQ(stub_->GetBusinessDates(&context, request, &dates).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace ar::clock
