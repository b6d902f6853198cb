// Request traces for the serving simulator. Azure LLM inference trace 2023 (Patel et al.,
// Splitwise, ISCA 2024; ../shared/traces/azure_llm_2023, README there): a CSV with columns
// TIMESTAMP ("YYYY-MM-DD HH:MM:SS.fffffff"), ContextTokens, GeneratedTokens. Arrival times are
// seconds after the first row. A bad row (missing field, non-number, token count below 1,
// timestamp before the previous row's) fails the read with "file:line: column 'c': message".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/serve/workload.h"

namespace aif::config {

struct ServeTraceOptions {
  double time_scale = 1;       // arrival times divided by this (2: twice the request rate)
  long long max_requests = 0;  // > 0: only the first this many rows
  int task = 0;                // task class index given to every request
};

Result<std::vector<serve::Request>> ParseAzureLlmTrace(std::string_view text,
                                                       const std::string& file,
                                                       const ServeTraceOptions& options = {});
Result<std::vector<serve::Request>> ReadAzureLlmTrace(const std::string& path,
                                                      const ServeTraceOptions& options = {});

// Mooncake traces (FAST '25; ../shared/traces/mooncake, README section 2): JSON lines
// {"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [...]}, hash_ids one per
// 512-token block of the prompt (equal ids: reusable prefix KV blocks). A bad line fails with
// "file:line: key 'k': message".
Result<std::vector<serve::Request>> ParseMooncakeTrace(std::string_view text,
                                                       const std::string& file,
                                                       const ServeTraceOptions& options = {});
Result<std::vector<serve::Request>> ReadMooncakeTrace(const std::string& path,
                                                      const ServeTraceOptions& options = {});
// By the file name: *.jsonl is a Mooncake trace, anything else an Azure LLM CSV.
Result<std::vector<serve::Request>> ReadServeTrace(const std::string& path,
                                                   const ServeTraceOptions& options = {});

// Seconds since 1970-01-01 of "YYYY-MM-DD HH:MM:SS[.fraction]" (time zone ignored); an error
// says what is wrong with the text.
Result<double> ParseTraceTimestamp(std::string_view text);

}  // namespace aif::config
