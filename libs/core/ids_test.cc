#include "libs/core/ids.h"

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ar::core {
namespace {

using ::testing::HasSubstr;

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx in lower-case hex. (Not std::regex: GCC 12
// reports false maybe-uninitialized warnings inside <regex> under the sanitizers.)
bool IsLowerCaseUuidV4(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash_position != (c == '-')) return false;
    if (!dash_position && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return id[14] == '4' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

TEST(UuidCheckTest, RecognisesVersion4Only) {
  EXPECT_TRUE(IsLowerCaseUuidV4("ff88f12a-44bb-486e-b461-336953407a35"));
  EXPECT_FALSE(IsLowerCaseUuidV4("ff88f12a-44bb-586e-b461-336953407a35"));  // version 5
  EXPECT_FALSE(IsLowerCaseUuidV4("ff88f12a-44bb-486e-c461-336953407a35"));  // variant 110x
  EXPECT_FALSE(IsLowerCaseUuidV4("FF88F12A-44BB-486E-B461-336953407A35"));
  EXPECT_FALSE(IsLowerCaseUuidV4("ff88f12a44bb-486e-b461-336953407a35-"));
}

// ---- ValidateId ---------------------------------------------------------------------

TEST(ValidateIdTest, AcceptsPrintableAsciiWithoutSpaces) {
  for (const char* id : {"a", "INV-2027/0042", "acme:de:1001",
                         "ff88f12a-44bb-486e-b461-336953407a35", "~!#$%&*()"}) {
    EXPECT_TRUE(ValidateId(id, "invoice_id").ok()) << id;
  }
  EXPECT_TRUE(ValidateId(std::string(kMaxIdBytes, 'x'), "invoice_id").ok());
}

TEST(ValidateIdTest, RejectsEmptyLongAndUnprintableIdsNamingTheField) {
  const absl::Status empty = ValidateId("", "invoice_id");
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.message(), HasSubstr("invoice_id must not be empty"));

  const absl::Status too_long = ValidateId(std::string(kMaxIdBytes + 1, 'x'), "account_id");
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.message(), HasSubstr("account_id"));
  EXPECT_THAT(too_long.message(), HasSubstr("129"));

  for (std::string_view id :
       {std::string_view("a b"), std::string_view("a\tb"), std::string_view("a\nb"),
        std::string_view("\x7f"), std::string_view("caf\xc3\xa9"), std::string_view("a\0b", 3),
        std::string_view(" leading"), std::string_view("trailing ")}) {
    const absl::Status status = ValidateId(id, "tenant");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_THAT(status.message(), HasSubstr("tenant"));
  }
  // The offending byte is shown escaped, never raw.
  EXPECT_THAT(ValidateId("a\nb", "tenant").message(), HasSubstr("a\\nb"));
}

// ---- NewEventId ---------------------------------------------------------------------

TEST(NewEventIdTest, IsAVersion4UuidAndAValidId) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewEventId();
    ASSERT_TRUE(IsLowerCaseUuidV4(id)) << id;
    ASSERT_TRUE(ValidateId(id, "event_id").ok());
  }
}

TEST(NewEventIdTest, IdsAreUniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(NewEventId());
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& list : ids) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(NewEventIdTest, ForkedChildDoesNotRepeatItsParentsIds) {
  (void)NewEventId();  // the parent's generator exists before the fork
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::string out;
    for (int i = 0; i < 8; ++i) out += NewEventId() + "\n";
    const ssize_t written = write(pipe_fds[1], out.data(), out.size());
    _exit(written == static_cast<ssize_t>(out.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::set<std::string> parent_ids;
  for (int i = 0; i < 8; ++i) parent_ids.insert(NewEventId());
  std::string from_child;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;)
    from_child.append(buffer, n);
  close(pipe_fds[0]);
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
  const std::vector<std::string> child_ids = absl::StrSplit(from_child, '\n', absl::SkipEmpty());
  ASSERT_EQ(child_ids.size(), 8u);
  for (const std::string& id : child_ids) {
    EXPECT_TRUE(IsLowerCaseUuidV4(id)) << id;
    EXPECT_EQ(parent_ids.count(id), 0u) << "child repeated parent id " << id;
  }
}

// ---- DerivedEventId -----------------------------------------------------------------

// Expected values computed independently with Python:
//   uuid.uuid5(uuid.UUID(NS), f"{len(parent.encode())}:{parent}{suffix}")
TEST(DerivedEventIdTest, MatchesRfc4122Version5) {
  EXPECT_EQ(DerivedEventId("cmd-1", "/InvoiceIssued"), "d08319ab-847b-534b-92d2-dc24a1b92566");
  EXPECT_EQ(DerivedEventId("cmd-1", "/InvoiceIssued/0"), "081dc611-6d20-5036-98a4-4d666df96d57");
  EXPECT_EQ(DerivedEventId("", ""), "d08ffbce-c6de-52a9-8764-50463b86a88b");
  EXPECT_EQ(DerivedEventId(std::string(200, 'x'), "y"), "a3ae362f-6884-5c6d-bfb6-2248b51ab2f2");
  // SHA-1 padding edges: 55, 56, 64 and 65 message bytes.
  const std::string parent(36, 'p');
  EXPECT_EQ(DerivedEventId(parent, ""), "a2777398-88e8-5217-802c-8dde96bc1d2b");
  EXPECT_EQ(DerivedEventId(parent, "a"), "d05870be-a052-5520-8bd6-de402a118a51");
  EXPECT_EQ(DerivedEventId(parent, "aaaaaaaaa"), "233a45bf-a86c-5412-bcb8-e039c7f0a2f5");
  EXPECT_EQ(DerivedEventId(parent, "aaaaaaaaaa"), "0faade4f-a773-5220-bba6-c310de0b1be4");
}

TEST(DerivedEventIdTest, TheSplitBetweenParentAndSuffixMatters) {
  EXPECT_EQ(DerivedEventId("a/b", "c"), "bf45d96f-282a-5b68-b9a8-6f3171faedae");
  EXPECT_EQ(DerivedEventId("a", "b/c"), "48678d78-fa9b-53d6-a1bb-d04681760ed5");
  EXPECT_EQ(DerivedEventId("cmd-1", "/x"), DerivedEventId("cmd-1", "/x"));
  EXPECT_NE(DerivedEventId("cmd-1", "/x"), DerivedEventId("cmd-2", "/x"));
  EXPECT_TRUE(ValidateId(DerivedEventId("cmd-1", "/x"), "event_id").ok());
}

}  // namespace
}  // namespace ar::core
