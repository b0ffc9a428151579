#pragma once
// Invoicing queries over the read model, with read-your-writes: a query that carries
// ReadConsistency.min_position (the position a command returned) first waits until the
// projection has applied it, bounded by the server's read_wait_timeout and the caller's
// own deadline. When the wait runs out the answer is UNAVAILABLE, not DEADLINE_EXCEEDED:
// per absl/status/status.h UNAVAILABLE is the transient condition a client should retry
// with backoff (the read model is lagging), while DEADLINE_EXCEEDED means the caller's
// own deadline expired, which gRPC already reports by itself when that is what happened.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/invoicing.pb.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"
#include "services/invoicing/projection/read_model.h"

namespace ar::invoicing {

inline constexpr int32_t kDefaultPageSize = 50;
inline constexpr int32_t kMaxPageSize = 500;

class InvoicingQueries {
 public:
  InvoicingQueries(store::Store& store, projection::ProjectionRunner& projection,
                   absl::Duration read_wait_timeout);

  // `caller_deadline`: the client's deadline (absl::InfiniteFuture() when it has none).
  absl::StatusOr<v1::Invoice> GetInvoice(const v1::GetInvoiceRequest& request,
                                         absl::Time caller_deadline);
  // Invoices of an account by due date (then invoice id), filtered by status and due-date
  // range. page_size 0 means 50; larger than 500 is served as 500. The page token is
  // opaque to clients: it encodes the last (due day, invoice id) returned, so pages stay
  // consistent while invoices are added.
  absl::StatusOr<v1::ListInvoicesResponse> ListInvoices(const v1::ListInvoicesRequest& request,
                                                        absl::Time caller_deadline);
  // Open balance per currency (currencies with a zero balance are left out) and the
  // credit-hold flag. An account without invoices has no open balance, not NOT_FOUND.
  absl::StatusOr<v1::OpenBalance> GetOpenBalance(const v1::GetOpenBalanceRequest& request,
                                                 absl::Time caller_deadline);

 private:
  absl::Status AwaitConsistency(const v1::ReadConsistency& consistency, absl::Time caller_deadline);

  store::Store& store_;
  ReadModel read_model_;
  projection::ProjectionRunner& projection_;
  absl::Duration read_wait_timeout_;
};

}  // namespace ar::invoicing
