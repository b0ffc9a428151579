#include "services/collections/collections_flags.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "services/collections/domain/collections_domain.h"

ABSL_FLAG(std::string, collections_policy, "",
          "collections policy file (ar.v1.CollectionsPolicy in protobuf text format, e.g. "
          "config/collections.textproto); empty: the built-in defaults");

namespace ar::collections {

absl::StatusOr<v1::CollectionsPolicy> PolicyFromFlags() {
  const std::string path = absl::GetFlag(FLAGS_collections_policy);
  if (path.empty()) return DefaultPolicy();
  std::ifstream file(path);
  if (!file) return absl::NotFoundError("--collections_policy: cannot read " + path);
  std::stringstream text;
  text << file.rdbuf();
  return ParsePolicy(text.str());
}

}  // namespace ar::collections
