#include "aifactory/config/scenario.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/yaml_reader.h"
#include "aifactory/core/file.h"

namespace aif::config {

Result<double> ParseCount(std::string_view text) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p == text.data()) return InvalidArgument(fmt::format("expected a count like '15T', got '{}'", text));
  std::string_view suffix(p, static_cast<size_t>(text.data() + text.size() - p));
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  double scale = 1;
  if (suffix.empty()) scale = 1;
  else if (suffix == "K") scale = 1e3;
  else if (suffix == "M") scale = 1e6;
  else if (suffix == "B" || suffix == "G") scale = 1e9;
  else if (suffix == "T") scale = 1e12;
  else return InvalidArgument(fmt::format("unknown count suffix '{}' in '{}', expected K, M, B or T", suffix, text));
  if (!std::isfinite(v) || v < 0) return InvalidArgument(fmt::format("expected a non-negative count, got '{}'", text));
  return v * scale;
}

Result<Scenario> ParseScenario(std::string_view text, const std::string& file, const catalog::Catalog& cat) {
  AIF_ASSIGN_OR_RETURN(YamlDocument doc, YamlDocument::Parse(text, file));
  const YAML::Node& root = doc.root();
  AIF_RETURN_IF_ERROR(doc.CheckKeys(root, "", {"name", "cluster", "model", "training", "plan"}));
  Scenario s;
  if (root["name"]) { AIF_ASSIGN_OR_RETURN(s.name, doc.String(root["name"], "name")); }

  const YAML::Node cluster = root["cluster"];
  if (!cluster) return doc.Error(root, "cluster", "missing required key");
  AIF_RETURN_IF_ERROR(doc.CheckKeys(cluster, "cluster", {"system", "gpus"}));
  AIF_ASSIGN_OR_RETURN(std::string system, doc.String(cluster["system"], "cluster.system"));
  AIF_ASSIGN_OR_RETURN(long long gpus, doc.Integer(cluster["gpus"], "cluster.gpus", 1, 100000000));
  auto c = train::MakeCluster(cat, system, static_cast<int>(gpus));
  if (!c.ok()) return doc.Error(cluster["system"], "cluster.system", c.status().message());
  s.cluster = std::move(*c);

  AIF_ASSIGN_OR_RETURN(std::string model_id, doc.String(root["model"], "model"));
  auto model = cat.FindModel(model_id);
  if (!model.ok()) return doc.Error(root["model"], "model", model.status().message());
  s.job.model = **model;

  const YAML::Node training = root["training"];
  if (!training) return doc.Error(root, "training", "missing required key");
  AIF_RETURN_IF_ERROR(doc.CheckKeys(training, "training", {"tokens", "seq_len", "global_batch", "precision", "task"}));
  if (training["tokens"]) {
    AIF_ASSIGN_OR_RETURN(std::string t, doc.String(training["tokens"], "training.tokens"));
    auto tokens = ParseCount(t);
    if (!tokens.ok()) return doc.Error(training["tokens"], "training.tokens", tokens.status().message());
    s.tokens = *tokens;
  }
  AIF_ASSIGN_OR_RETURN(long long seq, doc.Integer(training["seq_len"], "training.seq_len", 1, 1 << 24));
  AIF_ASSIGN_OR_RETURN(long long gbs, doc.Integer(training["global_batch"], "training.global_batch", 1, 1 << 30));
  s.job.seq_len = static_cast<int>(seq);
  s.job.global_batch = static_cast<int>(gbs);
  s.job.precision = s.cluster.accelerator.usual_training_precision;
  if (training["precision"]) {
    AIF_ASSIGN_OR_RETURN(std::string p, doc.String(training["precision"], "training.precision"));
    auto prec = catalog::ParsePrecision(p);
    if (!prec.ok()) return doc.Error(training["precision"], "training.precision", prec.status().message());
    s.job.precision = *prec;
  }
  if (training["task"]) {
    AIF_ASSIGN_OR_RETURN(std::string t, doc.String(training["task"], "training.task"));
    auto task = train::ParseTaskKind(t);
    if (!task.ok()) return doc.Error(training["task"], "training.task", task.status().message());
    s.job.task = *task;
  }

  if (const YAML::Node plan = root["plan"]) {
    AIF_RETURN_IF_ERROR(doc.CheckKeys(plan, "plan", {"tp", "pp", "vp", "cp", "ep", "dp", "micro_batch", "zero_stage", "recompute"}));
    train::ParallelPlan p;
    for (auto [key, field] : {std::pair{"tp", &p.tp}, {"pp", &p.pp}, {"vp", &p.vp}, {"cp", &p.cp}, {"ep", &p.ep},
                              {"dp", &p.dp}, {"micro_batch", &p.micro_batch}}) {
      if (!plan[key]) continue;
      AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(plan[key], JoinPath("plan", key), 1, 1 << 24));
      *field = static_cast<int>(v);
    }
    if (!plan["dp"]) p.dp = static_cast<int>(std::max(1LL, s.cluster.gpus / (1LL * p.tp * p.pp * p.cp)));
    if (plan["zero_stage"]) {
      AIF_ASSIGN_OR_RETURN(long long z, doc.Integer(plan["zero_stage"], "plan.zero_stage", 0, 3));
      p.zero_stage = static_cast<int>(z);
    }
    if (plan["recompute"]) {
      AIF_ASSIGN_OR_RETURN(std::string r, doc.String(plan["recompute"], "plan.recompute"));
      auto rm = train::ParseRecompute(r);
      if (!rm.ok()) return doc.Error(plan["recompute"], "plan.recompute", rm.status().message());
      p.recompute = *rm;
    }
    Status valid = train::ValidatePlan(s.job, s.cluster, p);
    if (!valid.ok()) return doc.Error(plan, "plan", valid.message());
    s.plan = p;
  }
  return s;
}

Result<Scenario> LoadScenarioFile(const std::string& path, const catalog::Catalog& cat) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, YamlLimits().max_bytes));
  return ParseScenario(text, path, cat);
}

Result<Scenario> LoadDefaultScenario(const catalog::Catalog& cat) {
  AIF_ASSIGN_OR_RETURN(std::string_view text, BuiltinFile("data/scenarios/default.yaml"));
  return ParseScenario(text, "data/scenarios/default.yaml (built in)", cat);
}

}  // namespace aif::config
