#include "services/credit_risk/credit_reactor.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/protoconv/protoconv.h"
#include "services/credit_risk/projection/credit_projection.h"

namespace ar::credit {
namespace {

std::optional<int64_t> DayOf(const v1::Date& date) {
  absl::StatusOr<absl::CivilDay> day = protoconv::DayFromProto(date, "date");
  if (!day.ok()) return std::nullopt;
  return core::DayNumber(*day);
}

// The business date named by a triggering event: the decisions' as_of while the region
// has no business date yet. nullopt for events that name none.
std::optional<int64_t> TriggerDay(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued:
      return DayOf(event.invoice_issued().issue_date());
    case v1::Event::kCreditNoteIssued:
      return DayOf(event.credit_note_issued().issue_date());
    case v1::Event::kInvoiceCancelled:
      return DayOf(event.invoice_cancelled().cancel_date());
    case v1::Event::kDebtWrittenOff:
      return DayOf(event.debt_written_off().as_of());
    case v1::Event::kPaymentAllocated:
      return DayOf(event.payment_allocated().allocation_date());
    case v1::Event::kPaymentReversed:
      return DayOf(event.payment_reversed().reversal_date());
    case v1::Event::kPromiseToPayBroken:
      return DayOf(event.promise_to_pay_broken().as_of());
    default:
      return std::nullopt;
  }
}

bool TriggersReview(const v1::Event& event) {
  return IsHistoryEvent(event) || event.has_credit_limit_set();
}

}  // namespace

CreditReactor::CreditReactor(store::Store& store, command::CommandExecutor& executor,
                             projection::ProjectionRunner& credit_projection, Settings settings,
                             absl::Duration projection_wait)
    : store_(store),
      executor_(executor),
      credit_projection_(credit_projection),
      settings_(std::move(settings)),
      projection_wait_(projection_wait) {}

absl::Status CreditReactor::WaitForProjection(const eventlog::Record& source) {
  const eventlog::LogPosition position{source.topic, source.partition, source.offset};
  // Short slices so that Stop() is not held up by a lagging projection.
  const absl::Time deadline = absl::Now() + projection_wait_;
  while (!credit_projection_.WaitForPosition(position, absl::Milliseconds(100))) {
    if (stopping_) return absl::UnavailableError("credit reactor is stopping");
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("the credit projection has not applied ",
                                                 source.topic, "/", source.partition, "@",
                                                 source.offset, " yet"));
    }
  }
  return absl::OkStatus();
}

absl::Status CreditReactor::Apply(const v1::Event& event, const eventlog::Record& source,
                                  store::WriteBatch&) {
  const bool day_closed = event.has_business_day_closed();
  const bool fx = event.has_fx_rate_set();
  if (!day_closed && !fx && !TriggersReview(event)) return absl::OkStatus();
  const std::string record_key =
      absl::StrCat(source.topic, "/", source.partition, "@", source.offset, "/",
                   event.tenant().size(), ":", event.tenant(), ":", event.account());
  // An invoice always gets its own review (the limit check is per invoice).
  if (record_key == last_record_ && !event.has_invoice_issued()) return absl::OkStatus();
  RETURN_IF_ERROR(WaitForProjection(source));
  if (day_closed) return DayClosed(event);
  if (fx) return FxRateChanged(event);
  if (event.tenant().empty() || event.account().empty()) return absl::OkStatus();
  Trigger trigger;
  trigger.command_id = ReviewCommandId(event.event_id());
  trigger.event_id = event.event_id();
  if (event.has_invoice_issued()) trigger.issued_invoice_id = event.invoice_issued().invoice_id();
  trigger.day = TriggerDay(event);
  RETURN_IF_ERROR(ReviewAccount(event.tenant(), event.account(), trigger, event.correlation_id()));
  last_record_ = record_key;
  return absl::OkStatus();
}

absl::Status CreditReactor::DayClosed(const v1::Event& event) {
  const std::string& region = event.region();
  ASSIGN_OR_RETURN(absl::CivilDay closed,
                   protoconv::DayFromProto(event.business_day_closed().date(), "date"));
  const int64_t business_day = core::DayNumber(closed + 1);
  ASSIGN_OR_RETURN(std::optional<int64_t> current, LoadBusinessDay(store_, region));
  // The read model is already past this date: the later day close reviews on it.
  if (current && *current > business_day) return absl::OkStatus();
  store::RangeOptions overdue;
  overdue.max_score = business_day - 1;  // due before B: at least one day past due
  ASSIGN_OR_RETURN(std::vector<store::ScoredMember> members,
                   store_.ZRange(Keys::DueIndex(region), overdue));
  const std::string date = core::FormatDate(closed);
  std::vector<std::pair<std::string, std::string>> accounts;
  for (const store::ScoredMember& member : members) {
    std::string tenant, account;
    if (!Keys::ParseDueMember(member.member, tenant, account)) {
      return absl::DataLossError(absl::StrCat("bad due-index member ", member.member));
    }
    accounts.emplace_back(std::move(tenant), std::move(account));
  }
  return ReviewMany(
      accounts,
      [&](const std::string& tenant, const std::string& account) {
        Trigger trigger;
        trigger.command_id = DayCloseCommandId(region, date, tenant, account);
        trigger.event_id = event.event_id();
        trigger.day = business_day;
        return trigger;
      },
      event.correlation_id());
}

absl::Status CreditReactor::FxRateChanged(const v1::Event& event) {
  const v1::FxRateSet& set = event.fx_rate_set();
  if (set.to_currency() != settings_.base_currency || event.tenant().empty()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<store::ScoredMember> members,
                   store_.ZRange(Keys::CurrencyIndex(event.tenant(), set.from_currency()),
                                 store::RangeOptions{}));
  std::vector<std::pair<std::string, std::string>> accounts;
  for (store::ScoredMember& member : members) {
    accounts.emplace_back(event.tenant(), std::move(member.member));
  }
  ASSIGN_OR_RETURN(absl::CivilDay effective,
                   protoconv::DayFromProto(set.effective_date(), "effective_date"));
  return ReviewMany(
      accounts,
      [&](const std::string&, const std::string& account) {
        Trigger trigger;
        trigger.command_id = FxReviewCommandId(event.event_id(), account);
        trigger.event_id = event.event_id();
        trigger.day = core::DayNumber(effective);
        return trigger;
      },
      event.correlation_id());
}

absl::Status CreditReactor::ReviewMany(
    const std::vector<std::pair<std::string, std::string>>& accounts,
    const std::function<Trigger(const std::string&, const std::string&)>& trigger_of,
    const std::string& correlation_id) {
  // The accounts are independent and each review waits for its own record to be durable
  // and applied, so several run at once (the log group-commits their records); the
  // executor still serializes commands of one account.
  std::atomic<size_t> next{0};
  std::mutex error_mu;
  absl::Status first_error;
  auto work = [&] {
    for (size_t i = next++; i < accounts.size(); i = next++) {
      const auto& [tenant, account] = accounts[i];
      absl::Status reviewed =
          ReviewAccount(tenant, account, trigger_of(tenant, account), correlation_id);
      if (!reviewed.ok()) {
        std::lock_guard lock(error_mu);
        if (first_error.ok()) first_error = reviewed;
        next = accounts.size();  // stop handing out work
      }
    }
  };
  std::vector<std::thread> workers;
  const size_t parallel = std::min<size_t>(kReviewParallelism, accounts.size());
  for (size_t w = 1; w < parallel; ++w) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  return first_error;
}

absl::Status CreditReactor::ReviewAccount(const std::string& tenant, const std::string& account,
                                          const Trigger& trigger,
                                          const std::string& correlation_id) {
  ++reviews_;
  absl::StatusOr<v1::CommandResult> result =
      executor_.Execute(tenant, account, [&]() -> absl::StatusOr<command::Decision> {
        command::Decision decision;
        decision.command_id = trigger.command_id;
        ASSIGN_OR_RETURN(std::optional<v1::CreditAccountState> state,
                         LoadAccountState(store_, tenant, account));
        if (!state) return decision;
        ASSIGN_OR_RETURN(FxTable fx, LoadFxTable(store_, tenant, settings_.base_currency));
        Review review;
        review.state = &*state;
        review.fx = &fx;
        review.policy = &settings_.policy;
        if (!state->account().region().empty()) {
          ASSIGN_OR_RETURN(review.business_day, LoadBusinessDay(store_, state->account().region()));
        }
        ASSIGN_OR_RETURN(review.group, LoadGroupView(store_, tenant, state->credit_group(), fx));
        review.issued_invoice_id = trigger.issued_invoice_id;
        review.trigger_event_id = trigger.event_id;
        review.trigger_day = trigger.day;
        CommandContext context{trigger.command_id, absl::ToUnixMicros(absl::Now()), correlation_id};
        ASSIGN_OR_RETURN(Outcome outcome, DecideReview(review, context));
        decision.events = std::move(outcome.events);
        return decision;
      });
  // UNAVAILABLE (log or store down) retries the record; anything else is a bug worth a
  // dead letter with the reason.
  return result.status();
}

}  // namespace ar::credit
