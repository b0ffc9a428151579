#include "libs/projection/counting_handler.h"

#include "absl/strings/str_cat.h"

namespace ar::projection {

absl::Status CountingHandler::Apply(const v1::Event& event, const eventlog::Record&,
                                    store::WriteBatch& batch) {
  if (event.account() == kPoisonAccount) {
    return absl::FailedPreconditionError("account 'poison' is refused by the counting handler");
  }
  batch.HIncrBy(kCountsKey, event.account(), 1);
  return absl::OkStatus();
}

std::string MakeCountingRecord(const std::string& account, int events, int64_t sequence) {
  v1::EventBatch batch;
  batch.set_command_id(absl::StrCat(account, "-", sequence));
  for (int i = 0; i < events; ++i) {
    v1::Event* event = batch.add_events();
    event->set_event_id(absl::StrCat(account, "-", sequence, "-", i));
    event->set_tenant("t1");
    event->set_region("eu");
    event->set_account(account);
    event->set_schema_version(1);
    v1::BusinessDayClosed* body = event->mutable_business_day_closed();
    body->mutable_date()->set_year(2027);
    body->mutable_date()->set_month(1);
    body->mutable_date()->set_day(1);
  }
  return batch.SerializeAsString();
}

}  // namespace ar::projection
