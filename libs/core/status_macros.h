#pragma once
// Abseil 20220623 ships no status macros; these evaluate their argument exactly once.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AR_STATUS_CONCAT_INNER_(a, b) a##b
#define AR_STATUS_CONCAT_(a, b) AR_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    ::absl::Status ar_status_tmp_ = ::ar::core::AsStatus(expr); \
    if (!ar_status_tmp_.ok()) return ar_status_tmp_;            \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, Compute());` declares/assigns x from the StatusOr value, or
// returns its error from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  AR_ASSIGN_OR_RETURN_IMPL_(AR_STATUS_CONCAT_(ar_statusor_, __LINE__), lhs, expr)

#define AR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()

namespace ar::core {

inline const absl::Status& AsStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace ar::core
