#pragma once
// The clock's gRPC API, thin: parse, call the clock, map the status.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ar/v1/clock.grpc.pb.h"
#include "services/clock/domain/clock_rules.h"

namespace ar::clock {

struct AdvanceResult {
  std::string region;
  std::vector<absl::CivilDay> closed;  // what this call closed, in order
  absl::CivilDay closed_through;
  // The last record published, or the one that closed closed_through when none was.
  v1::CommandResult result;
};

// What the API needs of the clock (implemented by ClockService).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::StatusOr<AdvanceResult> Advance(const std::string& region,
                                                absl::CivilDay to_date) = 0;
  virtual absl::StatusOr<v1::GetBusinessDatesResponse> BusinessDates(
      const v1::ReadConsistency& consistency, absl::Time caller_deadline) = 0;
};

class ClockGrpcService final : public v1::ClockService::Service {
 public:
  ClockGrpcService(Clock& clock, const std::atomic<bool>& ready) : clock_(clock), ready_(ready) {}

  grpc::Status AdvanceBusinessDay(grpc::ServerContext* context,
                                  const v1::AdvanceBusinessDayRequest* request,
                                  v1::AdvanceBusinessDayResponse* response) override;
  grpc::Status GetBusinessDates(grpc::ServerContext* context,
                                const v1::GetBusinessDatesRequest* request,
                                v1::GetBusinessDatesResponse* response) override;

 private:
  Clock& clock_;
  const std::atomic<bool>& ready_;
};

}  // namespace ar::clock
