#pragma once
// Small text helpers shared by the project.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ar::core {

// Debian's Abseil 20220623 is built without ABSL_USES_STD_STRING_VIEW, so
// absl::string_view is a separate type that std::string_view does not convert to
// implicitly. Project APIs take std::string_view; this is the bridge to absl calls.
inline absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// Puts untrusted text into an error message: quoted, C-escaped (no raw control bytes or
// newlines end up in logs) and cut after 64 bytes (a huge input does not make a huge
// message).
inline std::string QuoteForMessage(std::string_view text) {
  constexpr std::size_t kMaxShown = 64;
  std::string shown = absl::CHexEscape(ToAbsl(text.substr(0, kMaxShown)));
  if (text.size() > kMaxShown) absl::StrAppend(&shown, "...");
  return absl::StrCat("\"", shown, "\"");
}

}  // namespace ar::core
