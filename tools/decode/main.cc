// ar-decode: prints the records kcat consumed from ar-suite's topics, decoded with the
// schema in proto/ar/v1/events.proto. See tools/decode/README.md.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tools/decode/decoder.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitBadRecords = 1;  // some values did not decode; the others were printed
constexpr int kExitUsage = 2;

std::string Usage() {
  return absl::StrReplaceAll(
      R"(Usage: kcat -C -b BROKERS -t TOPIC -e -q -f 'FORMAT' | ar-decode [--format=text|json] [FILE...]

Prints each record kcat consumed from ar-suite's topics, decoded with proto/ar/v1/events.proto:
every value is an ar.v1.EventBatch; on ar.deadletter an ar.v1.DeadLetter, whose rejected
value is decoded too when it is an EventBatch. Reads FILEs in turn, or standard input.

kcat must frame each record with exactly this format string (binary values contain
newlines; the lengths say where each record ends):
  -f 'FORMAT'
Do not add -Z (it prints NULL keys as the text NULL).

  --format=text  one line per event (default): topic/partition/offset, command id, event
                 id, tenant/region/subsidiary/account, event type and its fields
  --format=json  one JSON object per record (protobuf JSON of the batch)
  --help         this text

Exit status: 0 all records decoded; 1 some values were not the topic's message (each
named on stderr by topic/partition/offset; the rest were printed); 2 bad usage or input
that is not kcat's framing (named by its byte offset and record).
)",
      {{"FORMAT", ar::decode::kKcatFormat}});
}

}  // namespace

int main(int argc, char** argv) {
  ar::decode::OutputFormat format = ar::decode::OutputFormat::kText;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << Usage();
      return kExitOk;
    } else if (arg == "--format=text") {
      format = ar::decode::OutputFormat::kText;
    } else if (arg == "--format=json") {
      format = ar::decode::OutputFormat::kJson;
    } else if (arg.starts_with("-") && arg != "-") {
      std::cerr << "ar-decode: unknown argument " << arg << " (see --help)\n";
      return kExitUsage;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) files.push_back("-");

  std::ios::sync_with_stdio(false);
  int exit_code = kExitOk;
  for (const std::string& file : files) {
    std::ifstream opened;
    if (file != "-") {
      opened.open(file, std::ios::binary);
      if (!opened) {
        std::cerr << "ar-decode: cannot open " << file << "\n";
        return kExitUsage;
      }
    }
    std::istream& in = file == "-" ? std::cin : opened;
    const std::string name = file == "-" ? "standard input" : file;
    ar::decode::FrameReader reader(in);
    while (true) {
      absl::StatusOr<std::optional<ar::decode::FramedRecord>> record = reader.Next();
      if (!record.ok()) {
        std::cout.flush();
        std::cerr << "ar-decode: " << name << ": " << record.status().message() << "\n";
        return kExitUsage;
      }
      if (!*record) break;
      absl::StatusOr<std::string> printed = ar::decode::FormatRecord(**record, format);
      if (!printed.ok()) {
        std::cout.flush();
        std::cerr << "ar-decode: " << printed.status().message() << "\n";
        exit_code = kExitBadRecords;
        continue;
      }
      std::cout << *printed;
      // Line by line when following a live topic (kcat without -e).
      std::cout.flush();
    }
  }
  return exit_code;
}
