#include "services/clock/api/clock_grpc.h"

#include "absl/time/clock.h"
#include "libs/core/grpc_status.h"
#include "libs/core/status_macros.h"
#include "libs/protoconv/protoconv.h"

namespace ar::clock {
namespace {

grpc::Status NotReady() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the clock is still catching up with the log; retry shortly");
}

absl::Time CallerDeadline(const grpc::ServerContext* context) {
  return absl::FromChrono(context->deadline());
}

}  // namespace

grpc::Status ClockGrpcService::AdvanceBusinessDay(grpc::ServerContext*,
                                                  const v1::AdvanceBusinessDayRequest* request,
                                                  v1::AdvanceBusinessDayResponse* response) {
  if (!ready_) return NotReady();
  absl::StatusOr<AdvanceResult> advanced = [&]() -> absl::StatusOr<AdvanceResult> {
    ASSIGN_OR_RETURN(absl::CivilDay to_date,
                     protoconv::DayFromProto(request->to_date(), "to_date"));
    return clock_.Advance(request->region(), to_date);
  }();
  if (!advanced.ok()) return core::ToGrpcStatus(advanced.status());
  response->set_region(advanced->region);
  for (absl::CivilDay day : advanced->closed) *response->add_closed() = protoconv::DayToProto(day);
  *response->mutable_closed_through() = protoconv::DayToProto(advanced->closed_through);
  *response->mutable_business_date() = protoconv::DayToProto(advanced->closed_through + 1);
  *response->mutable_result() = std::move(advanced->result);
  return grpc::Status::OK;
}

grpc::Status ClockGrpcService::GetBusinessDates(grpc::ServerContext* context,
                                                const v1::GetBusinessDatesRequest* request,
                                                v1::GetBusinessDatesResponse* response) {
  if (!ready_) return NotReady();
  absl::StatusOr<v1::GetBusinessDatesResponse> dates =
      clock_.BusinessDates(request->consistency(), CallerDeadline(context));
  if (!dates.ok()) return core::ToGrpcStatus(dates.status());
  *response = std::move(*dates);
  return grpc::Status::OK;
}

}  // namespace ar::clock
