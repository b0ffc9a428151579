#include "services/credit_risk/domain/credit_rules.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "libs/core/dates.h"
#include "libs/core/ids.h"
#include "libs/core/money.h"
#include "libs/core/status_macros.h"
#include "libs/protoconv/protoconv.h"

namespace ar::credit {
namespace {

v1::CreditFactorWeight Weight(int64_t allowance, int64_t points_per_step, int64_t step,
                              int64_t max_points) {
  v1::CreditFactorWeight weight;
  weight.set_allowance(allowance);
  weight.set_points_per_step(points_per_step);
  weight.set_step(step);
  weight.set_max_points(max_points);
  return weight;
}

absl::Status ValidateWeight(const v1::CreditFactorWeight& weight, absl::string_view what) {
  if (weight.step() <= 0 || weight.allowance() < 0 || weight.points_per_step() < 0 ||
      weight.max_points() < 0 || weight.max_points() > 1000 ||
      weight.points_per_step() > 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy ", what, ": step must be > 0, allowance and points >= 0, max_points <= 1000"));
  }
  return absl::OkStatus();
}

// Inserts into a sorted list of ids; false when it was already there.
bool InsertSorted(google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) return false;
  const int index = static_cast<int>(it - ids.begin());
  ids.Add()->assign(id);
  for (int i = ids.size() - 1; i > index; --i) ids.SwapElements(i, i - 1);
  return true;
}

v1::CreditInvoice& FindOrAddInvoice(v1::CreditAccountState& state, const std::string& invoice_id) {
  auto* invoices = state.mutable_invoices();
  auto it = std::lower_bound(invoices->begin(), invoices->end(), invoice_id,
                             [](const v1::CreditInvoice& invoice, const std::string& id) {
                               return invoice.invoice_id() < id;
                             });
  if (it != invoices->end() && it->invoice_id() == invoice_id) return *it;
  const int index = static_cast<int>(it - invoices->begin());
  v1::CreditInvoice* added = invoices->Add();
  added->set_invoice_id(invoice_id);
  for (int i = invoices->size() - 1; i > index; --i) invoices->SwapElements(i, i - 1);
  return invoices->at(index);
}

int64_t DayOf(const v1::Date& date) {
  absl::StatusOr<absl::CivilDay> day = protoconv::DayFromProto(date, "date");
  return day.ok() ? core::DayNumber(*day) : 0;
}

v1::Date DateOfDay(int64_t day_number) {
  absl::StatusOr<absl::CivilDay> day = core::DayFromNumber(day_number);
  return day.ok() ? protoconv::DayToProto(*day) : v1::Date();
}

bool IsLive(const v1::CreditInvoice& invoice) {
  return invoice.issued() && !invoice.cancelled() && !invoice.written_off();
}

void FillAccountRef(v1::CreditAccountState& state, const v1::Event& event) {
  v1::AccountRef* ref = state.mutable_account();
  if (ref->tenant().empty()) ref->set_tenant(event.tenant());
  if (ref->account().empty()) ref->set_account(event.account());
  if (ref->region().empty()) ref->set_region(event.region());
  if (ref->subsidiary().empty()) ref->set_subsidiary(event.subsidiary());
}

v1::Event NewEvent(const v1::AccountRef& account, const CommandContext& context, int index) {
  v1::Event event;
  protoconv::StampEnvelope(
      event, account, core::DerivedEventId(context.command_id, absl::StrCat("/", index)),
      {context.recorded_at_unix_micros, context.correlation_id, context.command_id});
  return event;
}

int32_t ClampInt32(int64_t value) {
  return static_cast<int32_t>(std::clamp<int64_t>(value, 0, kMaxUtilisationBp));
}

}  // namespace

// ---- policy ----

v1::CreditPolicy DefaultPolicy() {
  v1::CreditPolicy policy;
  policy.set_version("credit-policy-2026-11-v1");
  *policy.mutable_days_beyond_terms() = Weight(0, 5, 1, 250);
  *policy.mutable_max_days_past_due() = Weight(0, 4, 1, 300);
  *policy.mutable_overdue_share() = Weight(0, 150, 10'000, 150);
  *policy.mutable_broken_promises() = Weight(0, 50, 1, 150);
  *policy.mutable_bounced_payments() = Weight(0, 75, 1, 150);
  *policy.mutable_utilisation() = Weight(8'000, 100, 4'000, 100);
  policy.mutable_grades()->set_a(800);
  policy.mutable_grades()->set_b(650);
  policy.mutable_grades()->set_c(500);
  policy.mutable_grades()->set_d(350);
  static const std::string kGradeE = "E";
  policy.mutable_hold()->add_hold_at_grades(kGradeE);
  policy.mutable_hold()->set_max_days_past_due_above(60);
  policy.mutable_hold()->set_utilisation_above_bp(12'000);
  policy.set_top_factors(3);
  return policy;
}

absl::Status ValidatePolicy(const v1::CreditPolicy& policy) {
  if (policy.version().empty()) return absl::InvalidArgumentError("policy version is missing");
  RETURN_IF_ERROR(ValidateWeight(policy.days_beyond_terms(), "days_beyond_terms"));
  RETURN_IF_ERROR(ValidateWeight(policy.max_days_past_due(), "max_days_past_due"));
  RETURN_IF_ERROR(ValidateWeight(policy.overdue_share(), "overdue_share"));
  RETURN_IF_ERROR(ValidateWeight(policy.broken_promises(), "broken_promises"));
  RETURN_IF_ERROR(ValidateWeight(policy.bounced_payments(), "bounced_payments"));
  RETURN_IF_ERROR(ValidateWeight(policy.utilisation(), "utilisation"));
  const v1::CreditGradeThresholds& g = policy.grades();
  if (!(g.a() <= 1000 && g.a() > g.b() && g.b() > g.c() && g.c() > g.d() && g.d() >= 0)) {
    return absl::InvalidArgumentError("policy grades must satisfy 1000 >= a > b > c > d >= 0");
  }
  for (const std::string& grade : policy.hold().hold_at_grades()) {
    if (grade.size() != 1 || grade[0] < 'A' || grade[0] > 'E') {
      return absl::InvalidArgumentError(
          absl::StrCat("policy hold grade '", grade, "' is not A..E"));
    }
  }
  if (policy.hold().max_days_past_due_above() < 0 || policy.hold().utilisation_above_bp() < 0 ||
      policy.top_factors() < 0) {
    return absl::InvalidArgumentError("policy hold thresholds and top_factors must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CreditPolicy> ParsePolicy(const std::string& text) {
  v1::CreditPolicy policy;
  if (!google::protobuf::TextFormat::ParseFromString(text, &policy)) {
    return absl::InvalidArgumentError("credit policy does not parse as ar.v1.CreditPolicy");
  }
  RETURN_IF_ERROR(ValidatePolicy(policy));
  return policy;
}

// ---- FX ----

std::string FxPartitionKey(absl::string_view from, absl::string_view to) {
  return absl::StrCat("fx:", from, ":", to);
}

absl::StatusOr<std::optional<int64_t>> ToBase(int64_t minor_units, const std::string& currency,
                                              const FxTable& fx) {
  if (currency == fx.base_currency) return std::optional<int64_t>(minor_units);
  auto rate = fx.rate_to_base.find(currency);
  if (rate == fx.rate_to_base.end()) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(core::Money converted, core::ConvertFx(core::Money{minor_units, currency},
                                                          fx.base_currency, rate->second));
  return std::optional<int64_t>(converted.minor_units);
}

// ---- invoices ----

int64_t OpenAmount(const v1::CreditInvoice& invoice) {
  if (!IsLive(invoice)) return 0;
  int64_t open = invoice.total_minor() - invoice.credited_minor();
  for (const v1::CreditAllocation& allocation : invoice.allocations()) {
    if (!allocation.reversed()) open -= allocation.amount_minor();
  }
  return std::max<int64_t>(open, 0);
}

std::optional<int64_t> PaidDay(const v1::CreditInvoice& invoice) {
  if (!IsLive(invoice) || OpenAmount(invoice) > 0) return std::nullopt;
  std::optional<int64_t> paid;
  for (const v1::CreditAllocation& allocation : invoice.allocations()) {
    if (allocation.reversed()) continue;
    paid = std::max(paid.value_or(allocation.allocation_day()), allocation.allocation_day());
  }
  return paid;
}

std::optional<int64_t> EarliestOpenDueDay(const v1::CreditAccountState& state) {
  std::optional<int64_t> earliest;
  for (const v1::CreditInvoice& invoice : state.invoices()) {
    if (OpenAmount(invoice) <= 0) continue;
    earliest = std::min(earliest.value_or(invoice.due_day()), invoice.due_day());
  }
  return earliest;
}

// ---- evolution ----

bool IsHistoryEvent(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued:
    case v1::Event::kCreditNoteIssued:
    case v1::Event::kInvoiceCancelled:
    case v1::Event::kDebtWrittenOff:
    case v1::Event::kPaymentAllocated:
    case v1::Event::kPaymentReversed:
    case v1::Event::kPromiseToPayBroken:
      return true;
    default:
      return false;
  }
}

bool NoteCommandApplied(v1::CreditAccountState& state, const std::string& command_id) {
  if (command_id.empty()) return true;
  return InsertSorted(*state.mutable_applied_commands(), command_id);
}

bool EvolveAccount(v1::CreditAccountState& state, const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued: {
      const v1::InvoiceIssued& issued = event.invoice_issued();
      v1::CreditInvoice& invoice = FindOrAddInvoice(state, issued.invoice_id());
      if (invoice.issued()) return true;  // an id issued once counts once
      invoice.set_issued(true);
      state.set_issued_invoices(state.issued_invoices() + 1);
      invoice.set_issued_ordinal(state.issued_invoices());
      invoice.set_currency(issued.total().currency());
      invoice.set_total_minor(issued.total().minor_units());
      invoice.set_due_day(DayOf(issued.due_date()));
      invoice.set_issue_day(DayOf(issued.issue_date()));
      break;
    }
    case v1::Event::kCreditNoteIssued: {
      const v1::CreditNoteIssued& note = event.credit_note_issued();
      v1::CreditInvoice& invoice = FindOrAddInvoice(state, note.invoice_id());
      if (InsertSorted(*invoice.mutable_credit_note_ids(), note.credit_note_id())) {
        invoice.set_credited_minor(invoice.credited_minor() + note.amount().minor_units());
      }
      break;
    }
    case v1::Event::kInvoiceCancelled:
      FindOrAddInvoice(state, event.invoice_cancelled().invoice_id()).set_cancelled(true);
      break;
    case v1::Event::kDebtWrittenOff:
      FindOrAddInvoice(state, event.debt_written_off().invoice_id()).set_written_off(true);
      break;
    case v1::Event::kPaymentAllocated: {
      const v1::PaymentAllocated& allocated = event.payment_allocated();
      v1::CreditInvoice& invoice = FindOrAddInvoice(state, allocated.invoice_id());
      for (const v1::CreditAllocation& known : invoice.allocations()) {
        if (!event.event_id().empty() && known.event_id() == event.event_id()) return true;
      }
      v1::CreditAllocation* allocation = invoice.add_allocations();
      allocation->set_payment_id(allocated.payment_id());
      allocation->set_amount_minor(allocated.amount().minor_units());
      allocation->set_allocation_day(DayOf(allocated.allocation_date()));
      allocation->set_event_id(event.event_id());
      break;
    }
    case v1::Event::kPaymentReversed: {
      const v1::PaymentReversed& reversed = event.payment_reversed();
      for (const v1::PaymentAllocationLine& line : reversed.reversed_allocations()) {
        v1::CreditInvoice& invoice = FindOrAddInvoice(state, line.invoice_id());
        for (v1::CreditAllocation& allocation : *invoice.mutable_allocations()) {
          if (allocation.payment_id() == reversed.payment_id()) allocation.set_reversed(true);
        }
      }
      InsertSorted(*state.mutable_bounced_payment_ids(), reversed.payment_id());
      break;
    }
    case v1::Event::kPromiseToPayBroken:
      InsertSorted(*state.mutable_broken_promise_ids(), event.promise_to_pay_broken().promise_id());
      break;
    case v1::Event::kCreditLimitSet: {
      const v1::CreditLimitSet& set = event.credit_limit_set();
      state.set_has_limit(true);
      state.set_limit_minor(set.limit().minor_units());
      state.set_credit_group(set.credit_group());
      state.set_group_limit_minor(set.group_limit().minor_units());
      state.set_set_by(set.set_by());
      state.set_limit_request_id(event.causation_id());
      state.set_limit_set_at_unix_micros(event.recorded_at_unix_micros());
      state.clear_limit_event_ids();
      state.add_limit_event_ids(event.event_id());
      break;
    }
    case v1::Event::kCreditRatingChanged:
      state.set_rated_grade(event.credit_rating_changed().new_grade());
      state.set_rated_score(event.credit_rating_changed().score());
      break;
    case v1::Event::kCreditHoldPlaced:
      state.set_on_hold(true);
      state.set_hold_rule(event.credit_hold_placed().policy_rule());
      break;
    case v1::Event::kCreditHoldReleased:
      state.set_on_hold(false);
      state.clear_hold_rule();
      break;
    case v1::Event::kCreditLimitExceeded:
      break;  // a decision with no state of its own
    default:
      return false;
  }
  FillAccountRef(state, event);
  return true;
}

// ---- exposure, inputs, score ----

absl::StatusOr<Exposure> ComputeExposure(const v1::CreditAccountState& state, const FxTable& fx) {
  Exposure exposure;
  for (const v1::CreditInvoice& invoice : state.invoices()) {
    const int64_t open = OpenAmount(invoice);
    if (open > 0) exposure.by_currency[invoice.currency()] += open;
  }
  for (const auto& [currency, open] : exposure.by_currency) {
    ASSIGN_OR_RETURN(std::optional<int64_t> base, ToBase(open, currency, fx));
    if (!base) {
      exposure.missing_rates.push_back(currency);
      continue;
    }
    exposure.base_minor += *base;
  }
  return exposure;
}

int64_t UtilisationBp(int64_t exposure_minor, int64_t limit_minor) {
  if (exposure_minor <= 0) return 0;
  if (limit_minor <= 0) return kMaxUtilisationBp;
  const __int128 bp = static_cast<__int128>(exposure_minor) * 10'000 / limit_minor;
  return bp > kMaxUtilisationBp ? kMaxUtilisationBp : static_cast<int64_t>(bp);
}

absl::StatusOr<ScoreInputs> ComputeInputs(const v1::CreditAccountState& state, const FxTable& fx,
                                          std::optional<int64_t> business_day) {
  ScoreInputs inputs;
  __int128 weighted_days = 0;
  __int128 weights = 0;
  std::map<std::string, int64_t> overdue_by_currency;
  for (const v1::CreditInvoice& invoice : state.invoices()) {
    const int64_t open = OpenAmount(invoice);
    if (open > 0 && business_day && *business_day - invoice.due_day() >= 1) {
      inputs.max_days_past_due =
          std::max(inputs.max_days_past_due, *business_day - invoice.due_day());
      overdue_by_currency[invoice.currency()] += open;
    }
    const std::optional<int64_t> paid = PaidDay(invoice);
    if (!paid) continue;
    ASSIGN_OR_RETURN(std::optional<int64_t> weight,
                     ToBase(invoice.total_minor(), invoice.currency(), fx));
    if (!weight || *weight <= 0) continue;  // no rate: left out of the average
    weighted_days +=
        static_cast<__int128>(*weight) * std::max<int64_t>(0, *paid - invoice.due_day());
    weights += *weight;
    ++inputs.paid_invoices;
  }
  if (weights > 0) inputs.days_beyond_terms = static_cast<int64_t>(weighted_days / weights);

  ASSIGN_OR_RETURN(Exposure exposure, ComputeExposure(state, fx));
  inputs.exposure_base_minor = exposure.base_minor;
  int64_t overdue_base = 0;
  for (const auto& [currency, overdue] : overdue_by_currency) {
    ASSIGN_OR_RETURN(std::optional<int64_t> base, ToBase(overdue, currency, fx));
    if (base) overdue_base += *base;
  }
  if (exposure.base_minor > 0) {
    inputs.overdue_share_bp =
        static_cast<int64_t>(static_cast<__int128>(overdue_base) * 10'000 / exposure.base_minor);
  }
  inputs.broken_promises = state.broken_promise_ids_size();
  inputs.bounced_payments = state.bounced_payment_ids_size();
  if (state.has_limit())
    inputs.utilisation_bp = UtilisationBp(exposure.base_minor, state.limit_minor());
  return inputs;
}

int64_t FactorPenalty(int64_t value, const v1::CreditFactorWeight& weight) {
  if (weight.step() <= 0 || value <= weight.allowance()) return 0;
  const __int128 points =
      static_cast<__int128>(value - weight.allowance()) * weight.points_per_step() / weight.step();
  return -static_cast<int64_t>(std::min<__int128>(points, weight.max_points()));
}

Score ComputeScore(const ScoreInputs& inputs, const v1::CreditPolicy& policy) {
  Score score;
  auto add = [&](const char* name, int64_t value, const v1::CreditFactorWeight& weight,
                 std::string detail) {
    v1::ScoreFactor factor;
    factor.set_name(name);
    factor.set_points(static_cast<int32_t>(FactorPenalty(value, weight)));
    factor.set_detail(std::move(detail));
    score.factors.push_back(std::move(factor));
  };
  add(kFactorDaysBeyondTerms, inputs.days_beyond_terms, policy.days_beyond_terms(),
      absl::StrCat(inputs.days_beyond_terms, " days beyond terms (amount-weighted over ",
                   inputs.paid_invoices, " paid invoices)"));
  add(kFactorMaxDaysPastDue, inputs.max_days_past_due, policy.max_days_past_due(),
      absl::StrCat(inputs.max_days_past_due, " days past due (oldest open invoice)"));
  add(kFactorOverdueShare, inputs.overdue_share_bp, policy.overdue_share(),
      absl::StrCat(inputs.overdue_share_bp, " bp of the open balance overdue"));
  add(kFactorBrokenPromises, inputs.broken_promises, policy.broken_promises(),
      absl::StrCat(inputs.broken_promises, " broken promises to pay"));
  add(kFactorBouncedPayments, inputs.bounced_payments, policy.bounced_payments(),
      absl::StrCat(inputs.bounced_payments, " reversed payments"));
  add(kFactorUtilisation, inputs.utilisation_bp.value_or(0), policy.utilisation(),
      inputs.utilisation_bp ? absl::StrCat(*inputs.utilisation_bp, " bp of the credit limit used")
                            : std::string("no credit limit"));
  int64_t total = 1000;
  for (const v1::ScoreFactor& factor : score.factors) total += factor.points();
  score.score = static_cast<int32_t>(std::clamp<int64_t>(total, 0, 1000));
  std::stable_sort(score.factors.begin(), score.factors.end(),
                   [](const v1::ScoreFactor& a, const v1::ScoreFactor& b) {
                     if (a.points() != b.points()) return a.points() < b.points();
                     return a.name() < b.name();
                   });
  return score;
}

std::string GradeFor(int32_t score, const v1::CreditPolicy& policy) {
  const v1::CreditGradeThresholds& g = policy.grades();
  if (score >= g.a()) return "A";
  if (score >= g.b()) return "B";
  if (score >= g.c()) return "C";
  if (score >= g.d()) return "D";
  return "E";
}

std::vector<v1::ScoreFactor> TopFactors(const Score& score, const v1::CreditPolicy& policy) {
  std::vector<v1::ScoreFactor> top;
  for (const v1::ScoreFactor& factor : score.factors) {
    if (static_cast<int>(top.size()) >= policy.top_factors()) break;
    if (factor.points() != 0) top.push_back(factor);
  }
  return top;
}

std::optional<HoldRule> EvaluateHold(const std::string& grade, const ScoreInputs& inputs,
                                     const v1::CreditPolicy& policy) {
  const v1::CreditHoldRules& rules = policy.hold();
  for (const std::string& held : rules.hold_at_grades()) {
    if (held == grade) {
      return HoldRule{absl::StrCat("grade=", grade), absl::StrCat("credit grade ", grade)};
    }
  }
  if (rules.max_days_past_due_above() > 0 &&
      inputs.max_days_past_due > rules.max_days_past_due_above()) {
    return HoldRule{absl::StrCat("max_days_past_due>", rules.max_days_past_due_above()),
                    absl::StrCat(inputs.max_days_past_due, " days past due")};
  }
  if (rules.utilisation_above_bp() > 0 && inputs.utilisation_bp &&
      *inputs.utilisation_bp > rules.utilisation_above_bp()) {
    return HoldRule{absl::StrCat("utilisation>", rules.utilisation_above_bp(), "bp"),
                    absl::StrCat("utilisation ", *inputs.utilisation_bp, " bp of the limit")};
  }
  return std::nullopt;
}

// ---- decisions ----

namespace {

// CreditLimitExceeded when the issued invoice pushes the account's (or its group's) exposure
// from at or under the limit to above it. Only the account's latest issued invoice is
// checked: a review replayed long after (a rebuilt reactor) must not find an old invoice
// "over the limit" because of what happened since.
absl::Status DecideLimitExceeded(const Review& review, int64_t exposure,
                                 const v1::CreditDecisionInputs& decided_on,
                                 const std::function<v1::Event&()>& add) {
  const v1::CreditAccountState& state = *review.state;
  const std::string& base = review.fx->base_currency;
  const auto& invoices = state.invoices();
  auto invoice = std::find_if(invoices.begin(), invoices.end(), [&](const v1::CreditInvoice& i) {
    return i.invoice_id() == review.issued_invoice_id;
  });
  if (invoice == invoices.end() || OpenAmount(*invoice) <= 0 ||
      invoice->issued_ordinal() != state.issued_invoices()) {
    return absl::OkStatus();
  }
  v1::CreditAccountState without = state;
  for (v1::CreditInvoice& other : *without.mutable_invoices()) {
    if (other.invoice_id() == review.issued_invoice_id) other.set_cancelled(true);
  }
  ASSIGN_OR_RETURN(Exposure before, ComputeExposure(without, *review.fx));
  const int64_t pushed = exposure - before.base_minor;  // the invoice's share, in base
  auto exceeded = [&](int64_t after, int64_t limit, const std::string& group) {
    v1::CreditLimitExceeded* event = add().mutable_credit_limit_exceeded();
    event->set_invoice_id(review.issued_invoice_id);
    *event->mutable_exposure() = protoconv::MoneyProto(after, base);
    *event->mutable_limit() = protoconv::MoneyProto(limit, base);
    event->set_credit_group(group);
    *event->mutable_inputs() = decided_on;
    *event->mutable_invoice_amount() = protoconv::MoneyProto(pushed, base);
  };
  if (state.has_limit() && exposure > state.limit_minor() &&
      before.base_minor <= state.limit_minor()) {
    exceeded(exposure, state.limit_minor(), "");
  }
  if (review.group && review.group->exposure_minor > review.group->limit_minor &&
      review.group->exposure_minor - pushed <= review.group->limit_minor) {
    exceeded(review.group->exposure_minor, review.group->limit_minor, review.group->group);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Outcome> DecideReview(const Review& review, const CommandContext& context) {
  const v1::CreditAccountState& state = *review.state;
  const v1::CreditPolicy& policy = *review.policy;
  Outcome outcome;
  // This very command was published and applied before (a replay after a crash).
  if (std::binary_search(state.applied_commands().begin(), state.applied_commands().end(),
                         context.command_id)) {
    return outcome;
  }
  const std::string& base = review.fx->base_currency;
  ASSIGN_OR_RETURN(ScoreInputs inputs, ComputeInputs(state, *review.fx, review.business_day));
  const Score score = ComputeScore(inputs, policy);
  const std::string grade = GradeFor(score.score, policy);
  const bool rated = std::any_of(state.invoices().begin(), state.invoices().end(),
                                 [](const v1::CreditInvoice& invoice) { return invoice.issued(); });

  v1::CreditDecisionInputs decided_on;
  decided_on.set_policy_version(policy.version());
  decided_on.set_grade(rated ? grade : "");
  decided_on.set_score(score.score);
  decided_on.set_max_days_past_due(static_cast<int32_t>(inputs.max_days_past_due));
  decided_on.set_utilisation_bp(ClampInt32(inputs.utilisation_bp.value_or(0)));
  *decided_on.mutable_exposure() = protoconv::MoneyProto(inputs.exposure_base_minor, base);
  if (state.has_limit())
    *decided_on.mutable_limit() = protoconv::MoneyProto(state.limit_minor(), base);
  if (review.business_day) *decided_on.mutable_business_date() = DateOfDay(*review.business_day);
  decided_on.set_trigger_event_id(review.trigger_event_id);
  for (const v1::ScoreFactor& factor : score.factors) *decided_on.add_factors() = factor;
  const std::optional<int64_t> as_of_day =
      review.business_day ? review.business_day : review.trigger_day;
  auto stamp_as_of = [&](v1::Date* as_of) {
    if (as_of_day) *as_of = DateOfDay(*as_of_day);
  };

  auto add = [&]() -> v1::Event& {
    outcome.events.push_back(
        NewEvent(state.account(), context, static_cast<int>(outcome.events.size())));
    return outcome.events.back();
  };
  if (rated && grade != state.rated_grade()) {
    v1::CreditRatingChanged* changed = add().mutable_credit_rating_changed();
    changed->set_old_grade(state.rated_grade());
    changed->set_new_grade(grade);
    changed->set_score(score.score);
    for (v1::ScoreFactor& factor : TopFactors(score, policy)) *changed->add_top_factors() = factor;
    stamp_as_of(changed->mutable_as_of());
    *changed->mutable_inputs() = decided_on;
  }
  if (!review.issued_invoice_id.empty()) {
    RETURN_IF_ERROR(DecideLimitExceeded(review, inputs.exposure_base_minor, decided_on, add));
  }
  const std::optional<HoldRule> hold = EvaluateHold(rated ? grade : "", inputs, policy);
  if (hold && !state.on_hold()) {
    v1::CreditHoldPlaced* placed = add().mutable_credit_hold_placed();
    placed->set_reason(hold->reason);
    placed->set_policy_rule(hold->rule);
    stamp_as_of(placed->mutable_as_of());
    *placed->mutable_inputs() = decided_on;
  } else if (!hold && state.on_hold()) {
    v1::CreditHoldReleased* released = add().mutable_credit_hold_released();
    released->set_reason(absl::StrCat("cured: no hold rule of policy ", policy.version(),
                                      " applies (was ", state.hold_rule(), ")"));
    stamp_as_of(released->mutable_as_of());
    *released->mutable_inputs() = decided_on;
  }
  return outcome;
}

absl::Status ValidateSetCreditLimit(const v1::SetCreditLimitRequest& request,
                                    const std::string& base_currency) {
  RETURN_IF_ERROR(core::ValidateId(request.account().tenant(), "account.tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account().region(), "account.region"));
  RETURN_IF_ERROR(core::ValidateId(request.account().account(), "account.account"));
  if (!request.account().subsidiary().empty()) {
    RETURN_IF_ERROR(core::ValidateId(request.account().subsidiary(), "account.subsidiary"));
  }
  auto check_amount = [&](const v1::Money& money, absl::string_view what) -> absl::Status {
    if (money.currency() != base_currency) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " must be in the base currency ", base_currency, ", not '", money.currency(), "'"));
    }
    if (money.minor_units() < 0 || money.minor_units() > kMaxAmountMinor) {
      return absl::InvalidArgumentError(absl::StrCat(what, " must be in 0..10^15 minor units"));
    }
    return absl::OkStatus();
  };
  if (!request.has_limit()) return absl::InvalidArgumentError("limit is missing");
  RETURN_IF_ERROR(check_amount(request.limit(), "limit"));
  if (request.credit_group().empty()) {
    if (request.has_group_limit()) {
      return absl::InvalidArgumentError("group_limit given without credit_group");
    }
  } else {
    RETURN_IF_ERROR(core::ValidateId(request.credit_group(), "credit_group"));
    if (!request.has_group_limit()) return absl::InvalidArgumentError("group_limit is missing");
    RETURN_IF_ERROR(check_amount(request.group_limit(), "group_limit"));
  }
  if (!request.request_id().empty())
    RETURN_IF_ERROR(core::ValidateId(request.request_id(), "request_id"));
  if (request.set_by().size() > 200) return absl::InvalidArgumentError("set_by is too long");
  return absl::OkStatus();
}

std::string SetCreditLimitCommandId(const std::string& request_id) {
  return absl::StrCat("limit:", request_id);
}

absl::StatusOr<Outcome> DecideSetCreditLimit(const v1::SetCreditLimitRequest& request,
                                             const v1::CreditAccountState& state,
                                             const std::string& base_currency,
                                             const CommandContext& context) {
  RETURN_IF_ERROR(ValidateSetCreditLimit(request, base_currency));
  const bool same_content = state.has_limit() &&
                            state.limit_minor() == request.limit().minor_units() &&
                            state.credit_group() == request.credit_group() &&
                            state.group_limit_minor() == request.group_limit().minor_units();
  const bool same_request =
      !request.request_id().empty() && state.limit_request_id() == context.command_id;
  Outcome outcome;
  if (same_request && !same_content) {
    return absl::AlreadyExistsError(absl::StrCat("request_id ", request.request_id(),
                                                 " was used for different limit settings"));
  }
  if (same_content && (same_request || request.request_id().empty())) {
    v1::CommandResult result;
    *result.mutable_position() = state.limit_position();
    *result.mutable_event_ids() = state.limit_event_ids();
    result.set_duplicate(true);
    outcome.duplicate_of = std::move(result);
    return outcome;
  }
  v1::Event event = NewEvent(request.account(), context, 0);
  v1::CreditLimitSet* set = event.mutable_credit_limit_set();
  *set->mutable_limit() = request.limit();
  set->set_credit_group(request.credit_group());
  if (!request.credit_group().empty()) *set->mutable_group_limit() = request.group_limit();
  set->set_set_by(request.set_by());
  outcome.events.push_back(std::move(event));
  return outcome;
}

absl::Status ValidateSetFxRate(const v1::SetFxRateRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  for (const std::string* code : {&request.from_currency(), &request.to_currency()}) {
    if (absl::Status known = core::LookupCurrency(*code).status(); !known.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("currency: ", known.message()));
    }
  }
  if (request.from_currency() == request.to_currency()) {
    return absl::InvalidArgumentError("from_currency and to_currency are the same");
  }
  if (request.rate_nano() <= 0) return absl::InvalidArgumentError("rate_nano must be > 0");
  return protoconv::DayFromProto(request.effective_date(), "effective_date").status();
}

absl::StatusOr<Outcome> DecideSetFxRate(const v1::SetFxRateRequest& request,
                                        std::optional<int64_t> recorded_rate_nano,
                                        const CommandContext& context) {
  RETURN_IF_ERROR(ValidateSetFxRate(request));
  if (recorded_rate_nano == request.rate_nano()) {
    Outcome repeat;
    repeat.duplicate_of.emplace().set_duplicate(true);
    return repeat;
  }
  v1::AccountRef key;
  key.set_tenant(request.tenant());
  key.set_account(FxPartitionKey(request.from_currency(), request.to_currency()));
  v1::Event event = NewEvent(key, context, 0);
  v1::FxRateSet* set = event.mutable_fx_rate_set();
  set->set_from_currency(request.from_currency());
  set->set_to_currency(request.to_currency());
  set->set_rate_nano(request.rate_nano());
  *set->mutable_effective_date() = request.effective_date();
  Outcome outcome;
  outcome.events.push_back(std::move(event));
  return outcome;
}

std::string ReviewCommandId(absl::string_view source_event_id) {
  return absl::StrCat("review:", source_event_id);
}

std::string FxReviewCommandId(absl::string_view fx_event_id, absl::string_view account) {
  return absl::StrCat("fxreview:", fx_event_id, ":", account);
}

std::string DayCloseCommandId(absl::string_view region, absl::string_view date,
                              absl::string_view tenant, absl::string_view account) {
  return absl::StrCat("dayclose:", region, ":", date, ":", tenant.size(), ":", tenant, ":",
                      account);
}

}  // namespace ar::credit
