#pragma once
// Identifiers: validation of ids that arrive from outside (tenants, accounts, invoices,
// source-system event ids) and generation of event ids.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ar::core {

inline constexpr std::size_t kMaxIdBytes = 128;

// An id is 1..kMaxIdBytes bytes of printable ASCII without spaces (0x21 '!' .. 0x7E '~').
// This accepts every id an ERP is likely to send ("INV-2027/0042", "acme:de:1001",
// UUIDs) while keeping ids safe as log keys, Redis key parts and in error messages:
// no whitespace, no control characters, no non-ASCII lookalikes. Violations ->
// INVALID_ARGUMENT with a message that names `what` ("invoice_id must not be empty").
absl::Status ValidateId(std::string_view value, std::string_view what);

// A fresh random event id formatted as a lower-case RFC 4122 version 4 UUID
// ("xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx", 122 random bits). Thread-safe (one
// generator per thread, seeded from the kernel's getrandom()) and fork-safe: a child
// process reseeds, so parent and child never hand out the same ids.
std::string NewEventId();

// The namespace of DerivedEventId, a fixed random UUID: uuid5 ids of ar-suite cannot
// collide with uuid5 ids that other software derives from the same names.
inline constexpr std::string_view kDerivedEventIdNamespace = "ff88f12a-44bb-486e-b461-336953407a35";

// The id of an event derived from another message (a command, a source event), stable
// under replay: the same (parent_id, suffix) always gives the same id and any other pair
// a different one. It is an RFC 4122 version 5 (SHA-1, name-based) UUID in
// kDerivedEventIdNamespace of the name
//     <decimal byte length of parent_id> ":" parent_id suffix
// The length prefix keeps the split unambiguous ("a/b"+"c" differs from "a"+"b/c").
// Any language can recompute it, e.g. Python:
//     uuid.uuid5(uuid.UUID(NS), f"{len(parent.encode())}:{parent}{suffix}")
// SHA-1's weakness against deliberately crafted collisions does not matter here: the ids
// dedupe our own events, they are not a security boundary.
std::string DerivedEventId(std::string_view parent_id, std::string_view suffix);

}  // namespace ar::core
