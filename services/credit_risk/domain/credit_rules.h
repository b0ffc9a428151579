#pragma once
// The credit-risk domain: pure rules, no I/O and no clock.
//
// State: one `ar.v1.CreditAccountState` per (tenant, account), evolved by every event that
// concerns the account (invoices, allocations, reversals, broken promises, write-offs,
// its limit, and the service's own decisions). Exposure, score, grade and the hold policy
// are computed from that state, the FX rates and the region's business date at the moment
// they are needed, so they never depend on the order in which FX events and invoices were
// consumed. docs/credit-scoring.md documents the formula with a worked example.
//
// Amounts: int64 minor units. Conversion to the base currency uses core::ConvertFx (exact
// product, rounded half-even to the base currency's minor unit) once per currency sum.
// Status codes: INVALID_ARGUMENT for bad input, ALREADY_EXISTS for a request id reused with
// different content.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/credit_risk.pb.h"
#include "ar/v1/events.pb.h"

namespace ar::credit {

// Any limit or rate beyond this is absurd input (keeps sums far from int64 overflow).
inline constexpr int64_t kMaxAmountMinor = 1'000'000'000'000'000;
// Utilisation without a usable limit (limit 0 with exposure) is reported as this.
inline constexpr int32_t kMaxUtilisationBp = 1'000'000;

inline constexpr char kFactorDaysBeyondTerms[] = "days_beyond_terms";
inline constexpr char kFactorMaxDaysPastDue[] = "max_days_past_due";
inline constexpr char kFactorOverdueShare[] = "overdue_share";
inline constexpr char kFactorBrokenPromises[] = "broken_promises";
inline constexpr char kFactorBouncedPayments[] = "bounced_payments";
inline constexpr char kFactorUtilisation[] = "utilisation";

// The service's settings the decisions depend on.
struct Settings {
  std::string base_currency = "EUR";
  v1::CreditPolicy policy;  // DefaultPolicy() unless configured
};

// ---- policy ----

// The built-in policy (the same as config/credit_policy.textproto).
v1::CreditPolicy DefaultPolicy();
// Parses protobuf text format and validates it; INVALID_ARGUMENT naming the problem.
absl::StatusOr<v1::CreditPolicy> ParsePolicy(const std::string& text);
absl::Status ValidatePolicy(const v1::CreditPolicy& policy);

// ---- FX ----

// The rates that convert into the base currency: currency -> rate_nano (to base).
struct FxTable {
  std::string base_currency = "EUR";
  std::map<std::string, int64_t> rate_to_base;
};

// The partition key (Event.account) of FxRateSet events: FX rates are tenant-wide, and
// one key per pair keeps each pair's rates in order.
std::string FxPartitionKey(absl::string_view from, absl::string_view to);

// `minor_units` of `currency` in the base currency; nullopt when no rate is known.
// INVALID_ARGUMENT only on overflow.
absl::StatusOr<std::optional<int64_t>> ToBase(int64_t minor_units, const std::string& currency,
                                              const FxTable& fx);

// ---- invoices ----

// What is still owed on an issued invoice (0 when not issued, cancelled or written off).
int64_t OpenAmount(const v1::CreditInvoice& invoice);
// The day the invoice was fully paid by allocations (the latest live allocation's day),
// or nullopt while it is not paid by payments.
std::optional<int64_t> PaidDay(const v1::CreditInvoice& invoice);
// The earliest due day of an open invoice (the due-date index score), if any.
std::optional<int64_t> EarliestOpenDueDay(const v1::CreditAccountState& state);

// ---- evolution ----

// Whether the event is a fact of the account's history (invoice, credit note,
// cancellation, write-off, allocation, reversal, broken promise): what can move its score.
bool IsHistoryEvent(const v1::Event& event);

// Applies any event to the account state. Returns false when the event does not concern
// the account state (so nothing needs writing).
bool EvolveAccount(v1::CreditAccountState& state, const v1::Event& event);

// Whether `command_id` (our own decision) was already applied; notes it otherwise.
bool NoteCommandApplied(v1::CreditAccountState& state, const std::string& command_id);

// ---- exposure, inputs, score ----

struct Exposure {
  int64_t base_minor = 0;                      // open receivables converted to base
  std::map<std::string, int64_t> by_currency;  // open per currency (non-zero only)
  std::vector<std::string> missing_rates;      // currencies left out: no rate known
};
absl::StatusOr<Exposure> ComputeExposure(const v1::CreditAccountState& state, const FxTable& fx);

struct ScoreInputs {
  int64_t days_beyond_terms = 0;  // amount-weighted average, floor, >= 0
  int64_t paid_invoices = 0;
  int64_t max_days_past_due = 0;
  int64_t overdue_share_bp = 0;
  int64_t broken_promises = 0;
  int64_t bounced_payments = 0;
  std::optional<int64_t> utilisation_bp;  // nullopt without a limit
  int64_t exposure_base_minor = 0;
};

// `business_day`: the region's business date (day number), nullopt before any day close
// (then nothing is overdue).
absl::StatusOr<ScoreInputs> ComputeInputs(const v1::CreditAccountState& state, const FxTable& fx,
                                          std::optional<int64_t> business_day);

// Utilisation in basis points (floor); kMaxUtilisationBp caps it (limit 0 with exposure).
int64_t UtilisationBp(int64_t exposure_minor, int64_t limit_minor);

struct Score {
  int32_t score = 1000;
  std::vector<v1::ScoreFactor> factors;  // every factor, most negative first, then by name
};
Score ComputeScore(const ScoreInputs& inputs, const v1::CreditPolicy& policy);
// One factor's points (<= 0), see CreditFactorWeight.
int64_t FactorPenalty(int64_t value, const v1::CreditFactorWeight& weight);
std::string GradeFor(int32_t score, const v1::CreditPolicy& policy);
// The factors with points != 0, most negative first, at most policy.top_factors.
std::vector<v1::ScoreFactor> TopFactors(const Score& score, const v1::CreditPolicy& policy);

// The first hold rule that holds, as (rule, reason); nullopt when none does.
struct HoldRule {
  std::string rule;
  std::string reason;
};
std::optional<HoldRule> EvaluateHold(const std::string& grade, const ScoreInputs& inputs,
                                     const v1::CreditPolicy& policy);

// ---- decisions ----

struct CommandContext {
  std::string command_id;
  int64_t recorded_at_unix_micros = 0;
  std::string correlation_id;
};

struct Outcome {
  std::vector<v1::Event> events;
  std::optional<v1::CommandResult> duplicate_of;
};

// The group an account belongs to, as a decision sees it (all members, any subsidiary).
struct GroupView {
  std::string group;
  int64_t limit_minor = 0;
  int64_t exposure_minor = 0;  // sum over the members' exposures in base
};

// Everything a review of one account is decided on.
struct Review {
  const v1::CreditAccountState* state = nullptr;
  const FxTable* fx = nullptr;
  const v1::CreditPolicy* policy = nullptr;
  std::optional<int64_t> business_day;
  std::optional<GroupView> group;
  // Set when the trigger is InvoiceIssued: the limit check runs for it.
  std::string issued_invoice_id;
  std::string trigger_event_id;
  // as_of of the decisions when the region has no business date yet.
  std::optional<int64_t> trigger_day;
};

// CreditRatingChanged when the grade differs from the rated one (and the account has an
// issued invoice), CreditLimitExceeded when the issued invoice (the account's latest) pushes
// the account's or the group's exposure from at or under its limit to above it,
// CreditHoldPlaced / CreditHoldReleased per policy.
// Empty when nothing changed or when context.command_id was already applied, so a replayed
// review publishes nothing.
absl::StatusOr<Outcome> DecideReview(const Review& review, const CommandContext& context);

// Input checks of SetCreditLimit alone.
absl::Status ValidateSetCreditLimit(const v1::SetCreditLimitRequest& request,
                                    const std::string& base_currency);
std::string SetCreditLimitCommandId(const std::string& request_id);
// SetCreditLimit: one CreditLimitSet, or the earlier result for a repeat (same request id
// and content; or no request id and the content equals the current settings).
absl::StatusOr<Outcome> DecideSetCreditLimit(const v1::SetCreditLimitRequest& request,
                                             const v1::CreditAccountState& state,
                                             const std::string& base_currency,
                                             const CommandContext& context);

absl::Status ValidateSetFxRate(const v1::SetFxRateRequest& request);
// SetFxRate: one FxRateSet keyed by FxPartitionKey. The rate already recorded for the
// pair and the request's effective date (`recorded_rate_nano`, none when none) equal to the
// request's is an idempotent repeat: nothing new (a feed that sends its rates again
// publishes nothing).
absl::StatusOr<Outcome> DecideSetFxRate(const v1::SetFxRateRequest& request,
                                        std::optional<int64_t> recorded_rate_nano,
                                        const CommandContext& context);

// Command ids of the reactor's decisions.
std::string ReviewCommandId(absl::string_view source_event_id);
std::string FxReviewCommandId(absl::string_view fx_event_id, absl::string_view account);
std::string DayCloseCommandId(absl::string_view region, absl::string_view date,
                              absl::string_view tenant, absl::string_view account);

}  // namespace ar::credit
