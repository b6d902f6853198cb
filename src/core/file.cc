#include "aifactory/core/file.h"

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

namespace aif {

Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(fmt::format("{}: cannot open file", path));
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      return InvalidArgument(fmt::format("{}: file is larger than the limit of {} bytes", path, max_bytes));
    }
  }
  if (in.bad()) return IoError(fmt::format("{}: read error", path));
  return text;
}

Status WriteFileAtomic(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return IoError(fmt::format("{}: cannot open for writing", tmp));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return IoError(fmt::format("{}: write failed", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return IoError(fmt::format("{}: cannot rename into place", path));
  }
  return Status::Ok();
}

}  // namespace aif
