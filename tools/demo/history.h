#pragma once
// A realistic accounts-receivable history for the demo tenant, generated from a seed.
//
// Pure and deterministic: the same options give the same history on every machine (the
// random numbers come from std::mt19937_64, whose sequence the standard fixes, mapped to
// ranges by our own integer arithmetic, never by the library's distributions). No I/O and
// no clock: the caller chooses the dates.
//
// The history is a list of days. Each day holds the commands the subsidiaries send that
// day, in the order they must be applied per account, and ends with the day being closed
// in every region (the feeder does that). Every command carries its own idempotency key
// derived from the customer, the month and a sequence number, so feeding the same history
// twice changes nothing.
//
// Why the plans are per invoice: every payment, dispute, credit note and promise belongs
// to one invoice and is planned when the invoice is generated, from a random stream of
// that (customer, month). Payments of an invoice never exceed what is left of it after
// its credit notes, so an account is never overpaid, whichever invoice an unallocated
// (oldest-first) payment lands on. Customers whose invoices get credit notes (the
// disputing ones) always name the invoice they pay, so a credit note never meets an
// invoice that cash of another invoice already settled.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ar/v1/gateway.pb.h"
#include "ar/v1/invoicing.pb.h"
#include "ar/v1/payments.pb.h"

namespace ar::demo {

inline constexpr char kDemoTenant[] = "demo";
inline constexpr char kBaseCurrency[] = "EUR";

// How a customer pays.
enum class Behaviour {
  kPrompt,       // in full by the due date
  kUsuallyLate,  // in full, 5-40 days late
  kChronic,      // in parts, 30-120 days late, promises it sometimes breaks
  kDefaulting,   // like usually late, then stops paying altogether
  kDisputing,    // disputes some invoices; resolved by a credit note or accepted
};
std::string_view BehaviourName(Behaviour behaviour);

struct Subsidiary {
  std::string region;     // as the clock names it (eu, us, apac)
  std::string time_zone;  // the region's zone, for the record
  std::string id;         // de-gmbh, ...
  std::string currency;
  std::string invoice_prefix;  // the country code on invoice numbers
  std::string legal_form;      // appended to customer names
};
// The six subsidiaries of the demo group, two per region of the clock's default regions.
const std::vector<Subsidiary>& DemoSubsidiaries();
std::vector<std::string> DemoRegions();  // eu, us, apac

struct Customer {
  v1::AccountRef account;
  std::string name;
  std::string currency;
  Behaviour behaviour = Behaviour::kPrompt;
  // Whether the customer names the invoice it pays (else oldest-first allocation).
  bool names_invoices = true;
};

// One command the subsidiary sends. `account` is the routing key: commands with the same
// key must be applied in order (FX rates use their currency pair).
struct DemoCommand {
  using Request =
      std::variant<v1::IssueInvoiceRequest, v1::RecordPaymentRequest, v1::ReversePaymentRequest,
                   v1::IssueCreditNoteRequest, v1::DisputeInvoiceRequest, v1::ResolveDisputeRequest,
                   v1::GatewayRecordPromiseRequest, v1::GatewaySetCreditLimitRequest,
                   v1::GatewaySetFxRateRequest>;
  std::string account;
  Request request;
  // For disputes and their resolutions: which dispute of the invoice this is (1 = the
  // first). DisputeInvoice has no idempotency key, so the feeder uses it to tell a repeat.
  int dispute_ordinal = 0;
};
// "IssueInvoice", "RecordPayment", ... (the gateway method the command goes to).
std::string_view CommandKind(const DemoCommand& command);

// The commands of one day; afterwards the day is closed in every region.
struct DayStep {
  absl::CivilDay date;
  std::vector<DemoCommand> commands;
};

struct HistoryOptions {
  uint64_t seed = 1;
  int customers = 2000;
  absl::CivilDay start;  // first day (inclusive)
  absl::CivilDay end;    // last day (inclusive)
  std::string tenant = kDemoTenant;
};

// What the history leaves on an account once every command of it is applied.
struct AccountOutcome {
  std::string currency;
  int64_t invoiced_minor = 0;  // invoice totals
  int64_t credited_minor = 0;
  int64_t paid_minor = 0;  // payments not reversed
  int invoices = 0;
  int payments = 0;  // recorded, including reversed ones
  int64_t open_minor() const { return invoiced_minor - credited_minor - paid_minor; }
};

struct History {
  HistoryOptions options;
  std::vector<Customer> customers;
  std::vector<DayStep> days;                       // one per day from start to end, in date order
  std::map<std::string, AccountOutcome> outcomes;  // by account id
};

// INVALID_ARGUMENT for customers outside 1..100000 or end before start.
absl::StatusOr<History> GenerateHistory(const HistoryOptions& options);

// Months before `end` (the same day of the month, clamped), plus one day: the history of
// `months` months that ends on `end`.
absl::CivilDay StartForMonths(absl::CivilDay end, int months);

}  // namespace ar::demo
