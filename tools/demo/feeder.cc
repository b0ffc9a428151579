#include "tools/demo/feeder.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "libs/core/dates.h"
#include "libs/protoconv/protoconv.h"

namespace ar::demo {
namespace {

using Stub = v1::Gateway::StubInterface;

constexpr size_t kMaxErrorsKept = 20;
constexpr char kAdvanceBusinessDay[] = "AdvanceBusinessDay";

template <typename... Fns>
struct Overloaded : Fns... {
  using Fns::operator()...;
};
template <typename... Fns>
Overloaded(Fns...) -> Overloaded<Fns...>;

// gRPC and absl share the canonical code numbers.
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

bool Retryable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// What the workers share: the one-time warnings and the progress stream.
class SharedOutput {
 public:
  explicit SharedOutput(std::ostream* out) : out_(out) {}

  void WarnUnimplementedOnce(const std::string& kind, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!warned_.insert(kind).second || out_ == nullptr) return;
    *out_ << "ar-demo: warning: the gateway does not serve " << kind << " ("
          << status.error_message() << "); those commands are counted and skipped\n";
    out_->flush();
  }
  void Line(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (out_ == nullptr) return;
    *out_ << line << "\n";
    out_->flush();
  }

 private:
  std::mutex mutex_;
  std::ostream* out_;
  std::set<std::string> warned_;
};

class Caller {
 public:
  Caller(Stub& stub, const FeederOptions& options, SharedOutput& output)
      : stub_(stub), options_(options), output_(output) {}

  // One call, retried while the server is unavailable.
  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
    absl::Duration backoff = options_.initial_backoff;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
      grpc::Status status = (stub_.*method)(&context, request, response);
      if (!Retryable(status) || attempt >= options_.max_attempts) return status;
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  // Runs one command and counts what became of it in `summary`.
  void Execute(const DemoCommand& command, FeedSummary& summary) {
    const std::string kind(CommandKind(command));
    KindCounts& counts = summary.by_kind[kind];
    ++counts.sent;
    grpc::Status status;
    v1::CommandResult result;
    bool applied_before = false;
    std::visit(Overloaded{
                   [&](const v1::IssueInvoiceRequest& r) {
                     status = Call(&Stub::IssueInvoice, r, &result);
                   },
                   [&](const v1::RecordPaymentRequest& r) {
                     status = Call(&Stub::RecordPayment, r, &result);
                   },
                   [&](const v1::ReversePaymentRequest& r) {
                     status = Call(&Stub::ReversePayment, r, &result);
                     if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
                       applied_before = PaymentAlreadyReversed(r);
                     }
                   },
                   [&](const v1::IssueCreditNoteRequest& r) {
                     status = Call(&Stub::IssueCreditNote, r, &result);
                   },
                   [&](const v1::DisputeInvoiceRequest& r) {
                     // Without an idempotency key a repeat would open a second dispute.
                     applied_before =
                         DisputesOpened(r.tenant(), r.invoice_id()) >= command.dispute_ordinal;
                     if (!applied_before) status = Call(&Stub::DisputeInvoice, r, &result);
                   },
                   [&](const v1::ResolveDisputeRequest& r) {
                     status = Call(&Stub::ResolveDispute, r, &result);
                     if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
                       applied_before = DisputeAlreadyResolved(r, command.dispute_ordinal);
                     }
                   },
                   [&](const v1::GatewayRecordPromiseRequest& r) {
                     status = Call(&Stub::RecordPromiseToPay, r, &result);
                   },
                   [&](const v1::GatewaySetCreditLimitRequest& r) {
                     status = Call(&Stub::SetCreditLimit, r, &result);
                   },
                   [&](const v1::GatewaySetFxRateRequest& r) {
                     status = Call(&Stub::SetFxRate, r, &result);
                   },
               },
               command.request);
    if (applied_before) {
      ++counts.duplicates;
      return;
    }
    Count(kind, status, result.duplicate(), counts, summary,
          absl::StrCat(kind, " ", command.account));
  }

  void Count(const std::string& kind, const grpc::Status& status, bool duplicate,
             KindCounts& counts, FeedSummary& summary, const std::string& what) {
    if (status.ok()) {
      ++(duplicate ? counts.duplicates : counts.published);
      return;
    }
    switch (status.error_code()) {
      case grpc::StatusCode::UNIMPLEMENTED:
        ++counts.unimplemented;
        output_.WarnUnimplementedOnce(kind, status);
        return;
      case grpc::StatusCode::ALREADY_EXISTS:
        ++counts.conflicts;
        break;
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        ++counts.unavailable;
        break;
      default:
        ++counts.rejected;
        break;
    }
    if (summary.first_errors.size() < kMaxErrorsKept) {
      summary.first_errors.push_back(
          absl::StrCat(what, ": ", CodeName(status.error_code()), ": ", status.error_message()));
    }
  }

 private:
  // -1 when the invoice cannot be read (not there yet, or the read failed).
  int DisputesOpened(const std::string& tenant, const std::string& invoice_id) {
    v1::Invoice invoice;
    if (!ReadInvoice(tenant, invoice_id, invoice)) return -1;
    return invoice.disputes_opened();
  }
  bool DisputeAlreadyResolved(const v1::ResolveDisputeRequest& request, int ordinal) {
    v1::Invoice invoice;
    return ReadInvoice(request.tenant(), request.invoice_id(), invoice) &&
           invoice.disputes_opened() >= ordinal && invoice.disputed().minor_units() == 0;
  }
  bool ReadInvoice(const std::string& tenant, const std::string& invoice_id, v1::Invoice& invoice) {
    v1::GetInvoiceRequest request;
    request.set_tenant(tenant);
    request.set_invoice_id(invoice_id);
    return Call(&Stub::GetInvoice, request, &invoice).ok();
  }
  bool PaymentAlreadyReversed(const v1::ReversePaymentRequest& request) {
    v1::GetPaymentRequest get;
    get.set_tenant(request.tenant());
    get.set_payment_id(request.payment_id());
    v1::Payment payment;
    return Call(&Stub::GetPayment, get, &payment).ok() && payment.reversed() &&
           payment.reversal_reason() == request.reason();
  }

  Stub& stub_;
  const FeederOptions& options_;
  SharedOutput& output_;
};

void Merge(FeedSummary& into, const FeedSummary& from) {
  for (const auto& [kind, counts] : from.by_kind) into.by_kind[kind].Add(counts);
  for (const std::string& error : from.first_errors) {
    if (into.first_errors.size() < kMaxErrorsKept) into.first_errors.push_back(error);
  }
}

// Runs the day's commands on `workers` threads; an account's commands go to one worker,
// in their order.
void FeedDay(const DayStep& day, Stub& stub, const FeederOptions& options, SharedOutput& output,
             FeedSummary& summary) {
  const size_t workers = static_cast<size_t>(std::max(1, options.workers));
  std::vector<std::vector<const DemoCommand*>> queues(workers);
  for (const DemoCommand& command : day.commands) {
    queues[std::hash<std::string>{}(command.account) % workers].push_back(&command);
  }
  std::vector<FeedSummary> partial(workers);
  std::vector<std::thread> threads;
  for (size_t worker = 0; worker < workers; ++worker) {
    if (queues[worker].empty()) continue;
    threads.emplace_back([&, worker] {
      Caller caller(stub, options, output);
      for (const DemoCommand* command : queues[worker]) caller.Execute(*command, partial[worker]);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const FeedSummary& part : partial) Merge(summary, part);
}

absl::Status CloseDay(absl::CivilDay date, Stub& stub, const FeederOptions& options,
                      SharedOutput& output, FeedSummary& summary) {
  Caller caller(stub, options, output);
  for (const std::string& region : options.regions) {
    v1::GatewayAdvanceBusinessDayRequest request;
    request.set_region(region);
    *request.mutable_close_through() = protoconv::DayToProto(date);
    v1::GatewayAdvanceBusinessDayResponse response;
    const grpc::Status status = caller.Call(&Stub::AdvanceBusinessDay, request, &response);
    KindCounts& counts = summary.by_kind[kAdvanceBusinessDay];
    ++counts.sent;
    caller.Count(kAdvanceBusinessDay, status, status.ok() && response.closed_dates().empty(),
                 counts, summary, absl::StrCat(kAdvanceBusinessDay, " ", region));
    summary.days_closed += response.closed_dates_size();
    if (Retryable(status)) {
      return absl::UnavailableError(absl::StrCat("closing ", core::FormatDate(date), " in ", region,
                                                 ": ", status.error_message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void KindCounts::Add(const KindCounts& other) {
  sent += other.sent;
  published += other.published;
  duplicates += other.duplicates;
  conflicts += other.conflicts;
  unimplemented += other.unimplemented;
  rejected += other.rejected;
  unavailable += other.unavailable;
}

KindCounts FeedSummary::Total() const {
  KindCounts total;
  for (const auto& [kind, counts] : by_kind) {
    if (kind != kAdvanceBusinessDay) total.Add(counts);
  }
  return total;
}

std::string FeedSummary::ToString() const {
  std::string out =
      absl::StrFormat("%-20s %9s %9s %9s %9s %9s %9s %9s\n", "command", "sent", "published",
                      "duplicate", "conflict", "rejected", "unimpl.", "unavail.");
  const auto row = [&](const std::string& name, const KindCounts& c) {
    absl::StrAppendFormat(&out, "%-20s %9d %9d %9d %9d %9d %9d %9d\n", name, c.sent, c.published,
                          c.duplicates, c.conflicts, c.rejected, c.unimplemented, c.unavailable);
  };
  for (const auto& [kind, counts] : by_kind) row(kind, counts);
  const KindCounts total = Total();
  row("total (no day close)", total);
  const double seconds = std::max(absl::ToDoubleSeconds(elapsed), 1e-3);
  absl::StrAppendFormat(&out, "%d days fed, %d day closes published, %.1f s, %.0f commands/s\n",
                        days, days_closed, seconds, static_cast<double>(total.sent) / seconds);
  for (const std::string& error : first_errors) absl::StrAppend(&out, "  ", error, "\n");
  return out;
}

absl::StatusOr<FeedSummary> FeedHistory(const History& history,
                                        std::shared_ptr<grpc::Channel> channel,
                                        const FeederOptions& options) {
  std::unique_ptr<v1::Gateway::Stub> stub = v1::Gateway::NewStub(channel);
  SharedOutput output(options.progress);
  FeedSummary summary;
  const absl::Time started = absl::Now();
  absl::Time last_progress = started;
  for (const DayStep& day : history.days) {
    FeedDay(day, *stub, options, output, summary);
    if (absl::Status closed = CloseDay(day.date, *stub, options, output, summary); !closed.ok()) {
      return closed;
    }
    ++summary.days;
    const absl::Time now = absl::Now();
    if (now - last_progress >= options.progress_every || &day == &history.days.back()) {
      last_progress = now;
      const KindCounts total = summary.Total();
      output.Line(absl::StrFormat(
          "ar-demo: %s  day %d/%d  %d commands  %.0f/s  (published %d, duplicate %d, "
          "rejected %d, unimplemented %d)",
          core::FormatDate(day.date), summary.days, history.days.size(), total.sent,
          static_cast<double>(total.sent) / std::max(absl::ToDoubleSeconds(now - started), 1e-3),
          total.published, total.duplicates, total.rejected + total.conflicts,
          total.unimplemented));
    }
  }
  summary.elapsed = absl::Now() - started;
  return summary;
}

}  // namespace ar::demo
