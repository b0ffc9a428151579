#pragma once
// The credit-risk service's command-line settings (--base_currency, --credit_policy),
// defined once for every binary that hosts the service (ar-credit-risk, ar-suite).

#include <string>

#include "absl/status/statusor.h"
#include "services/credit_risk/domain/credit_rules.h"

namespace ar::credit {

// Reads a policy file (protobuf text format of ar.v1.CreditPolicy) and validates it.
absl::StatusOr<v1::CreditPolicy> LoadPolicyFile(const std::string& path);

// Settings from the flags (or their AR_* environment variables): the built-in policy when
// --credit_policy is empty. A bad currency or policy -> INVALID_ARGUMENT naming the flag.
absl::StatusOr<Settings> SettingsFromFlags();

}  // namespace ar::credit
