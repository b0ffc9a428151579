#pragma once
// The topics of the event log, by owning service (see proto/ar/v1/events.proto).

#include <string>

namespace ar::topics {

inline constexpr char kInvoicing[] = "ar.invoicing.events";
inline constexpr char kPayments[] = "ar.payments.events";
inline constexpr char kCredit[] = "ar.credit.events";
inline constexpr char kCollections[] = "ar.collections.events";
inline constexpr char kClock[] = "ar.clock.events";
inline constexpr char kDeadLetter[] = "ar.deadletter";

// Raw feeds from a region's subsidiaries: "ar.ingest.<region>".
inline std::string IngestTopic(const std::string& region) { return "ar.ingest." + region; }

}  // namespace ar::topics
