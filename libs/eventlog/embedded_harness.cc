// The conformance harness for the embedded backend: a fresh temporary data directory per
// test; Open() reopens the same directory, so a later client sees what earlier ones wrote.

#include <memory>

#include "libs/eventlog/conformance_harness.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/testing/temp_dir.h"

namespace ar::eventlog {
namespace {

class EmbeddedHarness final : public EventLogHarness {
 public:
  absl::StatusOr<std::unique_ptr<EventLog>> Open() override {
    EmbeddedLogOptions options;
    options.data_dir = dir_.Join("log");
    options.create_if_missing = true;
    return OpenEmbeddedLog(options);
  }

 private:
  ar::testing::TempDir dir_;
};

}  // namespace

HarnessFactory EmbeddedHarnessFactory() {
  return HarnessFactory{"Embedded", [] { return std::make_unique<EmbeddedHarness>(); }};
}

}  // namespace ar::eventlog
