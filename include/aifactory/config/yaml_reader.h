// Reading untrusted YAML: size, nesting and alias limits, unknown-key errors with "did you mean",
// and every error as `file:line:col: key.path: message`.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "aifactory/core/status.h"
#include "aifactory/core/units.h"

namespace aif::config {

struct YamlLimits {
  size_t max_bytes = 16 << 20;  // 16 MiB
  int max_depth = 32;
  bool allow_aliases = false;
};

// A parsed document and the name of the file it came from, for error messages.
class YamlDocument {
 public:
  // Parses `text`; rejects oversized input, deep nesting and aliases before building nodes.
  static Result<YamlDocument> Parse(std::string_view text, std::string file, const YamlLimits& limits = {});
  static Result<YamlDocument> Load(const std::string& path, const YamlLimits& limits = {});

  const YAML::Node& root() const { return root_; }
  const std::string& file() const { return file_; }

  // `file:line:col: path: message` at the node's position.
  Status Error(const YAML::Node& node, std::string_view path, std::string_view message) const;

  // Fails on any key of `map` not in `allowed`, suggesting the nearest allowed key.
  Status CheckKeys(const YAML::Node& map, std::string_view path, const std::vector<std::string>& allowed) const;
  Status ExpectMap(const YAML::Node& node, std::string_view path) const;
  Status ExpectSequence(const YAML::Node& node, std::string_view path) const;

  // The same readers for `parent[key]`: a missing key is reported at the parent's line and column.
  Result<std::string> String(const YAML::Node& parent, const char* key, std::string_view path) const;
  Result<double> Number(const YAML::Node& parent, const char* key, std::string_view path) const;
  Result<long long> Integer(const YAML::Node& parent, const char* key, std::string_view path, long long min,
                            long long max) const;
  Result<bool> Bool(const YAML::Node& parent, const char* key, std::string_view path) const;
  Result<double> Quantity(const YAML::Node& parent, const char* key, std::string_view path,
                          Dimension dimension) const;
  Result<double> NumberWithUnit(const YAML::Node& parent, const char* key, std::string_view path,
                                std::string_view unit) const;

  Result<std::string> String(const YAML::Node& node, std::string_view path) const;
  Result<double> Number(const YAML::Node& node, std::string_view path) const;
  Result<long long> Integer(const YAML::Node& node, std::string_view path, long long min, long long max) const;
  Result<bool> Bool(const YAML::Node& node, std::string_view path) const;
  Result<double> Quantity(const YAML::Node& node, std::string_view path, Dimension dimension) const;
  // A number followed by exactly `unit` ("0.08 USD/kWh" with unit "USD/kWh").
  Result<double> NumberWithUnit(const YAML::Node& node, std::string_view path, std::string_view unit) const;

  // Reads `entry.sources` (key -> citation) and checks that every key in `present` has one.
  Status ReadSources(const YAML::Node& entry, const std::string& path, const std::vector<std::string>& present,
                     std::map<std::string, std::string>* out) const;

 private:
  YAML::Node root_;
  std::string file_;
};

// "a.b" + "c" = "a.b.c"; "a" + index 3 = "a[3]".
std::string JoinPath(std::string_view base, std::string_view key);
std::string JoinPath(std::string_view base, size_t index);

}  // namespace aif::config
