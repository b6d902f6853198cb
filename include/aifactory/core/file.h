// Bounded file reading and all-or-nothing writing.
#pragma once

#include <string>
#include <string_view>

#include "aifactory/core/status.h"

namespace aif {

// The whole file, refusing files larger than `max_bytes`.
Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes);

// Writes `content` to a temporary file beside `path` and renames it over `path`, so a reader
// never sees a half-written file.
Status WriteFileAtomic(const std::string& path, std::string_view content);

}  // namespace aif
