#include "aifactory/config/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include "aifactory/core/file.h"
#include "aifactory/core/strings.h"

namespace aif::config {
namespace {

// Walks the event stream before any node is built, so that a hostile file (deep nesting, alias
// bombs) is refused cheaply.
class LimitChecker : public YAML::EventHandler {
 public:
  explicit LimitChecker(const YamlLimits& limits) : limits_(limits) {}
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (!limits_.allow_aliases && error_.empty()) {
      error_ = "YAML aliases are not allowed in input files";
      mark_ = mark;
    }
  }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Push(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Push(mark);
  }
  void OnMapEnd() override { --depth_; }

  const std::string& error() const { return error_; }
  const YAML::Mark& mark() const { return mark_; }

 private:
  void Push(const YAML::Mark& mark) {
    if (++depth_ > limits_.max_depth && error_.empty()) {
      error_ = fmt::format("nesting deeper than {} levels", limits_.max_depth);
      mark_ = mark;
    }
  }
  YamlLimits limits_;
  int depth_ = 0;
  std::string error_;
  YAML::Mark mark_;
};

std::string Location(const std::string& file, const YAML::Mark& mark) {
  if (mark.line < 0) return file;
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

// The position of the key whose value is `value`, searching at most `*budget` entries under
// `node`. yaml-cpp places an empty value (`key:` and nothing after it) at the next token, often
// on a later line, so such a value is reported at its key instead.
bool FindKeyOf(const YAML::Node& node, const YAML::Node& value, int* budget, YAML::Mark* mark) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (--*budget < 0) return false;
      if (kv.second.is(value)) {
        *mark = kv.first.Mark();
        return true;
      }
      if (FindKeyOf(kv.second, value, budget, mark)) return true;
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (--*budget < 0) return false;
      if (FindKeyOf(item, value, budget, mark)) return true;
    }
  }
  return false;
}

}  // namespace

std::string JoinPath(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return fmt::format("{}.{}", base, key);
}

std::string JoinPath(std::string_view base, size_t index) { return fmt::format("{}[{}]", base, index); }

Result<YamlDocument> YamlDocument::Parse(std::string_view text, std::string file, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidArgument(fmt::format("{}: file is {} bytes, more than the limit of {}", file, text.size(), limits.max_bytes));
  }
  std::string buffer(text);
  try {
    {
      std::istringstream in(buffer);
      YAML::Parser parser(in);
      LimitChecker checker(limits);
      while (parser.HandleNextDocument(checker)) {
        if (!checker.error().empty()) break;
      }
      if (!checker.error().empty()) {
        return InvalidArgument(fmt::format("{}: {}", Location(file, checker.mark()), checker.error()));
      }
    }
    YamlDocument doc;
    doc.root_ = YAML::Load(buffer);
    doc.file_ = std::move(file);
    return doc;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}: YAML syntax error: {}", Location(file, e.mark), e.msg));
  }
}

Result<YamlDocument> YamlDocument::Load(const std::string& path, const YamlLimits& limits) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, limits.max_bytes));
  return Parse(text, path, limits);
}

Status YamlDocument::Error(const YAML::Node& node, std::string_view path, std::string_view message) const {
  // A key that is absent has no position (callers pass its parent instead); the path still
  // names it.
  std::string where = file_;
  if (node.IsDefined()) {
    YAML::Mark mark = node.Mark();
    if (node.IsNull()) {
      int budget = 1 << 20;
      FindKeyOf(root_, node, &budget, &mark);
    }
    if (mark.is_null()) mark = YAML::Mark();  // an empty document: its start
    where = Location(file_, mark);
  }
  // The document itself has no key path.
  if (path.empty()) return InvalidArgument(fmt::format("{}: {}", where, message));
  return InvalidArgument(fmt::format("{}: {}: {}", where, path, message));
}

Status YamlDocument::ExpectMap(const YAML::Node& node, std::string_view path) const {
  if (!node.IsMap()) return Error(node, path, "expected a mapping of keys to values");
  return Status::Ok();
}

Status YamlDocument::ExpectSequence(const YAML::Node& node, std::string_view path) const {
  if (!node.IsSequence()) return Error(node, path, "expected a list");
  return Status::Ok();
}

Status YamlDocument::CheckKeys(const YAML::Node& map, std::string_view path,
                               const std::vector<std::string>& allowed) const {
  AIF_RETURN_IF_ERROR(ExpectMap(map, path));
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) return Error(kv.first, path, "keys must be plain strings");
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (const auto& a : allowed) known = known || a == key;
    if (!known) {
      return Error(kv.first, JoinPath(path, key), "unknown key" + DidYouMean(key, allowed));
    }
  }
  return Status::Ok();
}

Result<std::string> YamlDocument::String(const YAML::Node& node, std::string_view path) const {
  if (!node.IsDefined()) return Error(node, path, "missing required key");
  if (!node.IsScalar()) return Error(node, path, "expected a string");
  return node.Scalar();
}

Result<double> YamlDocument::Number(const YAML::Node& node, std::string_view path) const {
  if (!node.IsDefined()) return Error(node, path, "missing required key");
  if (!node.IsScalar()) return Error(node, path, "expected a number");
  const std::string& s = node.Scalar();
  double v = 0;
  if (!YAML::convert<double>::decode(node, v) || !std::isfinite(v)) {
    return Error(node, path, fmt::format("expected a number, got '{}'", s));
  }
  return v;
}

Result<long long> YamlDocument::Integer(const YAML::Node& node, std::string_view path, long long min, long long max) const {
  if (!node.IsDefined()) return Error(node, path, "missing required key");
  if (!node.IsScalar()) return Error(node, path, "expected an integer");
  long long v = 0;
  if (!YAML::convert<long long>::decode(node, v)) {
    return Error(node, path, fmt::format("expected an integer, got '{}'", node.Scalar()));
  }
  if (v < min || v > max) {
    return Error(node, path, fmt::format("{} is out of range [{}, {}]", v, min, max));
  }
  return v;
}

Result<bool> YamlDocument::Bool(const YAML::Node& node, std::string_view path) const {
  if (!node.IsDefined()) return Error(node, path, "missing required key");
  bool v = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) {
    return Error(node, path, "expected true or false");
  }
  return v;
}

Result<double> YamlDocument::Quantity(const YAML::Node& node, std::string_view path, Dimension dimension) const {
  if (!node.IsDefined()) return Error(node, path, "missing required key");
  if (!node.IsScalar()) return Error(node, path, fmt::format("expected a quantity like '{}'", DimensionExample(dimension)));
  auto v = ParseQuantity(node.Scalar(), dimension);
  if (!v.ok()) return Error(node, path, v.status().message());
  if (*v < 0) return Error(node, path, "must not be negative");
  return *v;
}

Result<double> YamlDocument::NumberWithUnit(const YAML::Node& node, std::string_view path,
                                            std::string_view unit) const {
  if (!node.IsDefined()) return Error(node, path, "missing required key");
  std::string example = fmt::format("expected a number with its unit, like '1.5 {}'", unit);
  if (!node.IsScalar()) return Error(node, path, example);
  const std::string& text = node.Scalar();
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  std::string_view rest(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (ec != std::errc() || ptr == text.data() || rest != unit || !std::isfinite(v)) {
    return Error(node, path, fmt::format("{}, got '{}'", example, text));
  }
  if (v < 0) return Error(node, path, "must not be negative");
  return v;
}

Status YamlDocument::ReadSources(const YAML::Node& entry, const std::string& path,
                                 const std::vector<std::string>& present,
                                 std::map<std::string, std::string>* out) const {
  const YAML::Node node = entry["sources"];
  if (!node) {
    if (present.empty()) return Status::Ok();
    return Error(entry, path, "missing 'sources': every value needs a source");
  }
  AIF_RETURN_IF_ERROR(ExpectMap(node, JoinPath(path, "sources")));
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      return Error(kv.first, JoinPath(path, "sources"), "keys must be plain strings");
    }
    AIF_ASSIGN_OR_RETURN(std::string text, String(kv.second, JoinPath(JoinPath(path, "sources"), kv.first.Scalar())));
    (*out)[kv.first.Scalar()] = text;
  }
  for (const auto& key : present) {
    if (!out->count(key)) return Error(node, JoinPath(path, "sources"), fmt::format("no source for '{}'", key));
  }
  return Status::Ok();
}

// `parent[key]`, or an error at the parent's position naming the missing key.
#define AIF_CHILD_OR_ERROR(parent, key, path)                                   \
  const YAML::Node child = (parent)[key];                                        \
  if (!child.IsDefined()) return Error(parent, path, "missing required key");

Result<std::string> YamlDocument::String(const YAML::Node& parent, const char* key, std::string_view path) const {
  AIF_CHILD_OR_ERROR(parent, key, path);
  return String(child, path);
}
Result<double> YamlDocument::Number(const YAML::Node& parent, const char* key, std::string_view path) const {
  AIF_CHILD_OR_ERROR(parent, key, path);
  return Number(child, path);
}
Result<long long> YamlDocument::Integer(const YAML::Node& parent, const char* key, std::string_view path, long long min,
                                        long long max) const {
  AIF_CHILD_OR_ERROR(parent, key, path);
  return Integer(child, path, min, max);
}
Result<bool> YamlDocument::Bool(const YAML::Node& parent, const char* key, std::string_view path) const {
  AIF_CHILD_OR_ERROR(parent, key, path);
  return Bool(child, path);
}
Result<double> YamlDocument::Quantity(const YAML::Node& parent, const char* key, std::string_view path,
                                      Dimension dimension) const {
  AIF_CHILD_OR_ERROR(parent, key, path);
  return Quantity(child, path, dimension);
}
Result<double> YamlDocument::NumberWithUnit(const YAML::Node& parent, const char* key, std::string_view path,
                                            std::string_view unit) const {
  AIF_CHILD_OR_ERROR(parent, key, path);
  return NumberWithUnit(child, path, unit);
}
#undef AIF_CHILD_OR_ERROR

}  // namespace aif::config
