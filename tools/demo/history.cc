#include "tools/demo/history.h"

#include <algorithm>
#include <array>
#include <random>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/protoconv/protoconv.h"
#include "services/invoicing/domain/invoice_rules.h"

namespace ar::demo {
namespace {

using protoconv::DayToProto;
using protoconv::MoneyProto;

// ---- random numbers ----

// splitmix64's finaliser: derives independent stream seeds from (seed, what).
uint64_t Mix(uint64_t seed, uint64_t what) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (what + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// std::mt19937_64's output is fixed by the standard; the mapping to ranges is ours, so the
// history does not depend on a standard library's distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // Uniform in [lo, hi]. The modulo bias over a 64-bit draw is far below anything visible.
  int64_t Between(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(engine_() % span);
  }
  bool Chance(int percent) { return Between(0, 99) < percent; }
  // An index chosen with the given integer weights.
  size_t Weighted(std::initializer_list<int> weights) {
    int total = 0;
    for (int weight : weights) total += weight;
    int64_t draw = Between(0, total - 1);
    size_t index = 0;
    for (int weight : weights) {
      if (draw < weight) return index;
      draw -= weight;
      ++index;
    }
    return index - 1;
  }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[static_cast<size_t>(Between(0, N - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

// ---- the group and its customers ----

// Minor units of each currency per EUR cent, times 1000 (rough, for invoice sizes only).
int64_t PerMilleOfEur(const std::string& currency) {
  if (currency == "GBP") return 850;
  if (currency == "USD") return 1080;
  if (currency == "CAD") return 1470;
  if (currency == "CNY") return 7800;
  if (currency == "SGD") return 1450;
  return 1000;
}

// Rates into the base currency (EUR per unit of the currency, x 10^9) around which the
// monthly FX rates move.
struct FxBase {
  const char* currency;
  int64_t rate_nano;
};
constexpr std::array<FxBase, 6> kFxRates = {{{"USD", 926'000'000},
                                             {"CAD", 680'000'000},
                                             {"CNY", 128'000'000},
                                             {"SGD", 690'000'000},
                                             {"GBP", 1'170'000'000},
                                             {"JPY", 6'200'000}}};

constexpr std::array<const char*, 32> kNameStarts = {
    "Apex",      "Blue River", "Cedar",       "Delta",       "Evergreen", "Falcon",
    "Granite",   "Harbour",    "Iron Gate",   "Juniper",     "Keystone",  "Lakeside",
    "Meridian",  "Northwind",  "Oakridge",    "Pioneer",     "Quarry",    "Redwood",
    "Summit",    "Tidewater",  "Union",       "Vantage",     "Westfield", "Yellowstone",
    "Zenith",    "Silverline", "Brightwater", "Copperfield", "Highland",  "Lighthouse",
    "Riverside", "Stonebridge"};
constexpr std::array<const char*, 16> kNameTrades = {
    "Logistics", "Foods",       "Engineering",  "Textiles", "Software",  "Retail",
    "Pharma",    "Electronics", "Construction", "Motors",   "Packaging", "Furniture",
    "Chemicals", "Media",       "Hospitality",  "Agritech"};
constexpr std::array<const char*, 12> kLineDescriptions = {
    "Consulting services",  "Freight and handling", "Spare parts",
    "Software licence",     "Support plan",         "Hardware",
    "Installation",         "Training day",         "Raw materials",
    "Maintenance contract", "Packaging units",      "Express delivery"};

enum class Tier { kSmall, kMedium, kLarge };

// Everything drawn once per customer.
struct CustomerPlan {
  Customer customer;
  const Subsidiary* subsidiary = nullptr;
  Tier tier = Tier::kSmall;
  v1::PaymentTerms terms;
  v1::PaymentMethod method = v1::PAYMENT_METHOD_BANK_TRANSFER;
  int32_t standard_tax_bp = 0;
  int32_t reduced_tax_bp = 0;
  absl::CivilDay stops_paying;  // defaulting customers only
  uint64_t stream = 0;          // seed of the customer's monthly streams
};

absl::CivilDay NextWeekday(absl::CivilDay day) {
  while (absl::GetWeekday(day) == absl::Weekday::saturday ||
         absl::GetWeekday(day) == absl::Weekday::sunday) {
    ++day;
  }
  return day;
}

std::string MonthKey(absl::CivilMonth month) {
  return absl::StrFormat("%04d%02d", month.year(), month.month());
}

CustomerPlan DrawCustomer(const HistoryOptions& options, int index) {
  CustomerPlan plan;
  plan.stream = Mix(options.seed, static_cast<uint64_t>(index));
  Rng rng(plan.stream);
  const std::vector<Subsidiary>& subsidiaries = DemoSubsidiaries();
  plan.subsidiary = &subsidiaries[rng.Weighted({25, 15, 25, 10, 12, 13})];
  const Subsidiary& subsidiary = *plan.subsidiary;

  Customer& customer = plan.customer;
  customer.account.set_tenant(options.tenant);
  customer.account.set_region(subsidiary.region);
  customer.account.set_subsidiary(subsidiary.id);
  customer.account.set_account(absl::StrFormat("C%05d", index + 1));
  customer.currency = subsidiary.currency;
  customer.name =
      absl::StrCat(rng.Pick(kNameStarts), " ", rng.Pick(kNameTrades), " ", subsidiary.legal_form);
  customer.behaviour = static_cast<Behaviour>(rng.Weighted({45, 25, 15, 5, 10}));
  customer.names_invoices = customer.behaviour == Behaviour::kDisputing || rng.Chance(60);

  plan.tier = static_cast<Tier>(rng.Weighted({50, 35, 15}));
  switch (rng.Weighted({40, 20, 20, 20})) {
    case 0:
      plan.terms.set_kind(v1::PaymentTerms::KIND_NET_DAYS);
      plan.terms.set_days(30);
      break;
    case 1:
      plan.terms.set_kind(v1::PaymentTerms::KIND_NET_DAYS);
      plan.terms.set_days(45);
      break;
    case 2:
      plan.terms.set_kind(v1::PaymentTerms::KIND_NET_DAYS);
      plan.terms.set_days(60);
      break;
    default:
      plan.terms.set_kind(v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS);
      plan.terms.set_days(30);
      break;
  }

  // Tax: the country's standard and reduced rates; US sales tax by the customer's state
  // (B2B often exempt), Canadian GST or HST by province.
  const std::string& country = subsidiary.invoice_prefix;
  if (country == "DE") {
    plan.standard_tax_bp = 1900, plan.reduced_tax_bp = 700;
  } else if (country == "UK") {
    plan.standard_tax_bp = 2000, plan.reduced_tax_bp = 500;
  } else if (country == "US") {
    constexpr std::array<int32_t, 5> kStateRates = {0, 600, 725, 825, 887};
    plan.standard_tax_bp = plan.reduced_tax_bp = rng.Pick(kStateRates);
  } else if (country == "CA") {
    plan.standard_tax_bp = plan.reduced_tax_bp = rng.Chance(60) ? 1300 : 500;
  } else if (country == "CN") {
    plan.standard_tax_bp = 1300, plan.reduced_tax_bp = 600;
  } else {
    plan.standard_tax_bp = plan.reduced_tax_bp = 900;
  }

  // The usual way to pay in each place.
  if (subsidiary.region == "us") {
    constexpr std::array<v1::PaymentMethod, 4> kMethods = {
        v1::PAYMENT_METHOD_BANK_TRANSFER, v1::PAYMENT_METHOD_CHEQUE, v1::PAYMENT_METHOD_CARD,
        v1::PAYMENT_METHOD_BANK_TRANSFER};
    plan.method = rng.Pick(kMethods);
  } else if (subsidiary.id == "cn-co") {
    constexpr std::array<v1::PaymentMethod, 3> kMethods = {v1::PAYMENT_METHOD_BANK_TRANSFER,
                                                           v1::PAYMENT_METHOD_ONLINE_WALLET,
                                                           v1::PAYMENT_METHOD_BANK_TRANSFER};
    plan.method = rng.Pick(kMethods);
  } else {
    constexpr std::array<v1::PaymentMethod, 4> kMethods = {
        v1::PAYMENT_METHOD_BANK_TRANSFER, v1::PAYMENT_METHOD_DIRECT_DEBIT,
        v1::PAYMENT_METHOD_BANK_TRANSFER, v1::PAYMENT_METHOD_CARD};
    plan.method = rng.Pick(kMethods);
  }
  plan.stops_paying = options.start + rng.Between(45, 150);
  return plan;
}

// ---- the plan of one history ----

// Commands of one day sort by phase so an invoice's own steps keep their order when they
// fall on the same day (a credit note before the resolution it settles).
enum Phase : int {
  kSetup = 0,
  kIssue = 1,
  kDispute = 2,
  kCreditNote = 3,
  kResolve = 4,
  kPayment = 5,
  kReversal = 6,
  kPromise = 7,
};

struct Planned {
  absl::CivilDay date;
  int phase = 0;
  int customer = -1;  // -1: tenant-wide
  int64_t sequence = 0;
  DemoCommand command;
};

class HistoryBuilder {
 public:
  explicit HistoryBuilder(const HistoryOptions& options) : options_(options) {}

  absl::StatusOr<History> Build() {
    History history;
    history.options = options_;
    AddFxRates();
    for (int index = 0; index < options_.customers; ++index) {
      CustomerPlan plan = DrawCustomer(options_, index);
      AddCreditLimit(plan, index);
      RETURN_IF_ERROR(AddInvoices(plan, index));
      history.customers.push_back(plan.customer);
    }
    std::stable_sort(planned_.begin(), planned_.end(), [](const Planned& a, const Planned& b) {
      return std::tie(a.date, a.phase, a.customer, a.sequence) <
             std::tie(b.date, b.phase, b.customer, b.sequence);
    });
    for (absl::CivilDay day = options_.start; day <= options_.end; ++day) {
      history.days.push_back(DayStep{day, {}});
    }
    for (Planned& planned : planned_) {
      history.days[static_cast<size_t>(planned.date - options_.start)].commands.push_back(
          std::move(planned.command));
    }
    history.outcomes = std::move(outcomes_);
    return history;
  }

 private:
  bool InWindow(absl::CivilDay day) const { return day >= options_.start && day <= options_.end; }

  void Add(absl::CivilDay date, int phase, int customer, std::string account,
           DemoCommand::Request request, int dispute_ordinal = 0) {
    planned_.push_back(
        Planned{date, phase, customer, sequence_++,
                DemoCommand{std::move(account), std::move(request), dispute_ordinal}});
  }

  // Tenant-wide rates on the first day and on the first of every later month. They do not
  // depend on the seed, so histories of different seeds agree on them.
  void AddFxRates() {
    for (absl::CivilMonth month(options_.start); month <= absl::CivilMonth(options_.end); ++month) {
      const absl::CivilDay day = std::max(absl::CivilDay(month), options_.start);
      Rng rng(Mix(0xf0f0f0f0ULL, static_cast<uint64_t>(month.year() * 12 + month.month())));
      for (const FxBase& base : kFxRates) {
        v1::GatewaySetFxRateRequest request;
        request.set_tenant(options_.tenant);
        request.set_from_currency(base.currency);
        request.set_to_currency(kBaseCurrency);
        request.set_rate_nano(base.rate_nano * (1000 + rng.Between(-20, 20)) / 1000);
        *request.mutable_effective_date() = DayToProto(day);
        request.set_request_id(
            absl::StrCat("fx:", base.currency, ":", kBaseCurrency, ":", core::FormatDate(day)));
        Add(day, kSetup, -1, absl::StrCat("fx:", base.currency, ":", kBaseCurrency),
            std::move(request));
      }
    }
  }

  void AddCreditLimit(const CustomerPlan& plan, int index) {
    constexpr std::array<int64_t, 3> kLimitEur = {25'000, 150'000, 750'000};
    v1::GatewaySetCreditLimitRequest request;
    *request.mutable_account() = plan.customer.account;
    *request.mutable_limit() =
        MoneyProto(kLimitEur[static_cast<size_t>(plan.tier)] * 100, kBaseCurrency);
    request.set_set_by("demo-onboarding");
    request.set_request_id(absl::StrCat(plan.customer.account.account(), "-limit"));
    Add(options_.start, kSetup, index, plan.customer.account.account(), std::move(request));
  }

  absl::Status AddInvoices(const CustomerPlan& plan, int index) {
    const Customer& customer = plan.customer;
    AccountOutcome& outcome = outcomes_[customer.account.account()];
    outcome.currency = customer.currency;
    for (absl::CivilMonth month(options_.start); month <= absl::CivilMonth(options_.end); ++month) {
      // One stream per (customer, month): a longer or shifted window draws the same
      // invoices for the months both cover.
      Rng rng(Mix(plan.stream, static_cast<uint64_t>(month.year() * 12 + month.month())));
      const int count = static_cast<int>(plan.tier == Tier::kSmall    ? rng.Between(1, 2)
                                         : plan.tier == Tier::kMedium ? rng.Between(1, 3)
                                                                      : rng.Between(2, 4));
      for (int number = 1; number <= count; ++number) {
        RETURN_IF_ERROR(AddInvoice(plan, index, month, number, rng, outcome));
      }
    }
    return absl::OkStatus();
  }

  v1::IssueInvoiceRequest DrawInvoice(const CustomerPlan& plan, absl::CivilMonth month, int number,
                                      Rng& rng) {
    const Customer& customer = plan.customer;
    const absl::CivilDay last = absl::CivilDay(month + 1) - 1;
    const absl::CivilDay issue =
        NextWeekday(absl::CivilDay(month) + rng.Between(0, last.day() - 1));
    v1::IssueInvoiceRequest request;
    *request.mutable_account() = customer.account;
    request.set_account_name(customer.name);
    const std::string digits = customer.account.account().substr(1);
    request.set_invoice_id(
        absl::StrCat(customer.account.account(), "-", MonthKey(month), "-", number));
    request.set_invoice_number(absl::StrCat(plan.subsidiary->invoice_prefix, "-", MonthKey(month),
                                            "-", digits, "-", number));
    *request.mutable_issue_date() = DayToProto(issue);
    *request.mutable_payment_terms() = plan.terms;
    request.set_currency(customer.currency);

    // Net size in EUR cents, skewed towards the lower end (the smaller of two draws).
    constexpr std::array<std::pair<int64_t, int64_t>, 3> kNetEurCents = {
        {{15'000, 300'000}, {200'000, 2'500'000}, {2'000'000, 15'000'000}}};
    const auto [low, high] = kNetEurCents[static_cast<size_t>(plan.tier)];
    const int64_t net_eur_cents = std::min(rng.Between(low, high), rng.Between(low, high));
    const int64_t net_minor = net_eur_cents * PerMilleOfEur(customer.currency) / 1000;
    const int lines = static_cast<int>(rng.Between(1, 5));
    for (int line = 0; line < lines; ++line) {
      v1::InvoiceLineInput* input = request.add_lines();
      input->set_description(rng.Pick(kLineDescriptions));
      int64_t quantity_milli = 1000;
      switch (rng.Weighted({50, 30, 20})) {
        case 0:
          quantity_milli = rng.Between(1, 40) * 1000;  // pieces
          break;
        case 1:
          quantity_milli = rng.Between(2, 160) * 250;  // hours in quarters
          break;
        default:
          break;  // a flat fee
      }
      const int64_t line_net =
          std::max<int64_t>(100, net_minor / lines * rng.Between(60, 140) / 100);
      int64_t unit_price = std::max<int64_t>(1, line_net * 1000 / quantity_milli);
      if (unit_price > 10'000) unit_price = unit_price / 100 * 100;  // whole units
      input->set_quantity_milli(quantity_milli);
      input->set_unit_price_minor(unit_price);
      input->set_tax_rate_bp(rng.Chance(20) ? plan.reduced_tax_bp : plan.standard_tax_bp);
    }
    return request;
  }

  // Pays `amount` of the invoice on `date` (moved to a weekday); ~1% of payments bounce a
  // few days later and are paid again by bank transfer. Nothing is paid once a defaulting
  // customer has stopped paying.
  void Pay(const CustomerPlan& plan, int index, const v1::IssueInvoiceRequest& invoice,
           absl::CivilDay date, int64_t amount, int& payments, Rng& rng, AccountOutcome& outcome) {
    date = NextWeekday(date);
    const bool bounces = rng.Chance(plan.customer.behaviour == Behaviour::kPrompt ? 1 : 2);
    const int64_t reversal_after = rng.Between(2, 5);
    const int64_t paid_again_after = rng.Between(3, 10);
    if (amount <= 0) return;
    if (plan.customer.behaviour == Behaviour::kDefaulting && date >= plan.stops_paying) return;
    const std::string payment_id = absl::StrCat(invoice.invoice_id(), "-P", ++payments);
    const auto record = [&](const std::string& id, absl::CivilDay value_date,
                            v1::PaymentMethod method) {
      v1::RecordPaymentRequest request;
      *request.mutable_account() = plan.customer.account;
      request.set_payment_id(id);
      *request.mutable_amount() = MoneyProto(amount, invoice.currency());
      request.set_method(method);
      *request.mutable_value_date() = DayToProto(value_date);
      if (plan.customer.names_invoices) {
        request.set_reference(absl::StrCat("Invoice ", invoice.invoice_number()));
        v1::PaymentAllocationLine* line = request.add_allocations();
        line->set_invoice_id(invoice.invoice_id());
        *line->mutable_amount() = request.amount();
      } else {
        request.set_reference(absl::StrCat("Account ", plan.customer.account.account()));
      }
      outcome.paid_minor += amount;
      ++outcome.payments;
      Add(value_date, kPayment, index, plan.customer.account.account(), std::move(request));
    };
    if (!InWindow(date)) return;
    record(payment_id, date, plan.method);
    if (!bounces) return;
    const absl::CivilDay reversal_date = NextWeekday(date + reversal_after);
    if (!InWindow(reversal_date)) return;
    v1::ReversePaymentRequest reversal;
    reversal.set_tenant(options_.tenant);
    reversal.set_payment_id(payment_id);
    reversal.set_reason("bounced");
    *reversal.mutable_reversal_date() = DayToProto(reversal_date);
    outcome.paid_minor -= amount;
    Add(reversal_date, kReversal, index, plan.customer.account.account(), std::move(reversal));
    const absl::CivilDay again = NextWeekday(reversal_date + paid_again_after);
    if (InWindow(again))
      record(absl::StrCat(payment_id, "R"), again, v1::PAYMENT_METHOD_BANK_TRANSFER);
  }

  absl::Status AddInvoice(const CustomerPlan& plan, int index, absl::CivilMonth month, int number,
                          Rng& rng, AccountOutcome& outcome) {
    // Everything is drawn before deciding what falls into the window, so the draws of the
    // invoices after this one do not depend on the window.
    v1::IssueInvoiceRequest request = DrawInvoice(plan, month, number, rng);
    ASSIGN_OR_RETURN(v1::InvoiceIssued issued, invoicing::BuildInvoiceIssued(request));
    const absl::CivilDay issue = absl::CivilDay(
        request.issue_date().year(), request.issue_date().month(), request.issue_date().day());
    const absl::CivilDay due(issued.due_date().year(), issued.due_date().month(),
                             issued.due_date().day());
    const int64_t total = issued.total().minor_units();
    Rng plan_rng(
        Mix(plan.stream ^ 0x5eed, static_cast<uint64_t>(core::DayNumber(issue) * 8 + number)));
    const Behaviour behaviour = plan.customer.behaviour;
    const bool issued_in_window =
        InWindow(issue) && !(behaviour == Behaviour::kDefaulting && issue > plan.stops_paying + 60);
    if (!issued_in_window) return absl::OkStatus();

    const std::string& account = plan.customer.account.account();
    outcome.invoiced_minor += total;
    ++outcome.invoices;
    Add(issue, kIssue, index, account, request);

    int payments = 0;
    const absl::CivilDay earliest_payment = issue + 1;
    const auto pay = [&](absl::CivilDay date, int64_t amount) {
      Pay(plan, index, request, std::max(date, earliest_payment), amount, payments, plan_rng,
          outcome);
    };
    switch (behaviour) {
      case Behaviour::kPrompt: {
        const bool on_due_date = plan.method == v1::PAYMENT_METHOD_DIRECT_DEBIT;
        pay(on_due_date ? due : due - plan_rng.Between(0, 10), total);
        break;
      }
      case Behaviour::kUsuallyLate:
      case Behaviour::kDefaulting: {
        const absl::CivilDay date = due + plan_rng.Between(5, 40);
        if (plan_rng.Chance(10)) {  // half now, the rest a little later
          const int64_t first = total / 2;
          pay(date, first);
          pay(date + plan_rng.Between(5, 15), total - first);
        } else {
          pay(date, total);
        }
        break;
      }
      case Behaviour::kChronic:
        AddChronicPlan(plan, index, request, due, total, pay, plan_rng);
        break;
      case Behaviour::kDisputing:
        AddDisputingPlan(plan, index, request, issue, due, total, pay, plan_rng, outcome);
        break;
    }
    return absl::OkStatus();
  }

  // Part now, a promise for the rest, then the rest: on time when the promise is kept,
  // weeks later (sometimes in two parts) when it is broken.
  template <typename PayFn>
  void AddChronicPlan(const CustomerPlan& plan, int index, const v1::IssueInvoiceRequest& request,
                      absl::CivilDay due, int64_t total, PayFn& pay, Rng& rng) {
    const int64_t first = total * rng.Between(30, 60) / 100;
    const absl::CivilDay first_date = NextWeekday(due + rng.Between(30, 60));
    const absl::CivilDay promised_on = NextWeekday(first_date + rng.Between(3, 10));
    const absl::CivilDay promised_date = promised_on + rng.Between(7, 21);
    const bool kept = rng.Chance(55);
    const int64_t late_by = rng.Between(10, 60);
    const bool split = rng.Chance(30);
    const int64_t split_after = rng.Between(20, 40);
    pay(first_date, first);
    const int64_t rest = total - first;
    if (InWindow(promised_on) && rest > 0) {
      v1::GatewayRecordPromiseRequest promise;
      *promise.mutable_account() = plan.customer.account;
      promise.set_promise_id(absl::StrCat(request.invoice_id(), "-PTP1"));
      *promise.mutable_amount() = MoneyProto(rest, request.currency());
      *promise.mutable_promised_date() = DayToProto(promised_date);
      promise.set_recorded_by("collector");
      Add(promised_on, kPromise, index, plan.customer.account.account(), std::move(promise));
    }
    if (kept) {
      pay(std::max(promised_on + 1, promised_date - rng.Between(0, 3)), rest);
    } else if (split) {
      const int64_t part = rest / 2;
      pay(promised_date + late_by, part);
      pay(promised_date + late_by + split_after, rest - part);
    } else {
      pay(promised_date + late_by, rest);
    }
  }

  // About a third of the invoices are disputed soon after issue (before anything is paid on
  // them). The dispute ends with a credit note or with the customer accepting the invoice,
  // and the rest is paid afterwards. Undisputed invoices are paid around the due date.
  template <typename PayFn>
  void AddDisputingPlan(const CustomerPlan& plan, int index, const v1::IssueInvoiceRequest& request,
                        absl::CivilDay issue, absl::CivilDay due, int64_t total, PayFn& pay,
                        Rng& rng, AccountOutcome& outcome) {
    const std::string& account = plan.customer.account.account();
    const bool disputed = rng.Chance(35);
    const absl::CivilDay dispute_date = NextWeekday(issue + rng.Between(3, 20));
    const int64_t disputed_amount = std::max<int64_t>(1, total * rng.Between(10, 100) / 100);
    const absl::CivilDay resolution_date = NextWeekday(dispute_date + rng.Between(7, 40));
    const bool credited = rng.Chance(60);
    const int64_t credit = std::max<int64_t>(1, disputed_amount * rng.Between(50, 100) / 100);
    const int64_t pay_after = rng.Between(3, 20);
    if (!disputed) {
      pay(due + rng.Between(-5, 15), total);
      return;
    }
    if (!InWindow(dispute_date)) return;
    constexpr std::array<const char*, 4> kReasons = {
        "goods damaged in transit", "price differs from the order", "service not delivered in full",
        "duplicate charge"};
    v1::DisputeInvoiceRequest dispute;
    dispute.set_tenant(options_.tenant);
    dispute.set_invoice_id(request.invoice_id());
    *dispute.mutable_disputed_amount() = MoneyProto(disputed_amount, request.currency());
    dispute.set_reason(rng.Pick(kReasons));
    *dispute.mutable_dispute_date() = DayToProto(dispute_date);
    Add(dispute_date, kDispute, index, account, std::move(dispute), /*dispute_ordinal=*/1);
    if (!InWindow(resolution_date)) return;
    int64_t credited_amount = 0;
    if (credited) {
      v1::IssueCreditNoteRequest note;
      note.set_tenant(options_.tenant);
      note.set_credit_note_id(absl::StrCat(request.invoice_id(), "-CN1"));
      note.set_invoice_id(request.invoice_id());
      *note.mutable_amount() = MoneyProto(credit, request.currency());
      *note.mutable_issue_date() = DayToProto(resolution_date);
      note.set_reason("dispute settled by credit note");
      credited_amount = credit;
      outcome.credited_minor += credit;
      Add(resolution_date, kCreditNote, index, account, std::move(note));
    }
    v1::ResolveDisputeRequest resolve;
    resolve.set_tenant(options_.tenant);
    resolve.set_invoice_id(request.invoice_id());
    resolve.set_resolution(credited ? absl::StrCat("credit note ", request.invoice_id(), "-CN1")
                                    : "customer accepted the invoice");
    *resolve.mutable_resolution_date() = DayToProto(resolution_date);
    Add(resolution_date, kResolve, index, account, std::move(resolve), /*dispute_ordinal=*/1);
    pay(resolution_date + pay_after, total - credited_amount);
  }

  const HistoryOptions& options_;
  std::vector<Planned> planned_;
  int64_t sequence_ = 0;
  std::map<std::string, AccountOutcome> outcomes_;
};

}  // namespace

std::string_view BehaviourName(Behaviour behaviour) {
  switch (behaviour) {
    case Behaviour::kPrompt:
      return "prompt";
    case Behaviour::kUsuallyLate:
      return "usually_late";
    case Behaviour::kChronic:
      return "chronic";
    case Behaviour::kDefaulting:
      return "defaulting";
    case Behaviour::kDisputing:
      return "disputing";
  }
  return "unknown";
}

const std::vector<Subsidiary>& DemoSubsidiaries() {
  static const auto* subsidiaries = new std::vector<Subsidiary>{
      {"eu", "Europe/Berlin", "de-gmbh", "EUR", "DE", "GmbH"},
      {"eu", "Europe/Berlin", "uk-ltd", "GBP", "UK", "Ltd"},
      {"us", "America/New_York", "us-inc", "USD", "US", "Inc."},
      {"us", "America/New_York", "ca-ltd", "CAD", "CA", "Ltd."},
      {"apac", "Asia/Shanghai", "cn-co", "CNY", "CN", "Co., Ltd."},
      {"apac", "Asia/Shanghai", "sg-pte", "SGD", "SG", "Pte. Ltd."},
  };
  return *subsidiaries;
}

std::vector<std::string> DemoRegions() { return {"eu", "us", "apac"}; }

std::string_view CommandKind(const DemoCommand& command) {
  struct Visitor {
    std::string_view operator()(const v1::IssueInvoiceRequest&) { return "IssueInvoice"; }
    std::string_view operator()(const v1::RecordPaymentRequest&) { return "RecordPayment"; }
    std::string_view operator()(const v1::ReversePaymentRequest&) { return "ReversePayment"; }
    std::string_view operator()(const v1::IssueCreditNoteRequest&) { return "IssueCreditNote"; }
    std::string_view operator()(const v1::DisputeInvoiceRequest&) { return "DisputeInvoice"; }
    std::string_view operator()(const v1::ResolveDisputeRequest&) { return "ResolveDispute"; }
    std::string_view operator()(const v1::GatewayRecordPromiseRequest&) {
      return "RecordPromiseToPay";
    }
    std::string_view operator()(const v1::GatewaySetCreditLimitRequest&) {
      return "SetCreditLimit";
    }
    std::string_view operator()(const v1::GatewaySetFxRateRequest&) { return "SetFxRate"; }
  };
  return std::visit(Visitor{}, command.request);
}

absl::CivilDay StartForMonths(absl::CivilDay end, int months) {
  const absl::CivilMonth month = absl::CivilMonth(end) - months;
  const absl::CivilDay last_of_month = absl::CivilDay(month + 1) - 1;
  const absl::CivilDay same_day(month.year(), month.month(),
                                std::min<int>(end.day(), last_of_month.day()));
  return same_day + 1;
}

absl::StatusOr<History> GenerateHistory(const HistoryOptions& options) {
  if (options.customers < 1 || options.customers > 100'000) {
    return absl::InvalidArgumentError("customers must be within 1..100000");
  }
  if (options.end < options.start) {
    return absl::InvalidArgumentError("the end date is before the start date");
  }
  if (options.tenant.empty()) return absl::InvalidArgumentError("tenant is empty");
  return HistoryBuilder(options).Build();
}

}  // namespace ar::demo
