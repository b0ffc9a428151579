#include "tests/integration/simulation/receivables_model.h"

#include <algorithm>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>
#include <variant>

namespace ar::sim {
namespace {

constexpr char kBase[] = "EUR";

absl::CivilDay Day(const v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

struct Allocation {
  std::string payment_id;
  int64_t amount = 0;
  absl::CivilDay date;
  bool reversed = false;
};

struct Invoice {
  std::string id, account, currency;
  absl::CivilDay issue, due;
  int64_t total = 0, credited = 0, disputed = 0;
  std::vector<Allocation> allocations;

  int64_t Allocated() const {
    int64_t sum = 0;
    for (const Allocation& a : allocations) sum += a.reversed ? 0 : a.amount;
    return sum;
  }
  int64_t Open() const { return std::max<int64_t>(0, total - credited - Allocated()); }
  // The day the payment that completed it was made; none for an invoice still open or
  // settled by credit notes alone.
  std::optional<absl::CivilDay> PaidDay() const {
    if (Open() > 0) return std::nullopt;
    std::optional<absl::CivilDay> paid;
    for (const Allocation& a : allocations) {
      if (!a.reversed && (!paid || a.date > *paid)) paid = a.date;
    }
    return paid;
  }
};

struct Promise {
  std::string id;
  int64_t amount = 0, paid = 0;
  absl::CivilDay date;
  bool open = false;
};

struct Account {
  std::string id, region, subsidiary, currency;
  int64_t limit = 0;
  std::vector<std::string> invoice_ids;                                          // in issue order
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> payments;  // -> allocations
  Promise promise;
  std::set<std::string> broken_promises;
  std::set<std::string> bounced_payments;
};

// amount x rate_nano / 10^9 rounded half to even (every currency of the history has two
// decimals, like the base currency).
int64_t ConvertHalfEven(int64_t amount, int64_t rate_nano) {
  const __int128 product = static_cast<__int128>(amount) * rate_nano;
  const __int128 billion = 1'000'000'000;
  __int128 quotient = product / billion;
  const __int128 remainder = product % billion;
  if (2 * remainder > billion || (2 * remainder == billion && quotient % 2 != 0)) ++quotient;
  return static_cast<int64_t>(quotient);
}

// Score points of one factor: -min(max, max(0, value - allowance) x points / step).
int32_t Penalty(int64_t value, int64_t allowance, int64_t points, int64_t step, int64_t max) {
  if (value <= allowance) return 0;
  const __int128 raw = static_cast<__int128>(value - allowance) * points / step;
  return -static_cast<int32_t>(std::min<__int128>(raw, max));
}

class Simulator {
 public:
  explicit Simulator(const demo::History& history) : history_(history) {}

  Expected Run() {
    for (const demo::Customer& customer : history_.customers) {
      Account& account = accounts_[customer.account.account()];
      account.id = customer.account.account();
      account.region = customer.account.region();
      account.subsidiary = customer.account.subsidiary();
      account.currency = customer.currency;
    }
    for (const demo::DayStep& day : history_.days) {
      for (const demo::DemoCommand& command : day.commands) {
        std::visit([&](const auto& request) { Apply(request); }, command.request);
      }
      CloseDay(day.date);
    }
    return Results(history_.days.back().date + 1);
  }

 private:
  Account& AccountOf(const v1::AccountRef& ref) { return accounts_.at(ref.account()); }

  void Apply(const v1::IssueInvoiceRequest& request) {
    Invoice invoice;
    invoice.id = request.invoice_id();
    invoice.account = request.account().account();
    invoice.currency = request.currency();
    invoice.issue = Day(request.issue_date());
    for (const v1::InvoiceLineInput& line : request.lines()) {
      const int64_t net = RoundHalfAwayFromZero(
          static_cast<__int128>(line.quantity_milli()) * line.unit_price_minor(), 1000);
      invoice.total +=
          net + RoundHalfAwayFromZero(static_cast<__int128>(net) * line.tax_rate_bp(), 10000);
    }
    const v1::PaymentTerms& terms = request.payment_terms();
    invoice.due = terms.kind() == v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS
                      ? absl::CivilDay(absl::CivilMonth(invoice.issue) + 1) - 1 + terms.days()
                      : invoice.issue + terms.days();
    AccountOf(request.account()).invoice_ids.push_back(invoice.id);
    invoices_[invoice.id] = std::move(invoice);
    ++counts_["invoices"];
  }

  void Allocate(Account& account, const std::string& payment_id, Invoice& invoice, int64_t amount,
                absl::CivilDay date) {
    invoice.allocations.push_back({payment_id, amount, date, false});
    account.payments[payment_id].emplace_back(invoice.id, amount);
    // Collections counts every allocation in the promise's currency towards a live promise.
    Promise& promise = account.promise;
    if (promise.open && invoice.currency == account.currency) {
      promise.paid += amount;
      if (promise.paid >= promise.amount) {
        promise.open = false;
        ++counts_["promises kept"];
      }
    }
  }

  void Apply(const v1::RecordPaymentRequest& request) {
    Account& account = AccountOf(request.account());
    const absl::CivilDay date = Day(request.value_date());
    int64_t left = request.amount().minor_units();
    account.payments[request.payment_id()];
    ++counts_["payments"];
    if (request.allocations_size() > 0) {
      for (const v1::PaymentAllocationLine& line : request.allocations()) {
        Invoice& invoice = invoices_.at(line.invoice_id());
        const int64_t amount = std::min(line.amount().minor_units(), invoice.Open());
        if (amount > 0) Allocate(account, request.payment_id(), invoice, amount, date);
        left -= amount;
      }
      ++counts_["payments naming their invoice"];
    } else {
      // Oldest due date first (ties: issue date, then invoice id), in the payment's currency.
      std::vector<Invoice*> open;
      for (const std::string& id : account.invoice_ids) {
        Invoice& invoice = invoices_.at(id);
        if (invoice.currency == request.amount().currency() && invoice.Open() > 0)
          open.push_back(&invoice);
      }
      std::sort(open.begin(), open.end(), [](const Invoice* a, const Invoice* b) {
        return std::tie(a->due, a->issue, a->id) < std::tie(b->due, b->issue, b->id);
      });
      for (Invoice* invoice : open) {
        const int64_t amount = std::min(left, invoice->Open());
        if (amount <= 0) break;
        Allocate(account, request.payment_id(), *invoice, amount, date);
        left -= amount;
      }
    }
    // The history never overpays: cash left unapplied would be a history the model does
    // not cover (counted, so the test can insist on none).
    if (left > 0) ++counts_["payments with unapplied cash"];
  }

  void Apply(const v1::ReversePaymentRequest& request) {
    for (auto& [id, account] : accounts_) {
      auto payment = account.payments.find(request.payment_id());
      if (payment == account.payments.end()) continue;
      for (const auto& [invoice_id, amount] : payment->second) {
        for (Allocation& allocation : invoices_.at(invoice_id).allocations) {
          if (allocation.payment_id == request.payment_id()) allocation.reversed = true;
        }
        // Net payments since the promise count towards it: a bounce after the promise
        // takes back what it had paid, even of a payment made before it.
        if (account.promise.open) account.promise.paid -= amount;
      }
      payment->second.clear();
      account.bounced_payments.insert(request.payment_id());
      ++counts_["reversals"];
      return;
    }
  }

  void Apply(const v1::IssueCreditNoteRequest& request) {
    invoices_.at(request.invoice_id()).credited += request.amount().minor_units();
    ++counts_["credit notes"];
  }
  void Apply(const v1::DisputeInvoiceRequest& request) {
    invoices_.at(request.invoice_id()).disputed = request.disputed_amount().minor_units();
    ++counts_["disputes"];
  }
  void Apply(const v1::ResolveDisputeRequest& request) {
    invoices_.at(request.invoice_id()).disputed = 0;
  }
  void Apply(const v1::GatewayRecordPromiseRequest& request) {
    // A new promise replaces the account's previous one, whatever became of it.
    Promise& promise = AccountOf(request.account()).promise;
    promise = Promise{request.promise_id(), request.amount().minor_units(), 0,
                      Day(request.promised_date()), true};
    ++counts_["promises"];
  }
  void Apply(const v1::GatewaySetCreditLimitRequest& request) {
    AccountOf(request.account()).limit = request.limit().minor_units();
  }
  void Apply(const v1::GatewaySetFxRateRequest& request) {
    if (request.to_currency() != kBase) return;
    auto& [effective, rate] = rates_[request.from_currency()];
    const absl::CivilDay day = Day(request.effective_date());
    if (rate == 0 || day >= effective) {
      effective = day;
      rate = request.rate_nano();
    }
  }

  // Closing D: a live promise dated before D + 1 is broken.
  void CloseDay(absl::CivilDay closed) {
    for (auto& [id, account] : accounts_) {
      Promise& promise = account.promise;
      if (promise.open && promise.date <= closed) {
        promise.open = false;
        account.broken_promises.insert(promise.id);
        ++counts_["promises broken"];
      }
    }
  }

  std::optional<int64_t> ToBase(int64_t amount, const std::string& currency) const {
    if (currency == kBase) return amount;
    auto rate = rates_.find(currency);
    if (rate == rates_.end()) return std::nullopt;
    return ConvertHalfEven(amount, rate->second.second);
  }

  static std::string BucketOf(int64_t days_past_due) {
    std::string label = kNotYetDue;
    for (const Bucket& bucket : kBuckets) {
      if (days_past_due >= bucket.min_days_past_due) label = bucket.label;
    }
    return label;
  }

  Expected Results(absl::CivilDay business_date) {
    Expected expected;
    expected.business_date = business_date;
    for (const auto& [id, account] : accounts_) {
      if (account.invoice_ids.empty()) continue;
      ExpectedOverdueRow row;
      row.region = account.region;
      row.subsidiary = account.subsidiary;
      row.currency = account.currency;
      ExpectedProfile profile;
      profile.limit = account.limit;
      std::map<std::string, int64_t> overdue_by_currency;
      __int128 weighted_days = 0, weights = 0;
      for (const std::string& invoice_id : account.invoice_ids) {
        const Invoice& invoice = invoices_.at(invoice_id);
        const int64_t open = invoice.Open();
        const int64_t days_past_due = business_date - invoice.due;
        if (open > 0) {
          auto& line = expected.aging[{account.region, account.subsidiary, invoice.currency}];
          line[BucketOf(days_past_due)] += open;
          line[kOpen] += open;
          profile.open_by_currency[invoice.currency] += open;
        }
        if (open > 0 && days_past_due >= 1) {
          // Collections: disputed amounts are not overdue (shown apart).
          const int64_t overdue = std::max<int64_t>(0, open - invoice.disputed);
          row.open_dispute_amount += std::min(invoice.disputed, open);
          if (overdue > 0) {
            row.total_overdue += overdue;
            row.buckets[BucketOf(days_past_due)] += overdue;
            row.max_days_past_due =
                std::max(row.max_days_past_due, static_cast<int32_t>(days_past_due));
          }
          // Credit risk knows nothing of disputes: the whole open amount is overdue.
          profile.max_days_past_due =
              std::max(profile.max_days_past_due, static_cast<int32_t>(days_past_due));
          overdue_by_currency[invoice.currency] += open;
        }
        if (std::optional<absl::CivilDay> paid = invoice.PaidDay()) {
          if (std::optional<int64_t> weight = ToBase(invoice.total, invoice.currency);
              weight && *weight > 0) {
            weighted_days +=
                static_cast<__int128>(*weight) * std::max<int64_t>(0, *paid - invoice.due);
            weights += *weight;
          }
        }
      }
      if (row.total_overdue > 0) {
        for (const Bucket& bucket : kBuckets) {
          if (row.buckets.count(bucket.label)) row.worst_bucket = bucket.label;
        }
        expected.overdue[id] = row;
      }

      for (const auto& [currency, open] : profile.open_by_currency) {
        profile.exposure += ToBase(open, currency).value_or(0);
      }
      int64_t overdue_base = 0;
      for (const auto& [currency, overdue] : overdue_by_currency) {
        overdue_base += ToBase(overdue, currency).value_or(0);
      }
      if (weights > 0) profile.days_beyond_terms = static_cast<int64_t>(weighted_days / weights);
      if (profile.exposure > 0) {
        profile.overdue_share_bp =
            static_cast<int64_t>(static_cast<__int128>(overdue_base) * 10000 / profile.exposure);
        profile.utilisation_bp =
            profile.limit <= 0
                ? 1'000'000
                : static_cast<int32_t>(std::min<__int128>(
                      static_cast<__int128>(profile.exposure) * 10000 / profile.limit, 1'000'000));
      }
      profile.broken_promises = static_cast<int>(account.broken_promises.size());
      profile.bounced_payments = static_cast<int>(account.bounced_payments.size());
      // docs/credit-scoring.md with config/credit_policy.textproto's weights.
      profile.factor_points = {
          {"days_beyond_terms", Penalty(profile.days_beyond_terms, 0, 5, 1, 250)},
          {"max_days_past_due", Penalty(profile.max_days_past_due, 0, 4, 1, 300)},
          {"overdue_share", Penalty(profile.overdue_share_bp, 0, 150, 10000, 150)},
          {"broken_promises", Penalty(profile.broken_promises, 0, 50, 1, 150)},
          {"bounced_payments", Penalty(profile.bounced_payments, 0, 75, 1, 150)},
          {"utilisation", Penalty(profile.utilisation_bp, 8000, 100, 4000, 100)},
      };
      std::tie(profile.score, profile.grade) = ScoreAndGrade(profile.factor_points);
      expected.profiles[id] = profile;
    }
    expected.counts = counts_;
    return expected;
  }

  const demo::History& history_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Invoice> invoices_;
  std::map<std::string, std::pair<absl::CivilDay, int64_t>> rates_;  // currency -> (since, rate)
  std::map<std::string, int> counts_;
};

}  // namespace

int64_t RoundHalfAwayFromZero(__int128 num, int64_t den) {
  const bool negative = num < 0;
  const __int128 magnitude = negative ? -num : num;
  __int128 quotient = magnitude / den;
  if (2 * (magnitude % den) >= den) ++quotient;
  return static_cast<int64_t>(negative ? -quotient : quotient);
}

std::pair<int32_t, std::string> ScoreAndGrade(const std::map<std::string, int32_t>& factor_points) {
  int32_t score = 1000;
  for (const auto& [name, points] : factor_points) score += points;
  score = std::clamp(score, 0, 1000);
  return {score, score >= 800   ? "A"
                 : score >= 650 ? "B"
                 : score >= 500 ? "C"
                 : score >= 350 ? "D"
                                : "E"};
}

Expected Recompute(const demo::History& history) { return Simulator(history).Run(); }

}  // namespace ar::sim
