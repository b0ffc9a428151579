// arctl clock ...: the business-day clock's commands and queries, through the gateway.

#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"
#include "tools/arctl/command_support.h"
#include "tools/arctl/commands.h"
#include "tools/arctl/text.h"

namespace ar::arctl {
namespace {

absl::Status AdvanceClock(Invocation& invocation) {
  v1::GatewayAdvanceBusinessDayRequest request;
  request.set_region(*invocation.Get("region"));
  ASSIGN_OR_RETURN(*request.mutable_close_through(), ParseDate(*invocation.Get("to"), "to"));
  v1::GatewayAdvanceBusinessDayResponse response;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(
      FromGrpc(Gateway(invocation)->AdvanceBusinessDay(call.get(), request, &response)));
  if (invocation.json()) {
    invocation.out() << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  if (response.closed_dates_size() == 0) {
    invocation.out() << "region " << response.region() << " already closed through "
                     << FormatDate(response.closed_through()) << "; nothing to do\n";
  } else {
    invocation.out() << "region " << response.region() << ": closed "
                     << response.closed_dates_size()
                     << (response.closed_dates_size() == 1 ? " day (" : " days (")
                     << FormatDate(response.closed_dates(0)) << " .. "
                     << FormatDate(response.closed_dates(response.closed_dates_size() - 1))
                     << "); business date is now " << FormatDate(response.business_date()) << "\n";
  }
  return absl::OkStatus();
}

absl::Status ShowClock(Invocation& invocation) {
  v1::GetBusinessDatesRequest request;
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::GetBusinessDatesResponse response;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetBusinessDates(call.get(), request, &response)));
  if (invocation.json()) {
    invocation.out() << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  Table table({"REGION", "TIME ZONE", "CLOSED THROUGH", "BUSINESS DATE"});
  for (const v1::RegionBusinessDate& region : response.regions()) {
    const bool started = region.has_closed_through();
    table.AddRow({region.region(), region.time_zone(),
                  started ? FormatDate(region.closed_through()) : "-",
                  started ? FormatDate(region.business_date()) : "(not started)"});
  }
  table.Print(invocation.out());
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> ClockCommands() {
  return {
      {"clock advance",
       "Close business days of a region up to a date (one BusinessDayClosed per day)",
       "",
       {{"region", "ID", "region, e.g. eu, us, apac", true},
        {"to", "YYYY-MM-DD", "the last day to close; its next day becomes the business date",
         true}},
       "Closing a day drives overdue detection, reminders, dunning and broken promises.\n"
       "Days already closed are not closed again.\n"
       "example:\n"
       "  arctl clock advance --region eu --to 2027-03-31",
       AdvanceClock},
      {"clock show",
       "Each region's time zone, last closed day and business date",
       "",
       {MinPositionFlag()},
       "",
       ShowClock},
  };
}

}  // namespace ar::arctl
