#pragma once
// The collections read model: events of ar.invoicing.events, ar.payments.events,
// ar.credit.events, ar.clock.events and ar.collections.events -> store writes.
//
// Keys (prefixed "col:"; tenants length-prefixed so no tenant id reaches another's keys;
// an "account member" is "<len>:<tenant><len>:<account>"):
//   col:acct:<n>:<tenant>:<account>   ar.v1.CollectionsAccount (string)
//   col:region:<region>               ar.v1.CollectionsRegion: last day closed
//   col:due:<region>                  ZSET account member + invoice id, by due day number:
//                                     every open invoice (the due-date index)
//   col:promise:<region>              ZSET account member by promised day: live promises
//   col:attn:<region>                 ZSET account members whose next day close has
//                                     something to decide outside the due-date schedule
//                                     (a reopened invoice, a promise that ended, a grade
//                                     or dispute change)
//   col:aging:<n>:<tenant>            HASH "<region> <subsidiary> <currency> <label>" -> minor
//   col:aging:<n>:<tenant>:<region>   HASH "<subsidiary> <currency> <label>" -> minor
//                                     (label: an aging bucket, "not_yet_due", or "open")
//   col:ovd:amt:<n>:<tenant>          ZSET account by total overdue (minor units)
//   col:ovd:due:<n>:<tenant>          ZSET account by oldest overdue due day
//   col:kpi:<n>:<tenant>:<region>     HASH "<yyyy-mm> <currency> sales|collected" -> minor
//                                     (month-end receivables written by the reactor)
//
// Aging: an open invoice counts its open amount under the label of its days past due as
// of its region's business date, and under "open"; every change of open amount or label
// moves it (HINCRBY), so not_yet_due + every bucket == open, always. A day close moves
// only the invoices found in the due-date index ranges that change state (see
// DueDateRangesToVisit), so it costs work proportional to them.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ar/v1/collections.pb.h"
#include "ar/v1/events.pb.h"
#include "libs/projection/projection.h"
#include "libs/projection/state_cache.h"
#include "libs/store/store.h"
#include "services/collections/domain/collections_domain.h"

namespace ar::collections {

inline constexpr char kCollectionsProjectionName[] = "collections";

struct Keys {
  static std::string Account(absl::string_view tenant, absl::string_view account);
  static std::string Region(absl::string_view region);
  static std::string DueIndex(absl::string_view region);
  static std::string Promises(absl::string_view region);
  static std::string Attention(absl::string_view region);
  static std::string AgingTenant(absl::string_view tenant);
  static std::string AgingRegion(absl::string_view tenant, absl::string_view region);
  static std::string OverdueByAmount(absl::string_view tenant);
  static std::string OverdueByAge(absl::string_view tenant);
  static std::string Kpi(absl::string_view tenant, absl::string_view region);
  static std::string ReactorClosed(absl::string_view region);

  static std::string AccountMember(absl::string_view tenant, absl::string_view account);
  // Splits an account member (optionally followed by an invoice id).
  static bool ParseMember(absl::string_view member, std::string& tenant, std::string& account,
                          std::string& rest);
};

class CollectionsProjection : public projection::Handler {
 public:
  CollectionsProjection(store::Store& store, v1::CollectionsPolicy policy);

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;
  void BeforeCommit(store::WriteBatch& batch) override;
  void Discard() override;
  void Committed() override;

  int64_t skipped_repeats() const { return skipped_repeats_; }
  // Accounts visited by day closes (diagnostics, tests: proves a close is not a full scan).
  int64_t accounts_visited_by_closes() const { return accounts_visited_by_closes_; }

 private:
  // Sorted-set writes of the batch not yet committed, so that a day close in the same
  // batch as the invoices before it sees them in the index.
  class PendingSets {
   public:
    void Add(const std::string& key, const std::string& member, int64_t score);
    void Remove(const std::string& key, const std::string& member);
    // The members of `key` within [min, max] as the store will hold them after commit.
    absl::StatusOr<std::vector<std::string>> Range(store::Store& store, const std::string& key,
                                                   int64_t min, int64_t max) const;
    void BeginRecord() { undo_mark_ = log_.size(); }
    void UndoRecord();
    void Clear() {
      sets_.clear();
      log_.clear();
      undo_mark_ = 0;
    }

   private:
    std::map<std::string, std::map<std::string, std::optional<int64_t>>> sets_;
    // (key, member, entry before) for undo.
    std::vector<std::tuple<std::string, std::string, std::optional<std::optional<int64_t>>>> log_;
    size_t undo_mark_ = 0;
  };

  absl::Status ApplyEvent(const v1::Event& event, const eventlog::Record& source,
                          store::WriteBatch& batch);
  absl::Status ApplyDayClosed(const v1::Event& event, store::WriteBatch& batch);
  absl::Status ApplyDayCloseCompleted(const v1::Event& event, store::WriteBatch& batch);
  absl::StatusOr<BusinessDates> DatesFor(const v1::CollectionsAccount& account);
  // Writes everything derived from the state (aging, indexes) for an account that went
  // from `before` (under `dates_before`) to `after` (under `dates_after`); the state
  // itself is written by the cache (BeforeCommit). `marked`: whether a day close found
  // the account in its region's attention set (nullopt: it did not look there).
  void PutDerived(const v1::CollectionsAccount& before, const BusinessDates& dates_before,
                  const v1::CollectionsAccount& after, const BusinessDates& dates_after,
                  bool day_close, std::optional<bool> marked, store::WriteBatch& batch);
  void MoveAging(const std::string& tenant, const std::string& region,
                 const std::string& subsidiary, const std::string& currency,
                 const std::string& label, int64_t amount);
  void WriteAgingMoves(store::WriteBatch& batch);
  void ZAdd(store::WriteBatch& batch, const std::string& key, const std::string& member,
            int64_t score);
  void ZRem(store::WriteBatch& batch, const std::string& key, const std::string& member);
  bool NeedsAttention(const v1::CollectionsAccount& account, const BusinessDates& dates) const;
  void ForgetRecordMarks();

  store::Store& store_;
  v1::CollectionsPolicy policy_;
  projection::StateCache<v1::CollectionsAccount> accounts_;
  // The state before the event being applied, reused so that copying it allocates little.
  v1::CollectionsAccount before_;
  projection::StateCache<v1::CollectionsRegion> regions_;
  PendingSets pending_;
  // Aging moves of the event being applied, summed per field before they reach the batch:
  // a day close moves thousands of invoices between a few (subsidiary, currency, label).
  // (tenant, region, subsidiary, currency, label) -> minor units.
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, int64_t>
      aging_moves_;
  std::string current_record_;
  std::string command_noted_record_;  // the record whose command id was noted
  bool skip_record_ = false;
  int64_t skipped_repeats_ = 0;
  int64_t accounts_visited_by_closes_ = 0;
};

// Reads shared by the API, the reactor, tests and the benchmark.
absl::StatusOr<v1::CollectionsAccount> LoadAccount(store::Store& store, absl::string_view tenant,
                                                   absl::string_view account);
// The same into `state`, which keeps what it had allocated: a caller that decodes many
// accounts into one message (the reactor's day close) allocates little.
absl::Status LoadAccountInto(store::Store& store, absl::string_view tenant,
                             absl::string_view account, v1::CollectionsAccount& state);
absl::StatusOr<std::optional<absl::CivilDay>> LoadBusinessDate(store::Store& store,
                                                               absl::string_view region);
// The last closed day of `region` whose decisions are all in the log (nullopt: none).
absl::StatusOr<std::optional<absl::CivilDay>> LoadDecidedThrough(store::Store& store,
                                                                 absl::string_view region);
// The business dates of every region the account's invoices are in.
absl::StatusOr<BusinessDates> LoadBusinessDates(store::Store& store,
                                                const v1::CollectionsAccount& account);

// The account members a day close that moves `region`'s business date from `previous`
// (nullopt: none yet) to `current` (day numbers) decides for: invoices in the due-date
// index ranges that change state, promises dated before `current`, and the accounts
// marked for attention. Sorted.
absl::StatusOr<std::set<std::string>> DayCloseCandidates(store::Store& store,
                                                         const v1::CollectionsPolicy& policy,
                                                         const std::string& region,
                                                         std::optional<int64_t> previous,
                                                         int64_t current);

// The aging report from the aggregates: one HGETALL (the tenant's, or one region's).
absl::StatusOr<v1::AgingReport> LoadAgingReport(store::Store& store,
                                                const v1::CollectionsPolicy& policy,
                                                const v1::GetAgingReportRequest& request);

}  // namespace ar::collections
