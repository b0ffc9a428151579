// ar-demo: generates a realistic history for the demo tenant and feeds it into ar-suite
// through the gateway, closing each business day in every region as it goes.

#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/core/dates.h"
#include "libs/servicekit/flags.h"
#include "tools/demo/feeder.h"
#include "tools/demo/history.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "ar-suite gRPC address (ar.v1.Gateway)");
ABSL_FLAG(int, customers, 2000, "how many customers (1..100000)");
ABSL_FLAG(int, months, 6, "how many months of history, ending on --end_date");
ABSL_FLAG(std::string, end_date, "",
          "last day of the history, YYYY-MM-DD (default: yesterday UTC)");
ABSL_FLAG(uint64_t, seed, 1, "the seed: the same seed gives the same history");
ABSL_FLAG(int, workers, 16, "concurrent command streams (an account stays on one)");
ABSL_FLAG(std::string, tenant, ar::demo::kDemoTenant, "tenant of the history");
ABSL_FLAG(bool, dry_run, false, "generate and print what would be fed, send nothing");

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "ar-demo: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);

  ar::demo::HistoryOptions options;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.customers = absl::GetFlag(FLAGS_customers);
  options.tenant = absl::GetFlag(FLAGS_tenant);
  options.end = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) - 1;
  if (const std::string end = absl::GetFlag(FLAGS_end_date); !end.empty()) {
    absl::StatusOr<absl::CivilDay> parsed = ar::core::ParseDate(end);
    if (!parsed.ok()) return Fail("--end_date", parsed.status());
    options.end = *parsed;
  }
  const int months = absl::GetFlag(FLAGS_months);
  if (months < 1 || months > 120) {
    return Fail("--months", absl::InvalidArgumentError("must be within 1..120"));
  }
  options.start = ar::demo::StartForMonths(options.end, months);

  absl::StatusOr<ar::demo::History> history = ar::demo::GenerateHistory(options);
  if (!history.ok()) return Fail("generating the history", history.status());
  size_t commands = 0;
  for (const ar::demo::DayStep& day : history->days) commands += day.commands.size();
  std::fprintf(stderr, "ar-demo: %zu customers, %s..%s (%zu days), %zu commands, seed %llu\n",
               history->customers.size(), ar::core::FormatDate(options.start).c_str(),
               ar::core::FormatDate(options.end).c_str(), history->days.size(), commands,
               static_cast<unsigned long long>(options.seed));
  if (absl::GetFlag(FLAGS_dry_run)) return 0;

  ar::demo::FeederOptions feeder;
  feeder.workers = absl::GetFlag(FLAGS_workers);
  feeder.progress = &std::cerr;
  const std::string server = absl::GetFlag(FLAGS_server);
  std::fprintf(stderr, "ar-demo: feeding %s\n", server.c_str());
  absl::StatusOr<ar::demo::FeedSummary> summary = ar::demo::FeedHistory(
      *history, grpc::CreateChannel(server, grpc::InsecureChannelCredentials()), feeder);
  if (!summary.ok()) return Fail("feeding", summary.status());
  std::cout << summary->ToString();
  return 0;
}
