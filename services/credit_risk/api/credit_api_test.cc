// The credit-risk API through a real gRPC channel: embedded log in a temp dir, memory
// store, the service component with its projection and reactor, a server on a free port.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/servicekit/grpc_server.h"
#include "services/credit_risk/credit_test_harness.h"
#include "services/credit_risk/domain/test_events.h"

namespace ar::credit {
namespace {

using namespace ar::credit::testing;  // NOLINT: test builders
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::CivilDay kDay(2027, 3, 1);

class CreditApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness_.Start();
    server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server_->AddService(harness_.service().grpc_service());
    ASSERT_TRUE(server_->Start().ok());
    stub_ = v1::CreditRiskService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    harness_.Stop();
  }

  static v1::SetCreditLimitRequest Limit(const std::string& account, int64_t limit,
                                         const std::string& request_id = "",
                                         const std::string& subsidiary = "sub-1") {
    v1::SetCreditLimitRequest request;
    request.mutable_account()->set_tenant(kTenant);
    request.mutable_account()->set_region(kRegion);
    request.mutable_account()->set_subsidiary(subsidiary);
    request.mutable_account()->set_account(account);
    *request.mutable_limit() = protoconv::MoneyProto(limit, "EUR");
    request.set_request_id(request_id);
    return request;
  }

  grpc::Status SetLimit(const v1::SetCreditLimitRequest& request, v1::CommandResult* result) {
    grpc::ClientContext context;
    return stub_->SetCreditLimit(&context, request, result);
  }

  grpc::Status GetProfile(const std::string& account, v1::CreditProfile* profile,
                          const v1::LogPosition* min_position = nullptr,
                          const std::string& tenant = kTenant) {
    v1::GetCreditProfileRequest request;
    request.set_tenant(tenant);
    request.set_account(account);
    if (min_position) *request.mutable_consistency()->mutable_min_position() = *min_position;
    grpc::ClientContext context;
    return stub_->GetCreditProfile(&context, request, profile);
  }

  // Accounts of every page of a list call, following the page tokens.
  template <typename Request, typename Call>
  std::vector<std::string> AllPages(Request request, Call call, int* pages) {
    std::vector<std::string> accounts;
    *pages = 0;
    do {
      v1::CreditProfileList list;
      grpc::ClientContext context;
      grpc::Status status = call(&context, request, &list);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      ++*pages;
      for (const v1::CreditProfile& profile : list.profiles()) {
        accounts.push_back(profile.account().account());
      }
      request.set_page_token(list.next_page_token());
    } while (!request.page_token().empty() && *pages < 10);
    return accounts;
  }

  ar::testing::TempDir dir_;
  CreditHarness harness_{dir_.Join("log")};
  std::unique_ptr<servicekit::GrpcServer> server_;
  std::unique_ptr<v1::CreditRiskService::Stub> stub_;
};

TEST_F(CreditApiTest, SetCreditLimitIdempotencyAndErrors) {
  v1::CommandResult first;
  ASSERT_TRUE(SetLimit(Limit("A", 50000, "r1"), &first).ok());
  EXPECT_FALSE(first.duplicate());
  ASSERT_EQ(first.event_ids_size(), 1);
  v1::CommandResult repeat;
  ASSERT_TRUE(SetLimit(Limit("A", 50000, "r1"), &repeat).ok());
  EXPECT_TRUE(repeat.duplicate());
  EXPECT_EQ(repeat.event_ids(0), first.event_ids(0));
  EXPECT_EQ(repeat.position().offset(), first.position().offset());
  v1::CommandResult result;
  grpc::Status status = SetLimit(Limit("A", 60000, "r1"), &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::SetCreditLimitRequest usd = Limit("A", 1, "r2");
  usd.mutable_limit()->set_currency("USD");
  status = SetLimit(usd, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("base currency EUR"));
  v1::SetCreditLimitRequest no_account = Limit("", 1);
  EXPECT_EQ(SetLimit(no_account, &result).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::CreditProfile profile;
  ASSERT_TRUE(GetProfile("A", &profile, &first.position()).ok());
  EXPECT_EQ(profile.limit().minor_units(), 50000);
  EXPECT_EQ(profile.limit().currency(), "EUR");
  EXPECT_EQ(profile.exposure().minor_units(), 0);
  EXPECT_EQ(profile.score(), 1000);
  EXPECT_EQ(profile.rated_grade(), "");  // nothing invoiced yet
  EXPECT_EQ(profile.account().subsidiary(), "sub-1");
}

TEST_F(CreditApiTest, ProfileErrors) {
  v1::CreditProfile profile;
  EXPECT_EQ(GetProfile("nobody", &profile).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetProfile("A", &profile, nullptr, "").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::LogPosition unknown_topic;
  unknown_topic.set_topic("ar.nowhere");
  EXPECT_EQ(GetProfile("A", &profile, &unknown_topic).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::LogPosition ahead;
  ahead.set_topic(topics::kInvoicing);
  ahead.set_offset(1000);
  EXPECT_EQ(GetProfile("A", &profile, &ahead).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(CreditApiTest, ExposureInTheBaseCurrency) {
  v1::SetFxRateRequest fx;
  fx.set_tenant(kTenant);
  fx.set_from_currency("USD");
  fx.set_to_currency("EUR");
  fx.set_rate_nano(0);
  *fx.mutable_effective_date() = protoconv::DayToProto(kDay);
  v1::CommandResult result;
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->SetFxRate(&context, fx, &result).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  fx.set_rate_nano(1'082'500'000);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->SetFxRate(&context, fx, &result).ok());
  }
  ASSERT_TRUE(SetLimit(Limit("A", 100000), &result).ok());
  harness_.Publish(topics::kInvoicing, {Issued("A", "I1", 10001, kDay, kDay + 30, "USD")});
  harness_.Publish(topics::kInvoicing, {Issued("A", "I2", 5000, kDay, kDay + 30, "GBP")});
  const v1::LogPosition last =
      harness_.Publish(topics::kInvoicing, {Issued("A", "I3", 20000, kDay, kDay + 30)});
  v1::CreditProfile profile;
  ASSERT_TRUE(GetProfile("A", &profile, &last).ok());
  // USD 100.01 * 1.0825 = 108.260825 -> EUR 108.26; GBP has no rate and is left out.
  EXPECT_EQ(profile.exposure().minor_units(), 10826 + 20000);
  EXPECT_THAT(profile.missing_fx_rates(), ElementsAre("GBP"));
  ASSERT_EQ(profile.open_by_currency().amounts_size(), 3);
  EXPECT_EQ(profile.open_by_currency().amounts(0).currency(), "EUR");
  EXPECT_EQ(profile.utilisation_bp(), 3082);
  EXPECT_EQ(profile.factors_size(), 6);
}

TEST_F(CreditApiTest, ListsByGradeAndOverLimitWithPages) {
  v1::CommandResult result;
  for (const char* account : {"A", "B", "C"}) {
    ASSERT_TRUE(
        SetLimit(Limit(account, 1000, "", account[0] == 'C' ? "sub-2" : "sub-1"), &result).ok());
    harness_.Publish(topics::kInvoicing, {Issued(account, std::string("I-") + account,
                                                 account[0] == 'B' ? 500 : 1100, kDay, kDay + 30)});
  }
  harness_.Publish(topics::kInvoicing, {Issued("D", "I-D", 100, kDay, kDay + 30)});
  harness_.WaitIdle();

  v1::ListAccountsByGradeRequest by_grade;
  by_grade.set_tenant(kTenant);
  by_grade.set_grade("A");
  int pages = 0;
  auto list_by_grade = [&](grpc::ClientContext* c, const v1::ListAccountsByGradeRequest& r,
                           v1::CreditProfileList* l) {
    return stub_->ListAccountsByGrade(c, r, l);
  };
  // Ordered by rated score, then account: A and C use 11000 bp of their limits (-75 points: 925).
  EXPECT_THAT(AllPages(by_grade, list_by_grade, &pages), ElementsAre("A", "C", "B", "D"));
  EXPECT_EQ(pages, 2);  // page size 2
  by_grade.set_subsidiary("sub-2");
  EXPECT_THAT(AllPages(by_grade, list_by_grade, &pages), ElementsAre("C"));
  by_grade.set_subsidiary("");
  by_grade.set_grade("B");
  EXPECT_TRUE(AllPages(by_grade, list_by_grade, &pages).empty());

  v1::ListAccountsOverLimitRequest over;
  over.set_tenant(kTenant);
  auto list_over = [&](grpc::ClientContext* c, const v1::ListAccountsOverLimitRequest& r,
                       v1::CreditProfileList* l) { return stub_->ListAccountsOverLimit(c, r, l); };
  EXPECT_THAT(AllPages(over, list_over, &pages), ElementsAre("A", "C"));
  over.set_region("us");
  EXPECT_TRUE(AllPages(over, list_over, &pages).empty());

  v1::CreditProfileList list;
  {
    grpc::ClientContext context;
    by_grade.set_grade("F");
    EXPECT_EQ(stub_->ListAccountsByGrade(&context, by_grade, &list).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    over.set_page_token("not a token");
    EXPECT_EQ(stub_->ListAccountsOverLimit(&context, over, &list).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    over.clear_page_token();
    over.set_page_size(-1);
    EXPECT_EQ(stub_->ListAccountsOverLimit(&context, over, &list).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace ar::credit
