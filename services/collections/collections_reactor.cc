#include "services/collections/collections_reactor.h"

#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/protoconv/protoconv.h"
#include "services/collections/domain/collections_domain.h"
#include "services/collections/projection/collections_projection.h"

namespace ar::collections {
namespace {

// Day-close commands in flight at once.
constexpr size_t kDayCloseWorkers = 16;

// The cause an event gives an AccountCured it leads to; empty: it cannot cure or keep.
std::string CauseOf(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kPaymentReceived:  // may keep a promise
    case v1::Event::kPaymentAllocated:
      return "payment";
    case v1::Event::kCreditNoteIssued:
      return "credit_note";
    case v1::Event::kInvoiceCancelled:
      return "cancellation";
    case v1::Event::kInvoiceDisputed:
      return "dispute";
    case v1::Event::kDebtWrittenOff:
      return "write_off";
    default:
      return "";
  }
}

}  // namespace

CollectionsReactor::CollectionsReactor(store::Store& store, eventlog::EventLog& log,
                                       command::CommandExecutor& executor,
                                       projection::ProjectionRunner& collections_projection,
                                       std::vector<std::string> projection_topics,
                                       v1::CollectionsPolicy policy, absl::Duration projection_wait)
    : store_(store),
      log_(log),
      executor_(executor),
      projection_(collections_projection),
      projection_topics_(std::move(projection_topics)),
      policy_(std::move(policy)),
      projection_wait_(projection_wait) {}

absl::Status CollectionsReactor::WaitForProjection(const eventlog::LogPosition& position,
                                                   absl::Time deadline) {
  // Short slices so that Stop() is not held up by a lagging projection.
  while (!projection_.WaitForPosition(position, absl::Milliseconds(100))) {
    if (stopping_) return absl::UnavailableError("collections reactor is stopping");
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("the collections projection has not applied ",
                                                 position.topic, "/", position.partition, "@",
                                                 position.offset, " yet"));
    }
  }
  return absl::OkStatus();
}

absl::Status CollectionsReactor::WaitForInputs(absl::Time deadline) {
  for (const std::string& topic : projection_topics_) {
    ASSIGN_OR_RETURN(int32_t partitions, log_.PartitionCount(topic));
    for (int32_t p = 0; p < partitions; ++p) {
      ASSIGN_OR_RETURN(int64_t end, log_.EndOffset({topic, p}));
      if (end > 0) RETURN_IF_ERROR(WaitForProjection({topic, p, end - 1}, deadline));
    }
  }
  return absl::OkStatus();
}

absl::Status CollectionsReactor::Apply(const v1::Event& event, const eventlog::Record& source,
                                       store::WriteBatch& batch) {
  if (event.has_business_day_closed()) return DayClosed(event, source, batch);
  if (!CauseOf(event).empty()) return React(event, source);
  return absl::OkStatus();
}

absl::Status CollectionsReactor::React(const v1::Event& event, const eventlog::Record& source) {
  if (event.tenant().empty() || event.account().empty()) return absl::OkStatus();
  RETURN_IF_ERROR(WaitForProjection({source.topic, source.partition, source.offset},
                                    absl::Now() + projection_wait_));
  const std::string& tenant = event.tenant();
  const std::string& account = event.account();
  const std::string cause = CauseOf(event);
  auto decide_on_state = [&](const std::string& command_id) -> absl::StatusOr<command::Decision> {
    ASSIGN_OR_RETURN(v1::CollectionsAccount state, LoadAccount(store_, tenant, account));
    ASSIGN_OR_RETURN(BusinessDates dates, LoadBusinessDates(store_, state));
    command::Decision decision;
    decision.command_id = command_id;
    decision.events =
        DecideImmediate(state, dates, cause, {command_id, absl::ToUnixMicros(absl::Now()), ""});
    return decision;
  };
  // Most events decide nothing: look before taking the account's command slot.
  ASSIGN_OR_RETURN(command::Decision probe, decide_on_state("probe"));
  if (probe.events.empty()) return absl::OkStatus();
  const std::string command_id = ReactionCommandId(event.event_id());
  return executor_.Execute(tenant, account, [&] { return decide_on_state(command_id); }).status();
}

absl::Status CollectionsReactor::DayClosed(const v1::Event& event, const eventlog::Record& source,
                                           store::WriteBatch& batch) {
  const std::string& region = event.region();
  if (region.empty()) return absl::OkStatus();  // the projection dead-letters it
  absl::StatusOr<absl::CivilDay> closed =
      protoconv::DayFromProto(event.business_day_closed().date(), "date");
  if (!closed.ok()) return absl::OkStatus();  // likewise
  const int64_t closed_day = core::DayNumber(*closed);

  std::optional<int64_t> last_closed;
  if (auto pending = closed_pending_.find(region); pending != closed_pending_.end()) {
    last_closed = pending->second;
  } else {
    ASSIGN_OR_RETURN(std::optional<std::string> stored, store_.Get(Keys::ReactorClosed(region)));
    int64_t day = 0;
    if (stored && absl::SimpleAtoi(*stored, &day)) last_closed = day;
  }
  if (last_closed && closed_day <= *last_closed) return absl::OkStatus();  // a duplicate

  const absl::Time deadline = absl::Now() + projection_wait_;
  RETURN_IF_ERROR(WaitForProjection({source.topic, source.partition, source.offset}, deadline));
  RETURN_IF_ERROR(WaitForInputs(deadline));

  // The read model now holds every record already in the log, so it knows whether this
  // close was finished before (a replay into an empty store, a duplicate past a restart).
  ASSIGN_OR_RETURN(std::optional<absl::CivilDay> decided_through,
                   LoadDecidedThrough(store_, region));
  if (decided_through && *closed <= *decided_through) {
    batch.Set(Keys::ReactorClosed(region), absl::StrCat(closed_day));
    closed_pending_[region] = closed_day;
    return absl::OkStatus();
  }

  const absl::CivilDay business_date = *closed + 1;
  const int64_t current = core::DayNumber(business_date);
  std::optional<int64_t> previous;
  if (last_closed) previous = *last_closed + 1;

  ASSIGN_OR_RETURN(std::set<std::string> members,
                   DayCloseCandidates(store_, policy_, region, previous, current));
  const std::vector<std::string> ordered(members.begin(), members.end());
  // Accounts are independent: several commands in flight let the log group-commit their
  // records instead of paying one durable append and one read-model wait per account.
  std::atomic<size_t> next{0};
  std::atomic<int32_t> accounts_decided{0};
  std::mutex error_mu;
  absl::Status first_error;
  auto work = [&] {
    std::string tenant, account, rest;
    for (size_t i = next++; i < ordered.size(); i = next++) {
      if (stopping_) {
        std::lock_guard lock(error_mu);
        first_error.Update(absl::UnavailableError("collections reactor is stopping"));
        return;
      }
      if (!Keys::ParseMember(ordered[i], tenant, account, rest)) continue;
      const std::string command_id = DayCloseCommandId(region, *closed, tenant, account);
      auto decide = [&]() -> absl::StatusOr<command::Decision> {
        // Decoded from the store, not taken from the projection's cache (another thread
        // changes it), into a message each thread reuses: it allocates little.
        thread_local v1::CollectionsAccount state;
        RETURN_IF_ERROR(LoadAccountInto(store_, tenant, account, state));
        command::Decision decision;
        decision.command_id = command_id;
        decision.events =
            DecideDayClose(policy_, state, region, business_date,
                           {command_id, absl::ToUnixMicros(absl::Now()), event.event_id()});
        return decision;
      };
      absl::StatusOr<v1::CommandResult> result = executor_.Execute(tenant, account, decide);
      if (!result.ok()) {
        // UNAVAILABLE (log or store down) retries the whole close; what was decided
        // already decides nothing the second time.
        std::lock_guard lock(error_mu);
        first_error.Update(result.status());
        next = ordered.size();
        return;
      }
      if (!result->event_ids().empty()) {
        ++day_close_commands_;
        ++accounts_decided;
      }
    }
  };
  const size_t workers = std::min<size_t>(kDayCloseWorkers, ordered.size());
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();
  RETURN_IF_ERROR(first_error);
  // Last, so that it is in the log only once every account's decisions are.
  const std::string completed_id = DayCloseCompletedCommandId(region, *closed);
  RETURN_IF_ERROR(
      executor_
          .Execute("", region,
                   [&]() -> absl::StatusOr<command::Decision> {
                     command::Decision decision;
                     decision.command_id = completed_id;
                     decision.events = DecideDayCloseCompleted(
                         policy_, region, *closed, static_cast<int32_t>(ordered.size()),
                         accounts_decided.load(),
                         {completed_id, absl::ToUnixMicros(absl::Now()), event.event_id()});
                     return decision;
                   })
          .status());
  batch.Set(Keys::ReactorClosed(region), absl::StrCat(closed_day));
  closed_pending_[region] = closed_day;
  return absl::OkStatus();
}

}  // namespace ar::collections
