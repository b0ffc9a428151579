#include "services/collections/domain/collections_domain.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "libs/core/dates.h"
#include "libs/core/ids.h"
#include "libs/core/money.h"
#include "libs/core/status_macros.h"
#include "libs/protoconv/protoconv.h"

namespace ar::collections {
namespace {

// How many applied command ids an account remembers: a re-published batch arrives right
// behind the original (a crash between publishing and the read model applying it).
constexpr int kRememberedCommands = 64;

const std::string& NotYetDueLabel() {
  static const std::string* label = new std::string(kNotYetDue);
  return *label;
}

int64_t DayNumberOf(const v1::Date& date) {
  return core::DayNumber(absl::CivilDay(date.year(), date.month(), date.day()));
}

v1::DunningStep Step(int32_t days, int32_t level, v1::DunningChannel channel,
                     const std::string& template_key, int64_t fee = 0, int32_t interest_bp = 0) {
  v1::DunningStep step;
  step.set_days_past_due(days);
  step.set_level(level);
  step.set_channel(channel);
  step.set_template_key(template_key);
  step.set_fee_minor_units(fee);
  step.set_interest_bp(interest_bp);
  return step;
}

void AddLadder(v1::CollectionsPolicy& policy, const std::string& grade,
               std::vector<v1::DunningStep> steps) {
  v1::DunningLadder* ladder = policy.add_ladders();
  ladder->set_grade(grade);
  for (v1::DunningStep& step : steps) *ladder->add_steps() = std::move(step);
}

v1::CollectionsInvoice& FindOrAddInvoice(v1::CollectionsAccount& account,
                                         const std::string& invoice_id) {
  auto* invoices = account.mutable_invoices();
  auto it = std::lower_bound(
      invoices->begin(), invoices->end(), invoice_id,
      [](const v1::CollectionsInvoice& a, const std::string& id) { return a.invoice_id() < id; });
  if (it != invoices->end() && it->invoice_id() == invoice_id) return *it;
  const int index = static_cast<int>(it - invoices->begin());
  invoices->Add()->set_invoice_id(invoice_id);
  for (int i = invoices->size() - 1; i > index; --i) invoices->SwapElements(i, i - 1);
  return invoices->at(index);
}

bool Contains(const google::protobuf::RepeatedField<int32_t>& values, int32_t value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Interest of `amount` at `basis_points` per annum for `days` (365-day year), half up.
int64_t InterestFor(int64_t amount, int32_t basis_points, int64_t days) {
  const __int128 numerator = static_cast<__int128>(amount) * basis_points * days;
  const __int128 denominator = static_cast<__int128>(365) * 10'000;
  return static_cast<int64_t>((numerator + denominator / 2) / denominator);
}

v1::AccountRef RefOf(const v1::CollectionsAccount& account, const std::string& region) {
  v1::AccountRef ref;
  ref.set_tenant(account.tenant());
  ref.set_region(region.empty() ? account.region() : region);
  ref.set_subsidiary(account.subsidiary());
  ref.set_account(account.account());
  return ref;
}

// Builds events with envelope and deterministic ids (derived from the command id).
class EventSink {
 public:
  EventSink(v1::AccountRef account, const CommandContext& context)
      : account_(std::move(account)), context_(context) {}

  v1::Event& Add() {
    v1::Event& event = events_.emplace_back();
    // A probe (no command: "is anything due?") needs no envelope or derived ids.
    if (context_.command_id.empty()) return event;
    protoconv::StampEnvelope(
        event, account_,
        core::DerivedEventId(context_.command_id, absl::StrCat("/", events_.size() - 1)),
        {context_.recorded_at_unix_micros,
         context_.correlation_id.empty() ? context_.command_id : context_.correlation_id,
         // The projection skips a second record of the same command by this id.
         context_.command_id});
    return event;
  }
  std::vector<v1::Event> Take() { return std::move(events_); }

 private:
  v1::AccountRef account_;
  const CommandContext& context_;
  std::vector<v1::Event> events_;
};

std::optional<int64_t> BusinessDayNumber(const BusinessDates& dates, const std::string& region) {
  auto it = dates.find(region);
  if (it == dates.end()) return std::nullopt;
  return core::DayNumber(it->second);
}

}  // namespace

// ---- policy ----

v1::CollectionsPolicy DefaultPolicy() {
  v1::CollectionsPolicy policy;
  policy.set_version("builtin-2026-11-23");
  const std::pair<const char*, int> buckets[] = {
      {"1-30", 1}, {"31-60", 31}, {"61-90", 61}, {"91-180", 91}, {">180", 181}};
  for (const auto& [label, min] : buckets) {
    v1::AgingBucketRule* rule = policy.add_buckets();
    rule->set_label(label);
    rule->set_min_days_past_due(min);
  }
  for (int offset : {7, 1, 0}) policy.add_reminder_days_before_due(offset);
  using enum v1::DunningChannel;
  AddLadder(policy, "A",
            {Step(5, 1, DUNNING_CHANNEL_EMAIL, "a.friendly_reminder"),
             Step(20, 2, DUNNING_CHANNEL_EMAIL, "a.second_reminder")});
  AddLadder(policy, "B",
            {Step(3, 1, DUNNING_CHANNEL_EMAIL, "b.reminder"),
             Step(15, 2, DUNNING_CHANNEL_PHONE, "b.phone_call"),
             Step(30, 3, DUNNING_CHANNEL_LETTER, "b.final_notice", 1000)});
  AddLadder(policy, "C",
            {Step(1, 1, DUNNING_CHANNEL_EMAIL, "c.reminder"),
             Step(10, 2, DUNNING_CHANNEL_LETTER, "c.firm_notice"),
             Step(30, 3, DUNNING_CHANNEL_LETTER, "c.final_notice", 1500, 800),
             Step(45, 4, DUNNING_CHANNEL_AGENCY, "c.collection_agency")});
  AddLadder(policy, "D",
            {Step(1, 1, DUNNING_CHANNEL_EMAIL, "d.firm_reminder"),
             Step(7, 2, DUNNING_CHANNEL_LETTER, "d.final_notice", 2000, 800),
             Step(20, 3, DUNNING_CHANNEL_AGENCY, "d.collection_agency")});
  AddLadder(policy, "E",
            {Step(1, 1, DUNNING_CHANNEL_LETTER, "e.firm_notice"),
             Step(7, 2, DUNNING_CHANNEL_LETTER, "e.final_notice", 2500, 1000),
             Step(15, 3, DUNNING_CHANNEL_AGENCY, "e.collection_agency"),
             Step(30, 4, DUNNING_CHANNEL_LEGAL, "e.legal_action")});
  AddLadder(policy, kDefaultLadder,
            {Step(1, 1, DUNNING_CHANNEL_EMAIL, "default.reminder"),
             Step(15, 2, DUNNING_CHANNEL_LETTER, "default.firm_notice"),
             Step(30, 3, DUNNING_CHANNEL_LETTER, "default.final_notice", 1000),
             Step(60, 4, DUNNING_CHANNEL_AGENCY, "default.collection_agency")});
  policy.set_write_off_candidate_days(180);
  return policy;
}

absl::Status ValidatePolicy(const v1::CollectionsPolicy& policy) {
  if (policy.version().empty()) return absl::InvalidArgumentError("policy: version is required");
  if (policy.buckets().empty()) return absl::InvalidArgumentError("policy: no buckets");
  std::set<std::string> labels;
  for (int i = 0; i < policy.buckets_size(); ++i) {
    const v1::AgingBucketRule& rule = policy.buckets(i);
    if (rule.label().empty() || rule.label() == kNotYetDue || !labels.insert(rule.label()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy: bucket ", i, " needs a unique label other than ", kNotYetDue));
    }
    if (rule.label().find(' ') != std::string::npos) {
      return absl::InvalidArgumentError("policy: bucket labels must not contain spaces");
    }
    const int32_t expected_min = i == 0 ? 1 : policy.buckets(i - 1).min_days_past_due() + 1;
    if (i == 0 ? rule.min_days_past_due() != 1 : rule.min_days_past_due() < expected_min) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy: buckets must start at 1 day past due and rise strictly (bucket ",
                       rule.label(), ")"));
    }
  }
  for (int32_t offset : policy.reminder_days_before_due()) {
    if (offset < 0 || offset > 365) {
      return absl::InvalidArgumentError("policy: reminder offsets must be in 0..365");
    }
  }
  bool has_default = false;
  std::set<std::string> grades;
  for (const v1::DunningLadder& ladder : policy.ladders()) {
    if (!grades.insert(ladder.grade()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy: ladder for grade '", ladder.grade(), "' given twice"));
    }
    has_default |= ladder.grade() == kDefaultLadder;
    int32_t days = 0, level = 0;
    for (const v1::DunningStep& step : ladder.steps()) {
      if (step.days_past_due() <= days || step.level() <= level) {
        return absl::InvalidArgumentError(absl::StrCat(
            "policy: ladder '", ladder.grade(), "' steps must rise in days (>= 1) and level"));
      }
      if (step.fee_minor_units() < 0 || step.interest_bp() < 0 ||
          step.fee_minor_units() > kMaxAmountMinor) {
        return absl::InvalidArgumentError(
            absl::StrCat("policy: ladder '", ladder.grade(), "' has a negative or huge fee"));
      }
      if (step.channel() == v1::DUNNING_CHANNEL_UNSPECIFIED) {
        return absl::InvalidArgumentError(
            absl::StrCat("policy: ladder '", ladder.grade(), "' step without channel"));
      }
      days = step.days_past_due();
      level = step.level();
    }
  }
  if (!has_default) return absl::InvalidArgumentError("policy: a \"default\" ladder is required");
  if (policy.write_off_candidate_days() < 0) {
    return absl::InvalidArgumentError("policy: write_off_candidate_days must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CollectionsPolicy> ParsePolicy(std::string_view text) {
  v1::CollectionsPolicy policy;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(text), &policy)) {
    return absl::InvalidArgumentError("collections policy is not valid text format");
  }
  RETURN_IF_ERROR(ValidatePolicy(policy));
  return policy;
}

const std::string& BucketFor(const v1::CollectionsPolicy& policy, int64_t days_past_due) {
  const std::string* label = &NotYetDueLabel();
  for (const v1::AgingBucketRule& rule : policy.buckets()) {
    if (days_past_due < rule.min_days_past_due()) break;
    label = &rule.label();
  }
  return *label;
}

const v1::DunningLadder& LadderFor(const v1::CollectionsPolicy& policy, const std::string& grade) {
  const v1::DunningLadder* fallback = &v1::DunningLadder::default_instance();
  for (const v1::DunningLadder& ladder : policy.ladders()) {
    if (!grade.empty() && ladder.grade() == grade) return ladder;
    if (ladder.grade() == kDefaultLadder) fallback = &ladder;
  }
  return *fallback;
}

std::vector<int64_t> OverdueEdges(const v1::CollectionsPolicy& policy) {
  std::set<int64_t> edges = {1};
  for (const v1::AgingBucketRule& rule : policy.buckets()) edges.insert(rule.min_days_past_due());
  for (const v1::DunningLadder& ladder : policy.ladders()) {
    for (const v1::DunningStep& step : ladder.steps()) edges.insert(step.days_past_due());
  }
  return {edges.begin(), edges.end()};
}

std::vector<DayRange> DueDateRangesToVisit(const v1::CollectionsPolicy& policy,
                                           std::optional<int64_t> previous, int64_t current) {
  std::vector<DayRange> ranges;
  // An invoice crosses edge e when previous - due < e <= current - due.
  for (int64_t edge : OverdueEdges(policy)) {
    const int64_t max = current - edge;
    const int64_t min = previous ? *previous - edge + 1 : std::numeric_limits<int64_t>::min() / 4;
    if (min <= max) ranges.push_back({min, max});
  }
  // Reminders only on the exact day: a date the clock skipped gets no late reminder.
  for (int32_t offset : policy.reminder_days_before_due()) {
    ranges.push_back({current + offset, current + offset});
  }
  return ranges;
}

DayRange PromiseDatesToVisit(std::optional<int64_t> previous, int64_t current) {
  // A promise dated P breaks when P < B: at the first close with business date > P.
  return {previous ? *previous : std::numeric_limits<int64_t>::min() / 4, current - 1};
}

// ---- facts ----

int64_t OpenAmount(const v1::CollectionsInvoice& invoice) {
  if (!invoice.issued() || invoice.cancelled() || invoice.written_off()) return 0;
  return std::max<int64_t>(0, invoice.total() - invoice.credited() - invoice.paid());
}

std::optional<int64_t> DaysPastDue(const v1::CollectionsInvoice& invoice,
                                   const BusinessDates& dates) {
  std::optional<int64_t> today = BusinessDayNumber(dates, invoice.region());
  if (!today || !invoice.issued()) return std::nullopt;
  return *today - DayNumberOf(invoice.due_date());
}

int64_t OverdueAmount(const v1::CollectionsInvoice& invoice, const BusinessDates& dates) {
  std::optional<int64_t> days = DaysPastDue(invoice, dates);
  if (!days || *days < 1) return 0;
  return std::max<int64_t>(0, OpenAmount(invoice) - invoice.disputed());
}

const std::string& AgingLabel(const v1::CollectionsPolicy& policy,
                              const v1::CollectionsInvoice& invoice, const BusinessDates& dates) {
  std::optional<int64_t> days = DaysPastDue(invoice, dates);
  return days ? BucketFor(policy, *days) : NotYetDueLabel();
}

v1::AgingReport AgingReportOf(const v1::CollectionsPolicy& policy, AgingSums sums) {
  v1::AgingReport report;
  report.set_policy_version(policy.version());
  for (auto& [where, labels] : sums) {
    if (labels[kOpenLabel] == 0) continue;
    v1::AgingLine* line = report.add_lines();
    line->set_region(std::get<0>(where));
    line->set_subsidiary(std::get<1>(where));
    line->set_currency(std::get<2>(where));
    line->set_not_yet_due(labels[kNotYetDue]);
    line->set_open_balance(labels[kOpenLabel]);
    for (const v1::AgingBucketRule& rule : policy.buckets()) {
      v1::BucketAmount* bucket = line->add_buckets();
      bucket->set_bucket(rule.label());
      *bucket->mutable_amount() = protoconv::MoneyProto(labels[rule.label()], line->currency());
    }
  }
  return report;
}

const v1::CollectionsInvoice* FindInvoice(const v1::CollectionsAccount& account,
                                          std::string_view invoice_id) {
  auto it = std::lower_bound(account.invoices().begin(), account.invoices().end(), invoice_id,
                             [](const v1::CollectionsInvoice& a, std::string_view id) {
                               return std::string_view(a.invoice_id()) < id;
                             });
  if (it == account.invoices().end() || it->invoice_id() != invoice_id) return nullptr;
  return &*it;
}

bool PromiseLive(const v1::CollectionsAccount& account) {
  return !account.promise().promise_id().empty() && account.promise().status() == "open";
}

namespace {

// Moves the account's net payments in `currency` and, for a live promise in that
// currency, what is paid towards it: the net above the promise's baseline (so the order in
// which the payments and collections topics are applied does not matter), or, for a
// promise recorded without a baseline, what was paid since it was applied.
void AddNetPaid(v1::CollectionsAccount& account, const std::string& currency, int64_t amount) {
  int64_t& net = (*account.mutable_net_paid())[currency];
  net += amount;
  if (!PromiseLive(account) || account.promise().amount().currency() != currency) return;
  v1::CollectionsPromise* promise = account.mutable_promise();
  if (promise->has_paid_baseline()) {
    promise->set_paid(std::max<int64_t>(0, net - promise->paid_baseline()));
  } else {
    promise->set_paid(std::max<int64_t>(0, promise->paid() + amount));
  }
}

}  // namespace

v1::OverdueRow OverdueRowOf(const v1::CollectionsPolicy& policy,
                            const v1::CollectionsAccount& account, const BusinessDates& dates) {
  v1::OverdueRow row;
  row.set_tenant(account.tenant());
  row.set_account(account.account());
  row.set_name(account.name());
  row.set_region(account.region());
  row.set_subsidiary(account.subsidiary());
  row.set_risk_grade(account.grade());
  *row.mutable_first_overdue_date() = account.first_overdue_date();
  *row.mutable_last_payment_date() = account.last_payment_date();
  *row.mutable_last_payment_amount() = account.last_payment_amount();
  row.set_last_action(account.last_action());
  *row.mutable_promise() = account.promise();
  std::string currency;
  std::map<std::string, int64_t> by_bucket;
  int64_t total = 0, disputed = 0;
  int32_t max_days = 0;
  int32_t level = 0;
  for (const v1::CollectionsInvoice& invoice : account.invoices()) {
    const int64_t overdue = OverdueAmount(invoice, dates);
    std::optional<int64_t> days = DaysPastDue(invoice, dates);
    if (!days || *days < 1 || OpenAmount(invoice) == 0) continue;
    if (currency.empty()) currency = invoice.currency();
    if (invoice.currency() != currency) continue;
    disputed += std::min(invoice.disputed(), OpenAmount(invoice));
    level = std::max(level, invoice.dunning_level());
    if (overdue == 0) continue;
    total += overdue;
    by_bucket[BucketFor(policy, *days)] += overdue;
    max_days = std::max<int32_t>(max_days, static_cast<int32_t>(*days));
  }
  for (const v1::AgingBucketRule& rule : policy.buckets()) {
    auto it = by_bucket.find(rule.label());
    if (it == by_bucket.end()) continue;
    v1::BucketAmount* amount = row.add_buckets();
    amount->set_bucket(rule.label());
    *amount->mutable_amount() = protoconv::MoneyProto(it->second, currency);
    row.set_worst_bucket(rule.label());
  }
  *row.mutable_total_overdue() = protoconv::MoneyProto(total, currency);
  *row.mutable_open_dispute_amount() = protoconv::MoneyProto(disputed, currency);
  row.set_max_days_past_due(max_days);
  row.set_dunning_level(level);
  return row;
}

// ---- evolution ----

void EvolveAccount(v1::CollectionsAccount& account, const v1::Event& event) {
  if (account.tenant().empty()) account.set_tenant(event.tenant());
  if (account.account().empty()) account.set_account(event.account());
  auto note_place = [&] {
    if (account.region().empty()) account.set_region(event.region());
    if (account.subsidiary().empty()) account.set_subsidiary(event.subsidiary());
  };
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued: {
      const v1::InvoiceIssued& issued = event.invoice_issued();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, issued.invoice_id());
      if (invoice.issued()) return;  // the same invoice seen again
      invoice.set_issued(true);
      invoice.set_region(event.region());
      invoice.set_subsidiary(event.subsidiary());
      invoice.set_currency(issued.total().currency());
      invoice.set_total(issued.total().minor_units());
      *invoice.mutable_issue_date() = issued.issue_date();
      *invoice.mutable_due_date() = issued.due_date();
      if (!issued.account_name().empty()) account.set_name(issued.account_name());
      account.set_region(event.region());
      account.set_subsidiary(event.subsidiary());
      return;
    }
    case v1::Event::kCreditNoteIssued: {
      const v1::CreditNoteIssued& note = event.credit_note_issued();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, note.invoice_id());
      invoice.set_credited(invoice.credited() + note.amount().minor_units());
      return;
    }
    case v1::Event::kInvoiceCancelled:
      FindOrAddInvoice(account, event.invoice_cancelled().invoice_id()).set_cancelled(true);
      return;
    case v1::Event::kInvoiceDisputed: {
      const v1::InvoiceDisputed& disputed = event.invoice_disputed();
      FindOrAddInvoice(account, disputed.invoice_id())
          .set_disputed(disputed.disputed_amount().minor_units());
      return;
    }
    case v1::Event::kDisputeResolved:
      FindOrAddInvoice(account, event.dispute_resolved().invoice_id()).set_disputed(0);
      return;
    case v1::Event::kPaymentAllocated: {
      const v1::PaymentAllocated& allocated = event.payment_allocated();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, allocated.invoice_id());
      const int64_t amount = allocated.amount().minor_units();
      invoice.set_paid(invoice.paid() + amount);
      note_place();
      if (!protoconv::IsDateSet(account.last_payment_date()) ||
          DayNumberOf(allocated.allocation_date()) >= DayNumberOf(account.last_payment_date())) {
        *account.mutable_last_payment_date() = allocated.allocation_date();
        *account.mutable_last_payment_amount() = allocated.amount();
      }
      return;
    }
    case v1::Event::kPaymentReceived:
      // Cash received counts towards a promise at once, even before (or without) its
      // allocation: held allocations are applied later, in a record of their own.
      AddNetPaid(account, event.payment_received().amount().currency(),
                 event.payment_received().amount().minor_units());
      return;
    case v1::Event::kPaymentReversed:
      for (const v1::PaymentAllocationLine& line :
           event.payment_reversed().reversed_allocations()) {
        v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, line.invoice_id());
        invoice.set_paid(invoice.paid() - line.amount().minor_units());
      }
      AddNetPaid(account, event.payment_reversed().amount().currency(),
                 -event.payment_reversed().amount().minor_units());
      return;
    case v1::Event::kCreditRatingChanged:
      account.set_grade(event.credit_rating_changed().new_grade());
      return;
    case v1::Event::kDebtWrittenOff: {
      const v1::DebtWrittenOff& written_off = event.debt_written_off();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, written_off.invoice_id());
      invoice.set_written_off(true);
      invoice.set_written_off_amount(written_off.amount().minor_units());
      account.set_last_action("written off: " + written_off.reason());
      return;
    }
    case v1::Event::kReminderDue: {
      const v1::ReminderDue& reminder = event.reminder_due();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, reminder.invoice_id());
      if (!Contains(invoice.reminders_sent(), reminder.days_before_due())) {
        invoice.add_reminders_sent(reminder.days_before_due());
      }
      account.set_last_action(
          absl::StrCat("reminder ", reminder.days_before_due(), "d before due"));
      return;
    }
    case v1::Event::kAccountOverdue: {
      const v1::AccountOverdue& overdue = event.account_overdue();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, overdue.invoice_id());
      invoice.set_notified_bucket(overdue.aging_bucket());
      invoice.set_days_past_due_notified(overdue.days_past_due());
      if (!protoconv::IsDateSet(invoice.first_overdue_date())) {
        *invoice.mutable_first_overdue_date() = overdue.as_of();
      }
      if (!account.overdue()) *account.mutable_first_overdue_date() = overdue.as_of();
      account.set_overdue(true);
      account.set_last_action("overdue " + overdue.aging_bucket());
      return;
    }
    case v1::Event::kDunningLevelRaised: {
      const v1::DunningLevelRaised& raised = event.dunning_level_raised();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, raised.invoice_id());
      invoice.set_dunning_level(raised.level());
      invoice.set_last_channel(raised.channel());
      account.set_last_action(raised.template_key());
      return;
    }
    case v1::Event::kDunningFeeAssessed: {
      const v1::DunningFeeAssessed& fee = event.dunning_fee_assessed();
      v1::CollectionsInvoice& invoice = FindOrAddInvoice(account, fee.invoice_id());
      if (Contains(invoice.fee_levels(), fee.level())) return;  // never charged twice
      invoice.add_fee_levels(fee.level());
      invoice.set_fees_assessed(invoice.fees_assessed() + fee.fee().minor_units() +
                                fee.interest().minor_units());
      return;
    }
    case v1::Event::kPromiseToPayRecorded: {
      const v1::PromiseToPayRecorded& recorded = event.promise_to_pay_recorded();
      v1::CollectionsPromise* promise = account.mutable_promise();
      if (!promise->promise_id().empty() && promise->promise_id() != recorded.promise_id()) {
        *account.add_earlier_promises() = *promise;
      }
      promise->Clear();
      promise->set_promise_id(recorded.promise_id());
      *promise->mutable_amount() = recorded.amount();
      *promise->mutable_promised_date() = recorded.promised_date();
      promise->set_recorded_by(recorded.recorded_by());
      promise->set_status("open");
      if (recorded.has_paid_baseline()) {
        promise->set_paid_baseline(recorded.paid_baseline());
        AddNetPaid(account, recorded.amount().currency(), 0);
      }
      note_place();
      account.set_last_action("promise recorded");
      return;
    }
    case v1::Event::kPromiseToPayKept:
      if (account.promise().promise_id() == event.promise_to_pay_kept().promise_id()) {
        account.mutable_promise()->set_status("kept");
        // As decided: allocations applied between the decision and this event (a replay
        // interleaves the topics differently) do not change what a kept promise shows.
        account.mutable_promise()->set_paid(
            event.promise_to_pay_kept().amount_paid().minor_units());
        account.set_last_action("promise kept");
      }
      return;
    case v1::Event::kPromiseToPayBroken:
      if (account.promise().promise_id() == event.promise_to_pay_broken().promise_id()) {
        account.mutable_promise()->set_status("broken");
        account.mutable_promise()->set_paid(
            event.promise_to_pay_broken().amount_paid().minor_units());
        account.set_last_action("promise broken");
      }
      return;
    case v1::Event::kAccountCured:
      account.set_overdue(false);
      account.clear_first_overdue_date();
      // A later overdue invoice is announced again, whatever bucket it was in before.
      for (v1::CollectionsInvoice& invoice : *account.mutable_invoices()) {
        invoice.clear_notified_bucket();
      }
      account.set_last_action("cured: " + event.account_cured().cause());
      return;
    default:
      return;
  }
}

bool NoteCommandApplied(v1::CollectionsAccount& account, const std::string& command_id) {
  if (command_id.empty()) return true;
  for (const std::string& applied : account.applied_commands()) {
    if (applied == command_id) return false;
  }
  auto* applied = account.mutable_applied_commands();
  if (applied->size() >= kRememberedCommands) applied->erase(applied->begin());
  applied->Add(std::string(command_id));
  return true;
}

// ---- decisions ----

std::string DayCloseCommandId(absl::string_view region, absl::CivilDay closed_date,
                              absl::string_view tenant, absl::string_view account) {
  return absl::StrCat("dayclose:", region, ":", core::FormatDate(closed_date), ":", tenant.size(),
                      ":", tenant, ":", account);
}
std::string ReactionCommandId(absl::string_view source_event_id) {
  return absl::StrCat("colreact:", source_event_id);
}
std::string PromiseCommandId(absl::string_view promise_id) {
  return absl::StrCat("promise:", promise_id);
}
std::string WriteOffCommandId(absl::string_view invoice_id) {
  return absl::StrCat("writeoff:", invoice_id);
}

std::string DayCloseCompletedCommandId(absl::string_view region, absl::CivilDay closed_date) {
  return absl::StrCat("dayclose:", region, ":", core::FormatDate(closed_date), ":completed");
}

std::vector<v1::Event> DecideDayCloseCompleted(const v1::CollectionsPolicy& policy,
                                               const std::string& region,
                                               absl::CivilDay closed_date, int32_t visited,
                                               int32_t decided, const CommandContext& context) {
  v1::AccountRef ref;
  ref.set_region(region);
  ref.set_account(region);
  EventSink sink(std::move(ref), context);
  v1::CollectionsDayCloseCompleted* completed =
      sink.Add().mutable_collections_day_close_completed();
  *completed->mutable_date() = protoconv::DayToProto(closed_date);
  completed->set_accounts_visited(visited);
  completed->set_accounts_decided(decided);
  completed->set_policy_version(policy.version());
  return sink.Take();
}

namespace {

// The rules of a day close, walked once for both uses: with a sink it builds every
// decision; without one it answers whether there is any, at the first one found, and
// builds nothing (the read model asks this of every account it writes).
bool WalkDayClose(const v1::CollectionsPolicy& policy, const v1::CollectionsAccount& account,
                  const std::string& region, absl::CivilDay business_date, EventSink* sink) {
  const int64_t today = core::DayNumber(business_date);
  std::optional<v1::Date> as_of;
  auto as_of_date = [&]() -> const v1::Date& {
    if (!as_of) as_of = protoconv::DayToProto(business_date);
    return *as_of;
  };
  bool decided = false;
  bool paused = PromiseLive(account);
  const v1::CollectionsPromise& promise = account.promise();
  if (paused && account.region() == region && DayNumberOf(promise.promised_date()) < today &&
      promise.paid() >= promise.amount().minor_units()) {
    // Covered, but the reaction to the covering payment has not run yet (the reactor
    // reads the clock and the payments in its own interleaving): kept, not broken.
    if (sink == nullptr) return true;
    decided = true;
    v1::PromiseToPayKept* kept = sink->Add().mutable_promise_to_pay_kept();
    kept->set_promise_id(promise.promise_id());
    *kept->mutable_amount_paid() =
        protoconv::MoneyProto(promise.paid(), promise.amount().currency());
    *kept->mutable_as_of() = as_of_date();
    paused = false;
  } else if (paused && account.region() == region && DayNumberOf(promise.promised_date()) < today) {
    if (sink == nullptr) return true;
    decided = true;
    v1::PromiseToPayBroken* broken = sink->Add().mutable_promise_to_pay_broken();
    broken->set_promise_id(promise.promise_id());
    *broken->mutable_amount_promised() = promise.amount();
    *broken->mutable_amount_paid() =
        protoconv::MoneyProto(promise.paid(), promise.amount().currency());
    *broken->mutable_as_of() = as_of_date();
    paused = false;  // escalation resumes at once
  }
  const BusinessDates dates = {{region, business_date}};
  // Only the events carry it: summed when the first one needs it.
  std::optional<std::map<std::string, int64_t>> overdue_by_currency;
  auto account_overdue_in = [&](const std::string& currency) {
    if (!overdue_by_currency) {
      overdue_by_currency.emplace();
      for (const v1::CollectionsInvoice& invoice : account.invoices()) {
        if (invoice.region() == region) {
          (*overdue_by_currency)[invoice.currency()] += OverdueAmount(invoice, dates);
        }
      }
    }
    return (*overdue_by_currency)[currency];
  };
  const v1::DunningLadder& ladder = LadderFor(policy, account.grade());
  for (const v1::CollectionsInvoice& invoice : account.invoices()) {
    if (invoice.region() != region || OpenAmount(invoice) == 0) continue;
    const int64_t open = OpenAmount(invoice);
    const int64_t days = today - DayNumberOf(invoice.due_date());
    if (days <= 0) {
      const int32_t before = static_cast<int32_t>(-days);
      if (Contains(policy.reminder_days_before_due(), before) &&
          !Contains(invoice.reminders_sent(), before)) {
        if (sink == nullptr) return true;
        decided = true;
        v1::ReminderDue* reminder = sink->Add().mutable_reminder_due();
        reminder->set_invoice_id(invoice.invoice_id());
        *reminder->mutable_due_date() = invoice.due_date();
        reminder->set_days_before_due(before);
        *reminder->mutable_open_amount() = protoconv::MoneyProto(open, invoice.currency());
        *reminder->mutable_as_of() = as_of_date();
      }
      continue;
    }
    const int64_t overdue = OverdueAmount(invoice, dates);
    if (overdue == 0) continue;  // all of it disputed
    const v1::DunningStep* reached = nullptr;
    for (const v1::DunningStep& step : ladder.steps()) {
      if (step.days_past_due() <= days) reached = &step;
    }
    const bool raise = reached != nullptr && reached->level() > invoice.dunning_level() &&
                       !paused && invoice.disputed() == 0;
    const int32_t level = raise ? reached->level() : invoice.dunning_level();
    const std::string& bucket = BucketFor(policy, days);
    if (bucket != invoice.notified_bucket()) {
      if (sink == nullptr) return true;
      decided = true;
      v1::AccountOverdue* event = sink->Add().mutable_account_overdue();
      event->set_invoice_id(invoice.invoice_id());
      event->set_days_past_due(static_cast<int32_t>(days));
      event->set_aging_bucket(bucket);
      *event->mutable_overdue_amount() = protoconv::MoneyProto(overdue, invoice.currency());
      event->set_dunning_level(level);
      *event->mutable_due_date() = invoice.due_date();
      *event->mutable_as_of() = as_of_date();
      *event->mutable_account_overdue_total() =
          protoconv::MoneyProto(account_overdue_in(invoice.currency()), invoice.currency());
      event->set_policy_version(policy.version());
    }
    if (!raise) continue;
    if (sink == nullptr) return true;
    decided = true;
    v1::DunningLevelRaised* raised = sink->Add().mutable_dunning_level_raised();
    raised->set_invoice_id(invoice.invoice_id());
    raised->set_level(reached->level());
    raised->set_channel(reached->channel());
    raised->set_template_key(reached->template_key());
    raised->set_risk_grade(account.grade());
    raised->set_days_past_due(static_cast<int32_t>(days));
    *raised->mutable_as_of() = as_of_date();
    raised->set_ladder_version(policy.version());
    *raised->mutable_due_date() = invoice.due_date();
    *raised->mutable_overdue_amount() = protoconv::MoneyProto(overdue, invoice.currency());
    if ((reached->fee_minor_units() > 0 || reached->interest_bp() > 0) &&
        !Contains(invoice.fee_levels(), reached->level())) {
      v1::DunningFeeAssessed* fee = sink->Add().mutable_dunning_fee_assessed();
      fee->set_invoice_id(invoice.invoice_id());
      fee->set_level(reached->level());
      *fee->mutable_fee() = protoconv::MoneyProto(reached->fee_minor_units(), invoice.currency());
      *fee->mutable_interest() = protoconv::MoneyProto(
          InterestFor(overdue, reached->interest_bp(), days), invoice.currency());
      *fee->mutable_as_of() = as_of_date();
      fee->set_days_past_due(static_cast<int32_t>(days));
      fee->set_interest_bp(reached->interest_bp());
      *fee->mutable_overdue_amount() = protoconv::MoneyProto(overdue, invoice.currency());
      fee->set_policy_version(policy.version());
    }
  }
  return decided;
}

}  // namespace

std::vector<v1::Event> DecideDayClose(const v1::CollectionsPolicy& policy,
                                      const v1::CollectionsAccount& account,
                                      const std::string& region, absl::CivilDay business_date,
                                      const CommandContext& context) {
  EventSink sink(RefOf(account, region), context);
  WalkDayClose(policy, account, region, business_date, &sink);
  return sink.Take();
}

bool DayCloseDecisionPending(const v1::CollectionsPolicy& policy,
                             const v1::CollectionsAccount& account, const std::string& region,
                             absl::CivilDay business_date) {
  return WalkDayClose(policy, account, region, business_date, nullptr);
}

std::vector<v1::Event> DecideImmediate(const v1::CollectionsAccount& account,
                                       const BusinessDates& dates, const std::string& cause,
                                       const CommandContext& context) {
  EventSink sink(RefOf(account, ""), context);
  const v1::CollectionsPromise& promise = account.promise();
  auto today = dates.find(account.region());
  const v1::Date as_of = today != dates.end() ? protoconv::DayToProto(today->second) : v1::Date();
  if (PromiseLive(account) && promise.paid() >= promise.amount().minor_units()) {
    v1::PromiseToPayKept* kept = sink.Add().mutable_promise_to_pay_kept();
    kept->set_promise_id(promise.promise_id());
    *kept->mutable_amount_paid() =
        protoconv::MoneyProto(promise.paid(), promise.amount().currency());
    *kept->mutable_as_of() = as_of;
  }
  if (account.overdue()) {
    int64_t overdue = 0;
    for (const v1::CollectionsInvoice& invoice : account.invoices()) {
      overdue += OverdueAmount(invoice, dates);
    }
    if (overdue == 0) {
      v1::AccountCured* cured = sink.Add().mutable_account_cured();
      *cured->mutable_as_of() = as_of;
      cured->set_cause(cause);
    }
  }
  return sink.Take();
}

absl::StatusOr<std::vector<v1::Event>> DecideRecordPromise(const v1::RecordPromiseRequest& request,
                                                           const v1::CollectionsAccount& account,
                                                           std::optional<absl::CivilDay> today,
                                                           const CommandContext& context) {
  RETURN_IF_ERROR(core::ValidateId(request.account().tenant(), "account.tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account().account(), "account.account"));
  RETURN_IF_ERROR(core::ValidateId(request.promise_id(), "promise_id"));
  if (absl::Status known = core::LookupCurrency(request.amount().currency()).status();
      !known.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("amount.currency: ", known.message()));
  }
  if (request.amount().minor_units() <= 0 || request.amount().minor_units() > kMaxAmountMinor) {
    return absl::InvalidArgumentError("amount must be greater than zero (and at most 10^15)");
  }
  ASSIGN_OR_RETURN(absl::CivilDay promised,
                   protoconv::DayFromProto(request.promised_date(), "promised_date"));
  if (request.recorded_by().size() > kMaxTextLength) {
    return absl::InvalidArgumentError("recorded_by is too long");
  }
  // The current promise or an earlier one with this id: a repeat (checked before the
  // business-date rule, which a repeat sent days later would otherwise fail).
  const v1::CollectionsPromise* existing = nullptr;
  if (account.promise().promise_id() == request.promise_id()) existing = &account.promise();
  for (const v1::CollectionsPromise& earlier : account.earlier_promises()) {
    if (earlier.promise_id() == request.promise_id()) existing = &earlier;
  }
  if (existing != nullptr) {
    if (existing->amount().minor_units() != request.amount().minor_units() ||
        existing->amount().currency() != request.amount().currency() ||
        DayNumberOf(existing->promised_date()) != core::DayNumber(promised)) {
      return absl::AlreadyExistsError(
          absl::StrCat("promise ", request.promise_id(), " was recorded with other content"));
    }
    return std::vector<v1::Event>();  // an identical repeat
  }
  if (today && promised < *today) {
    return absl::FailedPreconditionError(absl::StrCat("promised_date ", core::FormatDate(promised),
                                                      " is before the business date ",
                                                      core::FormatDate(*today)));
  }
  v1::AccountRef ref = request.account();
  if (ref.region().empty()) ref.set_region(account.region());
  if (ref.subsidiary().empty()) ref.set_subsidiary(account.subsidiary());
  EventSink sink(ref, context);
  v1::PromiseToPayRecorded* recorded = sink.Add().mutable_promise_to_pay_recorded();
  recorded->set_promise_id(request.promise_id());
  *recorded->mutable_amount() = request.amount();
  *recorded->mutable_promised_date() = protoconv::DayToProto(promised);
  recorded->set_recorded_by(request.recorded_by());
  auto net = account.net_paid().find(request.amount().currency());
  recorded->set_paid_baseline(net == account.net_paid().end() ? 0 : net->second);
  return sink.Take();
}

absl::StatusOr<std::vector<v1::Event>> DecideWriteOff(const v1::WriteOffDebtRequest& request,
                                                      const v1::CollectionsAccount& account,
                                                      const BusinessDates& dates,
                                                      const CommandContext& context) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account(), "account"));
  RETURN_IF_ERROR(core::ValidateId(request.invoice_id(), "invoice_id"));
  if (request.reason().empty()) return absl::InvalidArgumentError("reason is required");
  RETURN_IF_ERROR(core::ValidateId(request.approver(), "approver"));
  if (request.reason().size() > kMaxTextLength) {
    return absl::InvalidArgumentError("reason is too long");
  }
  const v1::CollectionsInvoice* invoice = FindInvoice(account, request.invoice_id());
  if (invoice == nullptr || !invoice->issued()) {
    return absl::NotFoundError(absl::StrCat("invoice ", request.invoice_id(), " is not known"));
  }
  const int64_t open = OpenAmount(*invoice);
  if (open == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", request.invoice_id(), " is not open"));
  }
  auto today = dates.find(invoice->region());
  EventSink sink(RefOf(account, invoice->region()), context);
  v1::DebtWrittenOff* written_off = sink.Add().mutable_debt_written_off();
  written_off->set_invoice_id(invoice->invoice_id());
  *written_off->mutable_amount() = protoconv::MoneyProto(open, invoice->currency());
  written_off->set_reason(request.reason());
  written_off->set_approver(request.approver());
  if (today != dates.end()) *written_off->mutable_as_of() = protoconv::DayToProto(today->second);
  std::vector<v1::Event> events = sink.Take();
  v1::CollectionsAccount after = account;
  EvolveAccount(after, events.front());
  CommandContext cure_context = context;
  cure_context.command_id += "/cure";
  for (v1::Event& event : DecideImmediate(after, dates, "write_off", cure_context)) {
    if (event.has_account_cured()) events.push_back(std::move(event));
  }
  for (v1::Event& event : events) event.set_causation_id(context.command_id);
  return events;
}

}  // namespace ar::collections
