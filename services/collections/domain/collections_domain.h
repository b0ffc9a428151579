#pragma once
// The collections domain: pure rules, no I/O and no clock.
//
// State: one `ar.v1.CollectionsAccount` per (tenant, account) holding its invoices as
// collections sees them (amounts from invoicing and payments events, plus the decisions
// already taken: announced bucket, dunning level, reminders sent, fees assessed) and its
// promise to pay. Every fact is applied by EvolveAccount; facts are counters or flags, so
// the state is the same whatever the interleaving of the input topics (an allocation that
// arrives before its invoice is simply counted on an invoice not yet issued).
//
// Time: a region's business date B is the day after its last BusinessDayClosed; before
// the first one a region has none and nothing is overdue. days past due = B - due date.
//
// Decisions are functions of (state, policy, B): DecideDayClose and DecideImmediate return
// only what has not been decided yet, so running them again on the state that already
// shows their events returns nothing (replays and duplicate day closes are no-ops).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "ar/v1/collections.pb.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"

namespace ar::collections {

// The aging label of amounts not yet past due.
inline constexpr char kNotYetDue[] = "not_yet_due";
// The aging label of the total open amount.
inline constexpr char kOpenLabel[] = "open";
inline constexpr char kDefaultLadder[] = "default";
// Limits against absurd input (far above anything real).
inline constexpr int64_t kMaxAmountMinor = 1'000'000'000'000'000;
inline constexpr size_t kMaxTextLength = 1000;

// ---- policy ----

// The built-in policy (the same as config/collections.textproto).
v1::CollectionsPolicy DefaultPolicy();
// Checks a policy: buckets strictly rising from 1, ladders with rising days and levels,
// offsets >= 0, a "default" ladder present. INVALID_ARGUMENT naming the problem.
absl::Status ValidatePolicy(const v1::CollectionsPolicy& policy);
// Text format -> validated policy.
absl::StatusOr<v1::CollectionsPolicy> ParsePolicy(std::string_view text);

// The bucket label of `days_past_due` (kNotYetDue when < 1).
const std::string& BucketFor(const v1::CollectionsPolicy& policy, int64_t days_past_due);
// The ladder of `grade`, or the "default" ladder when the grade has none.
const v1::DunningLadder& LadderFor(const v1::CollectionsPolicy& policy, const std::string& grade);

// Every days-past-due value at which something can change for an invoice: 1 (overdue),
// each bucket's minimum, each ladder step of any grade. Sorted, unique.
std::vector<int64_t> OverdueEdges(const v1::CollectionsPolicy& policy);

// Inclusive ranges of day numbers.
struct DayRange {
  int64_t min = 0;
  int64_t max = 0;
};
// The due dates (day numbers) of invoices whose state can change when a region's business
// date moves from `previous` (nullopt: it had none) to `current`: those crossing an
// overdue edge, and those reaching a reminder offset on `current`. A day close costs work
// proportional to the invoices in these ranges, not to all open invoices.
std::vector<DayRange> DueDateRangesToVisit(const v1::CollectionsPolicy& policy,
                                           std::optional<int64_t> previous, int64_t current);
// The promise dates that break when the business date moves from `previous` to `current`.
DayRange PromiseDatesToVisit(std::optional<int64_t> previous, int64_t current);

// ---- invoice and account facts ----

// Business dates per region (only regions that have one).
using BusinessDates = std::map<std::string, absl::CivilDay>;

// What is still owed: total - credited - paid; 0 unless issued and neither cancelled nor
// written off.
int64_t OpenAmount(const v1::CollectionsInvoice& invoice);
// B - due date, or nullopt when the invoice's region has no business date yet.
std::optional<int64_t> DaysPastDue(const v1::CollectionsInvoice& invoice,
                                   const BusinessDates& dates);
// Open minus disputed when at least one day past due, else 0.
int64_t OverdueAmount(const v1::CollectionsInvoice& invoice, const BusinessDates& dates);
// The aging label the invoice's open amount counts in (kNotYetDue before the due date
// has passed).
const std::string& AgingLabel(const v1::CollectionsPolicy& policy,
                              const v1::CollectionsInvoice& invoice, const BusinessDates& dates);

// Open amounts per (region, subsidiary, currency) and aging label (each bucket, kNotYetDue,
// and kOpenLabel for the total), as the aging aggregates hold them.
using AgingSums =
    std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, int64_t>>;

// The aging report of those sums: one line per place with an open balance, in place order,
// with every bucket of the policy in the policy's order.
v1::AgingReport AgingReportOf(const v1::CollectionsPolicy& policy, AgingSums sums);

const v1::CollectionsInvoice* FindInvoice(const v1::CollectionsAccount& account,
                                          std::string_view invoice_id);
bool PromiseLive(const v1::CollectionsAccount& account);

// The overdue-customer table row of an account (amounts in the currency of its first
// overdue invoice; invoices in other currencies are not summed into it).
v1::OverdueRow OverdueRowOf(const v1::CollectionsPolicy& policy,
                            const v1::CollectionsAccount& account, const BusinessDates& dates);

// ---- evolution ----

// Applies any event to the account. Events that do not concern collections leave it as
// it was. `event` must be for this account (the caller keys states by tenant/account).
void EvolveAccount(v1::CollectionsAccount& account, const v1::Event& event);

// Notes that `command_id` was applied; false when it already was (a re-published batch).
bool NoteCommandApplied(v1::CollectionsAccount& account, const std::string& command_id);

// ---- decisions ----

struct CommandContext {
  std::string command_id;
  int64_t recorded_at_unix_micros = 0;
  std::string correlation_id;
};

// Command ids (EventBatch.command_id and the parent of derived event ids).
std::string DayCloseCommandId(absl::string_view region, absl::CivilDay closed_date,
                              absl::string_view tenant, absl::string_view account);
std::string ReactionCommandId(absl::string_view source_event_id);
std::string PromiseCommandId(absl::string_view promise_id);
std::string WriteOffCommandId(absl::string_view invoice_id);
std::string DayCloseCompletedCommandId(absl::string_view region, absl::CivilDay closed_date);

// What the close of the day before `business_date` in `region` decides for the account:
// PromiseToPayBroken for an open promise dated before B, then per invoice of the region:
// ReminderDue (B + offset == due date, not yet sent), AccountOverdue (first time overdue
// or a new bucket), DunningLevelRaised (the highest step of the grade's ladder reached,
// unless a live promise pauses the account or a dispute the invoice) and
// DunningFeeAssessed (once per invoice and level). Empty when nothing is due.
std::vector<v1::Event> DecideDayClose(const v1::CollectionsPolicy& policy,
                                      const v1::CollectionsAccount& account,
                                      const std::string& region, absl::CivilDay business_date,
                                      const CommandContext& context);

// Whether DecideDayClose would decide anything (the same rules, no events built).
bool DayCloseDecisionPending(const v1::CollectionsPolicy& policy,
                             const v1::CollectionsAccount& account, const std::string& region,
                             absl::CivilDay business_date);

// The record that ends the close of `closed_date` in `region`, once every account's
// decisions are in the log: CollectionsDayCloseCompleted (account = region, no tenant).
// A reactor that meets that close again (a replay into an empty read model, a duplicate)
// sees it in the read model and decides nothing: deciding an old date against today's
// state would send reminders and bucket changes that were never due then.
std::vector<v1::Event> DecideDayCloseCompleted(const v1::CollectionsPolicy& policy,
                                               const std::string& region,
                                               absl::CivilDay closed_date, int32_t visited,
                                               int32_t decided, const CommandContext& context);

// Decisions that do not wait for a day close: AccountCured when an announced overdue
// account has no overdue amount left (cause: what just happened), PromiseToPayKept when
// payments since the promise cover it.
std::vector<v1::Event> DecideImmediate(const v1::CollectionsAccount& account,
                                       const BusinessDates& dates, const std::string& cause,
                                       const CommandContext& context);

// RecordPromise: PromiseToPayRecorded (ALREADY_EXISTS when the promise id was used with
// other content; an identical repeat returns no events). `today` is the account region's
// business date if it has one (a promise dated before it is refused).
absl::StatusOr<std::vector<v1::Event>> DecideRecordPromise(const v1::RecordPromiseRequest& request,
                                                           const v1::CollectionsAccount& account,
                                                           std::optional<absl::CivilDay> today,
                                                           const CommandContext& context);

// WriteOffDebt: DebtWrittenOff of the open amount (FAILED_PRECONDITION when the invoice
// is not open, NOT_FOUND when unknown), then AccountCured when nothing overdue is left.
absl::StatusOr<std::vector<v1::Event>> DecideWriteOff(const v1::WriteOffDebtRequest& request,
                                                      const v1::CollectionsAccount& account,
                                                      const BusinessDates& dates,
                                                      const CommandContext& context);

}  // namespace ar::collections
