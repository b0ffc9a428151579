#include "services/credit_risk/credit_flags.h"

#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "libs/core/money.h"

ABSL_FLAG(std::string, base_currency, "EUR",
          "the tenants' base currency: limits, exposure and utilisation are in it");
ABSL_FLAG(std::string, credit_policy, "",
          "credit policy file (text format of ar.v1.CreditPolicy, e.g. "
          "config/credit_policy.textproto); empty: the built-in default");

namespace ar::credit {

absl::StatusOr<v1::CreditPolicy> LoadPolicyFile(const std::string& path) {
  std::ifstream file(path);
  if (!file.good()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<v1::CreditPolicy> policy = ParsePolicy(text.str());
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

absl::StatusOr<Settings> SettingsFromFlags() {
  Settings settings;
  settings.base_currency = absl::GetFlag(FLAGS_base_currency);
  if (absl::Status known = core::LookupCurrency(settings.base_currency).status(); !known.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--base_currency: ", known.message()));
  }
  const std::string path = absl::GetFlag(FLAGS_credit_policy);
  if (path.empty()) {
    settings.policy = DefaultPolicy();
  } else {
    absl::StatusOr<v1::CreditPolicy> policy = LoadPolicyFile(path);
    if (!policy.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--credit_policy: ", policy.status().message()));
    }
    settings.policy = *std::move(policy);
  }
  return settings;
}

}  // namespace ar::credit
