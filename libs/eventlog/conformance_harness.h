#pragma once
// How the eventlog conformance suite reaches a backend: each backend provides a harness
// that owns whatever the backend needs (a temp data directory; a mock Kafka cluster) and
// opens EventLog clients on it. The suite is written once against this.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/eventlog/eventlog.h"

namespace ar::eventlog {

class EventLogHarness {
 public:
  virtual ~EventLogHarness() = default;
  // Opens a client on the backend under test. May be called again after earlier clients
  // were destroyed: the new one sees the same topics, records and committed offsets.
  virtual absl::StatusOr<std::unique_ptr<EventLog>> Open() = 0;
};

struct HarnessFactory {
  std::string name;  // used in test names: letters and digits only
  std::function<std::unique_ptr<EventLogHarness>()> make;
};

HarnessFactory EmbeddedHarnessFactory();  // embedded_harness.cc
HarnessFactory KafkaHarnessFactory();     // kafka_harness.cc

}  // namespace ar::eventlog
