#pragma once
// The credit-risk read model: events of ar.invoicing.events, ar.payments.events,
// ar.collections.events, ar.clock.events and ar.credit.events -> store writes.
//
// Keys (prefixed "cr:"; tenants and regions are length-prefixed so that no id can reach
// another's keys):
//   cr:account:<n>:<tenant>:<account>      ar.v1.CreditAccountState (string)
//   cr:fx:<n>:<tenant>:<FROM>:<TO>         ar.v1.CreditFxRate, the latest effective rate
//   cr:fxpairs:<n>:<tenant>:               HASH "FROM:TO" -> "1" (the pairs known)
//   cr:fxdays:<n>:<tenant>:<FROM>:<TO>     HASH effective day number -> rate_nano (every
//                                          rate set, so SetFxRate knows a repeat)
//   cr:bizdate:<n>:<region>:               ar.v1.Date, the region's business date B
//   cr:due:<n>:<region>:                   ZSET "<n>:<tenant>:<account>" by the earliest due
//                                          day of its open invoices (day close touches only
//                                          the accounts whose score is < B)
//   cr:grade:<n>:<tenant>:<grade>          ZSET account by rated score
//   cr:limited:<n>:<tenant>:               ZSET account (score 0): accounts with a limit
//   cr:group:<n>:<tenant>:<group>          HASH account -> "<set_at micros>:<group limit>"
//   cr:ccy:<n>:<tenant>:<currency>         ZSET account (score 0): accounts with open
//                                          invoices in the currency (an FX change reviews them)
//
// Everything written is a function of the events, not of the order of the topics: invoice
// facts commute (an allocation before its invoice waits on an entry with issued = false),
// the latest FX rate is the one with the latest effective date (ties: the later record of
// the pair's single partition), a business date only moves forward (a duplicate or older
// BusinessDayClosed changes nothing), and a group's limit is the one set last by
// recorded time (ties: the larger account id). A second record of an already applied
// decision command is skipped.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ar/v1/credit_risk.pb.h"
#include "ar/v1/events.pb.h"
#include "libs/projection/projection.h"
#include "libs/projection/state_cache.h"
#include "libs/store/store.h"
#include "services/credit_risk/domain/credit_rules.h"

namespace ar::credit {

inline constexpr char kCreditProjectionName[] = "credit";

struct Keys {
  static std::string Account(absl::string_view tenant, absl::string_view account);
  static std::string FxRate(absl::string_view tenant, absl::string_view from, absl::string_view to);
  static std::string FxPairs(absl::string_view tenant);
  static std::string FxDays(absl::string_view tenant, absl::string_view from, absl::string_view to);
  static std::string BusinessDate(absl::string_view region);
  static std::string DueIndex(absl::string_view region);
  static std::string Grade(absl::string_view tenant, absl::string_view grade);
  static std::string Limited(absl::string_view tenant);
  static std::string Group(absl::string_view tenant, absl::string_view group);
  static std::string CurrencyIndex(absl::string_view tenant, absl::string_view currency);
  // The member of DueIndex for an account, and back.
  static std::string DueMember(absl::string_view tenant, absl::string_view account);
  static bool ParseDueMember(absl::string_view member, std::string& tenant, std::string& account);
};

class CreditProjection : public projection::Handler {
 public:
  explicit CreditProjection(store::Store& store);

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;
  void Discard() override;
  void Committed() override;

  static std::vector<std::string> Topics();
  int64_t skipped_repeats() const { return skipped_repeats_; }

 private:
  absl::Status ApplyEvent(const v1::Event& event, const v1::LogPosition& position,
                          store::WriteBatch& batch);
  absl::Status ApplyFxRate(const v1::Event& event, store::WriteBatch& batch);
  absl::Status ApplyDayClosed(const v1::Event& event, store::WriteBatch& batch);
  void StartRecordIfNew(const eventlog::Record& source);
  void Forget();

  projection::StateCache<v1::CreditAccountState> accounts_;
  projection::StateCache<v1::CreditFxRate> rates_;
  projection::StateCache<v1::Date> dates_;
  std::string record_topic_;
  int32_t record_partition_ = -1;
  int64_t record_offset_ = -1;
  std::string record_command_;  // the own decision command noted for this record
  bool skip_record_ = false;
  int64_t skipped_repeats_ = 0;
};

// ---- reads shared by the API, the reactor and tests ----

absl::StatusOr<std::optional<v1::CreditAccountState>> LoadAccountState(store::Store& store,
                                                                       absl::string_view tenant,
                                                                       absl::string_view account);
// The rates into `base_currency` known for the tenant.
absl::StatusOr<FxTable> LoadFxTable(store::Store& store, absl::string_view tenant,
                                    const std::string& base_currency);
// The region's business date as a day number; nullopt before its first day close.
absl::StatusOr<std::optional<int64_t>> LoadBusinessDay(store::Store& store,
                                                       absl::string_view region);
// The group's effective limit and its members' exposure in base (nullopt: `group` empty or
// has no members).
absl::StatusOr<std::optional<GroupView>> LoadGroupView(store::Store& store,
                                                       absl::string_view tenant,
                                                       const std::string& group, const FxTable& fx);

}  // namespace ar::credit
