#include "aifactory/config/scenario.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/yaml_reader.h"
#include "aifactory/core/file.h"
#include "aifactory/train/flops.h"

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

namespace {

// A list of distinct integers in [min, max], at most 64 of them, in the order given.
Result<std::vector<int>> IntegerList(const YamlDocument& doc, const YAML::Node& parent, const char* key,
                                     const std::string& path, long long min, long long max) {
  const YAML::Node list = parent[key];
  AIF_RETURN_IF_ERROR(doc.ExpectSequence(list, path));
  if (list.size() == 0) return doc.Error(list, path, "expected at least one value");
  if (list.size() > 64) return doc.Error(list, path, "at most 64 values");
  std::vector<int> out;
  for (size_t i = 0; i < list.size(); ++i) {
    AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(list[i], JoinPath(path, i), min, max));
    if (std::find(out.begin(), out.end(), static_cast<int>(v)) != out.end()) {
      return doc.Error(list[i], JoinPath(path, i), fmt::format("{} is listed twice", v));
    }
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// A setting named by a string that `parse` turns into its value (train::ParseTaskKind and the like);
// the parser's message, at the key's line and column, where it refuses the name.
template <typename Parse>
auto NamedSetting(const YamlDocument& doc, const YAML::Node& parent, const char* key, const std::string& path,
                  Parse parse) -> decltype(parse(std::string_view())) {
  AIF_ASSIGN_OR_RETURN(std::string name, doc.String(parent, key, path));
  auto value = parse(name);
  if (!value.ok()) return doc.Error(parent[key], path, value.status().message());
  return value;
}

// A list of CUDA graph modules, e.g. [attn, moe_router, moe_preprocess] (train::ParseCudaGraphModules).
Result<unsigned> GraphModules(const YamlDocument& doc, const YAML::Node& parent, const char* key,
                              const std::string& path, const train::TrainingJob& job) {
  const catalog::Model& model = job.model;
  const YAML::Node list = parent[key];
  AIF_RETURN_IF_ERROR(doc.ExpectSequence(list, path));
  if (list.size() > 8) {
    return doc.Error(list, path, "at most the five modules attn, mlp, moe, moe_router, moe_preprocess");
  }
  unsigned modules = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = JoinPath(path, i);
    AIF_ASSIGN_OR_RETURN(std::string name, doc.String(list[i], item));
    auto m = train::ParseCudaGraphModules(name);
    if (!m.ok()) return doc.Error(list[i], item, m.status().message());
    if ((*m & (train::kGraphMoeRouter | train::kGraphMoePreprocess | train::kGraphMoe)) != 0 && !model.is_moe()) {
      return doc.Error(list[i], item, "the model has no experts");
    }
    if ((*m & train::kGraphMoe) != 0 && !job.DropsTokens()) {
      return doc.Error(list[i], item,
                       "moe (a MoE layer's whole MLP) needs token dropping and padding: set "
                       "training.moe_capacity_factor, or capture moe_router and moe_preprocess");
    }
    modules |= *m;
  }
  // The rules between modules (moe_preprocess with moe_router, moe alone), at the list.
  if (Status st = train::CheckCudaGraphModules(job, modules); !st.ok()) return doc.Error(list, path, st.message());
  return modules;
}

// `search:` narrows the plan search to what the user's framework and cluster will run.
Result<train::SearchOptions> ParseSearchOptions(const YamlDocument& doc, const YAML::Node& search,
                                                const train::TrainingJob& job) {
  const catalog::Model& model = job.model;
  AIF_RETURN_IF_ERROR(doc.ExpectMap(search, "search"));
  AIF_RETURN_IF_ERROR(doc.CheckKeys(search, "search", {"micro_batches", "virtual_stages", "context_parallel",
                                                       "zero_stages", "recompute", "offload", "max_tp", "max_pp",
                                                       "max_ep", "ep_overlap", "cuda_graphs", "cuda_graph_modules"}));
  train::SearchOptions o;
  if (search["micro_batches"]) {
    AIF_ASSIGN_OR_RETURN(o.micro_batches, IntegerList(doc, search, "micro_batches", "search.micro_batches", 1, 1 << 16));
  }
  if (search["virtual_stages"]) {
    AIF_ASSIGN_OR_RETURN(o.virtual_stages, IntegerList(doc, search, "virtual_stages", "search.virtual_stages", 1, 1 << 10));
  }
  if (search["context_parallel"]) {
    AIF_ASSIGN_OR_RETURN(o.context_parallel,
                         IntegerList(doc, search, "context_parallel", "search.context_parallel", 1, 1 << 16));
  }
  if (search["zero_stages"]) {
    AIF_ASSIGN_OR_RETURN(o.zero_stages, IntegerList(doc, search, "zero_stages", "search.zero_stages", 0, 3));
  }
  if (search["recompute"]) {
    const YAML::Node list = search["recompute"];
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(list, "search.recompute"));
    if (list.size() == 0) return doc.Error(list, "search.recompute", "expected at least one of none, selective, full");
    if (list.size() > 3) return doc.Error(list, "search.recompute", "at most the three modes none, selective, full");
    std::vector<train::Recompute> modes;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string path = JoinPath("search.recompute", i);
      AIF_ASSIGN_OR_RETURN(std::string name, doc.String(list[i], path));
      auto r = train::ParseRecompute(name);
      if (!r.ok()) return doc.Error(list[i], path, r.status().message());
      if (std::find(modes.begin(), modes.end(), *r) != modes.end()) {
        return doc.Error(list[i], path, "'" + name + "' is listed twice");
      }
      modes.push_back(*r);
    }
    // Tried lightest first, whatever the order written.
    std::sort(modes.begin(), modes.end());
    o.recompute = modes;
  }
  // Framework settings the plans take where they allow them (train::SearchOptions).
  for (auto [key, field] : {std::pair{"offload", &o.offload}, {"ep_overlap", &o.ep_overlap},
                            {"cuda_graphs", &o.cuda_graphs}}) {
    if (!search[key]) continue;
    AIF_ASSIGN_OR_RETURN(*field, doc.Bool(search, key, JoinPath("search", key)));
  }
  if (o.ep_overlap && !model.is_moe()) {
    return doc.Error(search["ep_overlap"], "search.ep_overlap", "the model has no experts");
  }
  if (search["cuda_graph_modules"]) {
    AIF_ASSIGN_OR_RETURN(o.cuda_graph_modules,
                         GraphModules(doc, search, "cuda_graph_modules", "search.cuda_graph_modules", job));
    if (o.cuda_graphs && o.cuda_graph_modules != 0) {
      return doc.Error(search["cuda_graph_modules"], "search.cuda_graph_modules",
                       "cuda_graphs (the whole iteration) and cuda_graph_modules do not combine");
    }
  }
  for (auto [key, field] : {std::pair{"max_tp", &o.max_tp}, {"max_pp", &o.max_pp}, {"max_ep", &o.max_ep}}) {
    if (!search[key]) continue;
    AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(search, key, JoinPath("search", key), 1, 1 << 24));
    *field = static_cast<int>(v);
  }
  if (search["max_ep"] && !model.is_moe()) {
    return doc.Error(search["max_ep"], "search.max_ep", "the model has no experts");
  }
  return o;
}

}  // namespace

Result<Scenario> ParseScenario(std::string_view text, const std::string& file, const catalog::Catalog& cat) {
  AIF_ASSIGN_OR_RETURN(YamlDocument doc, YamlDocument::Parse(text, file));
  const YAML::Node& root = doc.root();
  AIF_RETURN_IF_ERROR(doc.CheckKeys(root, "", {"name", "description", "cluster", "model", "training", "plan", "search",
                                              "reliability", "costs", "scaling", "find_min_gpus", "rank_by"}));
  Scenario s;
  if (root["name"]) { AIF_ASSIGN_OR_RETURN(s.name, doc.String(root, "name", "name")); }
  if (root["description"]) { AIF_RETURN_IF_ERROR(doc.String(root, "description", "description").status()); }

  const YAML::Node cluster = root["cluster"];
  if (!cluster) return doc.Error(root, "cluster", "missing required key");
  AIF_RETURN_IF_ERROR(doc.CheckKeys(cluster, "cluster", {"system", "gpus", "oversubscription", "routing", "sites", "wan",
                                                    "memory_reserve"}));
  AIF_ASSIGN_OR_RETURN(std::string system, doc.String(cluster, "system", "cluster.system"));
  AIF_ASSIGN_OR_RETURN(long long gpus, doc.Integer(cluster, "gpus", "cluster.gpus", 1, 100000000));
  auto c = train::MakeCluster(cat, system, static_cast<int>(gpus));
  if (!c.ok()) return doc.Error(cluster["system"], "cluster.system", c.status().message());
  s.cluster = std::move(*c);
  if (cluster["oversubscription"]) {
    AIF_ASSIGN_OR_RETURN(s.cluster.scale_out_oversubscription,
                         doc.Number(cluster, "oversubscription", "cluster.oversubscription"));
    if (s.cluster.scale_out_oversubscription < 1 || s.cluster.scale_out_oversubscription > 64) {
      return doc.Error(cluster["oversubscription"], "cluster.oversubscription",
                       "expected a ratio between 1 (non-blocking) and 64");
    }
  }
  if (cluster["routing"]) {
    AIF_ASSIGN_OR_RETURN(std::string routing, doc.String(cluster, "routing", "cluster.routing"));
    if (routing != "adaptive" && routing != "ecmp") {
      return doc.Error(cluster["routing"], "cluster.routing",
                       "expected 'adaptive' (by load, InfiniBand's default) or 'ecmp' (static hashing), got '" +
                           routing + "'");
    }
    s.cluster.adaptive_routing = routing == "adaptive";
  }
  if (cluster["sites"]) {
    AIF_ASSIGN_OR_RETURN(long long sites, doc.Integer(cluster, "sites", "cluster.sites", 1, 1000));
    s.cluster.sites = static_cast<int>(sites);
    Status split = train::CheckSiteSplit(s.cluster);
    if (!split.ok()) return doc.Error(cluster["sites"], "cluster.sites", split.message());
  }
  if (const YAML::Node wan = cluster["wan"]) {
    AIF_RETURN_IF_ERROR(doc.CheckKeys(wan, "cluster.wan", {"bandwidth", "latency"}));
    AIF_ASSIGN_OR_RETURN(double bw, doc.Quantity(wan, "bandwidth", "cluster.wan.bandwidth", Dimension::kBytesPerSecond));
    AIF_ASSIGN_OR_RETURN(double lat, doc.Quantity(wan, "latency", "cluster.wan.latency", Dimension::kSeconds));
    if (bw <= 0) return doc.Error(wan["bandwidth"], "cluster.wan.bandwidth", "must be positive");
    if (lat < 0 || lat > 1) return doc.Error(wan["latency"], "cluster.wan.latency", "expected 0 to 1 s one way");
    s.cluster.wan_bandwidth = BytesPerSecond(bw);
    s.cluster.wan_latency = Seconds(lat);
  }
  if (cluster["memory_reserve"]) {
    AIF_ASSIGN_OR_RETURN(double r, doc.Quantity(cluster, "memory_reserve", "cluster.memory_reserve", Dimension::kBytes));
    if (r < 0 || r >= s.cluster.accelerator.hbm_capacity.value()) {
      return doc.Error(cluster["memory_reserve"], "cluster.memory_reserve",
                       fmt::format("expected 0 up to less than the accelerator's {:.0f} GB of HBM",
                                   s.cluster.accelerator.hbm_capacity.value() / 1e9));
    }
    s.cluster.memory_reserve = Bytes(r);
  }
  if (s.cluster.sites > 1 && s.cluster.wan_bandwidth.value() <= 0) {
    return doc.Error(cluster["sites"], "cluster.sites", "a cluster over several sites needs cluster.wan (bandwidth, latency)");
  }

  // A catalog id, or a whole shape inline (the catalog's model schema, with sources).
  // (A missing key is a zombie node in yaml-cpp: IsMap() on it throws, so test it first.)
  if (root["model"] && root["model"].IsMap()) {
    AIF_ASSIGN_OR_RETURN(s.job.model, ParseModel(doc, root["model"], "model"));
  } else {
    AIF_ASSIGN_OR_RETURN(std::string model_id, doc.String(root, "model", "model"));
    auto model = cat.FindModel(model_id);
    if (!model.ok()) return doc.Error(root["model"], "model", model.status().message());
    s.job.model = **model;
  }

  const YAML::Node training = root["training"];
  if (!training) return doc.Error(root, "training", "missing required key");
  AIF_RETURN_IF_ERROR(doc.CheckKeys(training, "training", {"tokens", "seq_len", "global_batch", "precision",
                                                          "low_precision_weights", "task", "moe_dispatcher",
                                                          "fp8_scaling", "moe_capacity_factor", "nccl_max_ctas"}));
  if (training["tokens"]) {
    AIF_ASSIGN_OR_RETURN(std::string t, doc.String(training, "tokens", "training.tokens"));
    auto tokens = ParseCount(t);
    if (!tokens.ok()) return doc.Error(training["tokens"], "training.tokens", tokens.status().message());
    s.tokens = *tokens;
  }
  AIF_ASSIGN_OR_RETURN(long long seq, doc.Integer(training, "seq_len", "training.seq_len", 1, 1 << 24));
  AIF_ASSIGN_OR_RETURN(long long gbs, doc.Integer(training, "global_batch", "training.global_batch", 1, 1 << 30));
  s.job.seq_len = static_cast<int>(seq);
  s.job.global_batch = static_cast<int>(gbs);
  s.job.precision = s.cluster.accelerator.usual_training_precision;
  if (training["precision"]) {
    AIF_ASSIGN_OR_RETURN(s.job.precision, ReadPrecision(doc, training["precision"], "training.precision"));
  }
  if (training["low_precision_weights"]) {
    AIF_ASSIGN_OR_RETURN(s.job.low_precision_weights,
                         doc.Bool(training, "low_precision_weights", "training.low_precision_weights"));
  }
  if (training["moe_dispatcher"]) {
    AIF_ASSIGN_OR_RETURN(s.job.moe_dispatcher, NamedSetting(doc, training, "moe_dispatcher", "training.moe_dispatcher",
                                                            train::ParseMoeDispatcher));
  }
  if (training["moe_capacity_factor"]) {
    AIF_ASSIGN_OR_RETURN(s.job.moe_capacity_factor,
                         doc.Number(training, "moe_capacity_factor", "training.moe_capacity_factor"));
    if (Status cf = train::CheckMoeCapacityFactor(s.job); !cf.ok()) {
      return doc.Error(training["moe_capacity_factor"], "training.moe_capacity_factor", cf.message());
    }
  }
  if (training["fp8_scaling"]) {
    AIF_ASSIGN_OR_RETURN(s.job.fp8_scaling,
                         NamedSetting(doc, training, "fp8_scaling", "training.fp8_scaling", train::ParseFp8Scaling));
  }
  if (training["task"]) {
    AIF_ASSIGN_OR_RETURN(s.job.task, NamedSetting(doc, training, "task", "training.task", train::ParseTaskKind));
  }
  if (const YAML::Node caps = training["nccl_max_ctas"]) {
    // NCCL CTAs per communicator, e.g. {cp: 1, dp: 8, pp: 2} (train::NcclCtaCaps).
    const std::string path = "training.nccl_max_ctas";
    AIF_RETURN_IF_ERROR(doc.ExpectMap(caps, path));
    AIF_RETURN_IF_ERROR(doc.CheckKeys(caps, path, {"tp", "cp", "dp", "pp"}));
    train::NcclCtaCaps& c = s.job.nccl_max_ctas;
    for (auto [field, key] : train::kNcclCtaCapFields) {
      if (!caps[key]) continue;
      AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(caps, key, JoinPath(path, key), 1, train::NcclCtaCaps::kMax));
      c.*field = static_cast<int>(v);
    }
    if (Status ok = train::CheckNcclCtaCaps(c, s.cluster.accelerator); !ok.ok()) {
      return doc.Error(caps, path, ok.message());
    }
  }

  if (const YAML::Node rel = root["reliability"]) {
    const std::string p = "reliability";
    AIF_RETURN_IF_ERROR(doc.CheckKeys(rel, p, {"interruptions_per_gpu_hour", "components", "restart",
                                               "checkpoint_write_bandwidth", "sources"}));
    std::vector<std::string> present;
    // `parent.interruptions_per_gpu_hour`; when it is missing, the error points at `parent`.
    auto rate = [&](const YAML::Node& parent, const std::string& path) -> Result<double> {
      AIF_ASSIGN_OR_RETURN(double v, doc.Number(parent, "interruptions_per_gpu_hour", path));
      if (v < 0 || v > 1) {
        return doc.Error(parent["interruptions_per_gpu_hour"], path,
                         "expected a rate in [0, 1] per GPU-hour");
      }
      return v;
    };
    // Either one total rate, or one rate per component (each with its own source) that add up.
    if (rel["components"] && rel["interruptions_per_gpu_hour"]) {
      return doc.Error(rel["components"], JoinPath(p, "components"),
                       "give either interruptions_per_gpu_hour or components, not both");
    }
    if (const YAML::Node comps = rel["components"]) {
      const std::string cp = JoinPath(p, "components");
      AIF_RETURN_IF_ERROR(doc.ExpectSequence(comps, cp));
      if (comps.size() > 256) return doc.Error(comps, cp, "at most 256 components");
      for (size_t i = 0; i < comps.size(); ++i) {
        const std::string ip = JoinPath(cp, i);
        AIF_RETURN_IF_ERROR(doc.CheckKeys(comps[i], ip, {"name", "interruptions_per_gpu_hour", "source"}));
        AIF_ASSIGN_OR_RETURN(std::string name, doc.String(comps[i], "name", JoinPath(ip, "name")));
        AIF_ASSIGN_OR_RETURN(double r, rate(comps[i], JoinPath(ip, "interruptions_per_gpu_hour")));
        AIF_ASSIGN_OR_RETURN(std::string source, doc.String(comps[i], "source", JoinPath(ip, "source")));
        s.failure_components.emplace_back(name, r);
        s.reliability.interruptions_per_gpu_hour += r;
        s.sources[JoinPath(ip, "interruptions_per_gpu_hour")] = source;
      }
    } else {
      AIF_ASSIGN_OR_RETURN(s.reliability.interruptions_per_gpu_hour,
                           rate(rel, JoinPath(p, "interruptions_per_gpu_hour")));
      present.push_back("interruptions_per_gpu_hour");
    }
    AIF_ASSIGN_OR_RETURN(double restart, doc.Quantity(rel, "restart", JoinPath(p, "restart"), Dimension::kSeconds));
    s.reliability.restart = Seconds(restart);
    present.push_back("restart");
    AIF_ASSIGN_OR_RETURN(double bw, doc.Quantity(rel, "checkpoint_write_bandwidth", JoinPath(p, "checkpoint_write_bandwidth"),
                                                 Dimension::kBytesPerSecond));
    if (bw <= 0) return doc.Error(rel["checkpoint_write_bandwidth"], JoinPath(p, "checkpoint_write_bandwidth"), "must be positive");
    s.reliability.checkpoint_write = Seconds(CheckpointBytes(s.job.model) / bw);
    present.push_back("checkpoint_write_bandwidth");
    std::map<std::string, std::string> src;
    AIF_RETURN_IF_ERROR(doc.ReadSources(rel, p, present, &src));
    for (auto& [k, v] : src) s.sources[JoinPath(p, k)] = v;
  }

  if (const YAML::Node costs = root["costs"]) {
    const std::string p = "costs";
    AIF_RETURN_IF_ERROR(doc.CheckKeys(costs, p, {"gpu_capex", "rack_capex", "amortization", "electricity", "pue",
                                                 "rack_overhead", "grid_co2", "sources"}));
    std::vector<std::string> present;
    auto& c = s.costs;
    if (costs["gpu_capex"]) {
      AIF_ASSIGN_OR_RETURN(c.gpu_capex_usd, doc.Quantity(costs, "gpu_capex", JoinPath(p, "gpu_capex"), Dimension::kDollars));
      present.push_back("gpu_capex");
    }
    if (costs["rack_capex"]) {
      AIF_ASSIGN_OR_RETURN(c.rack_capex_usd, doc.Quantity(costs, "rack_capex", JoinPath(p, "rack_capex"), Dimension::kDollars));
      present.push_back("rack_capex");
    }
    if (costs["amortization"]) {
      AIF_ASSIGN_OR_RETURN(double sec, doc.Quantity(costs, "amortization", JoinPath(p, "amortization"), Dimension::kSeconds));
      c.amortization_years = sec / (365.0 * 86400.0);
      present.push_back("amortization");
    }
    if (costs["electricity"]) {
      AIF_ASSIGN_OR_RETURN(c.electricity_usd_per_kwh, doc.NumberWithUnit(costs, "electricity", JoinPath(p, "electricity"), "USD/kWh"));
      present.push_back("electricity");
    }
    if (costs["pue"]) {
      AIF_ASSIGN_OR_RETURN(c.pue, doc.Number(costs, "pue", JoinPath(p, "pue")));
      if (c.pue < 1 || c.pue > 5) return doc.Error(costs["pue"], JoinPath(p, "pue"), "expected a PUE between 1 and 5");
      present.push_back("pue");
    }
    if (costs["rack_overhead"]) {
      AIF_ASSIGN_OR_RETURN(c.rack_overhead_w, doc.Quantity(costs, "rack_overhead", JoinPath(p, "rack_overhead"), Dimension::kWatts));
      present.push_back("rack_overhead");
    }
    if (costs["grid_co2"]) {
      AIF_ASSIGN_OR_RETURN(c.grid_kg_co2_per_kwh, doc.NumberWithUnit(costs, "grid_co2", JoinPath(p, "grid_co2"), "kg/kWh"));
      present.push_back("grid_co2");
    }
    std::map<std::string, std::string> src;
    AIF_RETURN_IF_ERROR(doc.ReadSources(costs, p, present, &src));
    for (auto& [k, v] : src) s.sources[JoinPath(p, k)] = v;
  }

  if (const YAML::Node scaling = root["scaling"]) {
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(scaling, "scaling"));
    if (scaling.size() > 64) return doc.Error(scaling, "scaling", "at most 64 GPU counts");
    for (size_t i = 0; i < scaling.size(); ++i) {
      AIF_ASSIGN_OR_RETURN(long long g, doc.Integer(scaling[i], JoinPath("scaling", i), 1, 100000000));
      s.scaling_gpus.push_back(static_cast<int>(g));
    }
  }

  if (root["find_min_gpus"]) {
    AIF_ASSIGN_OR_RETURN(s.find_min_gpus, doc.Bool(root, "find_min_gpus", "find_min_gpus"));
  }

  if (root["rank_by"]) {
    AIF_ASSIGN_OR_RETURN(std::string r, doc.String(root, "rank_by", "rank_by"));
    auto rank_by = train::ParseRankBy(r);
    if (!rank_by.ok()) return doc.Error(root["rank_by"], "rank_by", rank_by.status().message());
    s.rank_by = *rank_by;
  }

  if (const YAML::Node search = root["search"]) {
    AIF_ASSIGN_OR_RETURN(s.search, ParseSearchOptions(doc, search, s.job));
  }

  if (const YAML::Node plan = root["plan"]) {
    AIF_RETURN_IF_ERROR(doc.CheckKeys(plan, "plan", {"tp", "pp", "vp", "cp", "ep", "dp", "micro_batch", "zero_stage", "recompute",
                                                "recompute_layers", "offload_layers", "ep_overlap", "cuda_graphs",
                                                "cuda_graph_modules"}));
    train::ParallelPlan p;
    for (auto [key, field] : {std::pair{"tp", &p.tp}, {"pp", &p.pp}, {"vp", &p.vp}, {"cp", &p.cp}, {"ep", &p.ep},
                              {"dp", &p.dp}, {"micro_batch", &p.micro_batch}}) {
      if (!plan[key]) continue;
      AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(plan[key], JoinPath("plan", key), 1, 1 << 24));
      *field = static_cast<int>(v);
    }
    if (!plan["dp"]) p.dp = static_cast<int>(std::max(1LL, s.cluster.gpus / (1LL * p.tp * p.pp * p.cp)));
    if (plan["zero_stage"]) {
      AIF_ASSIGN_OR_RETURN(long long z, doc.Integer(plan, "zero_stage", "plan.zero_stage", 0, 3));
      p.zero_stage = static_cast<int>(z);
    }
    if (plan["recompute"]) {
      AIF_ASSIGN_OR_RETURN(std::string r, doc.String(plan, "recompute", "plan.recompute"));
      auto rm = train::ParseRecompute(r);
      if (!rm.ok()) return doc.Error(plan["recompute"], "plan.recompute", rm.status().message());
      p.recompute = *rm;
    }
    if (plan["recompute_layers"]) {
      AIF_ASSIGN_OR_RETURN(long long n, doc.Integer(plan, "recompute_layers", "plan.recompute_layers", 0, 1 << 20));
      p.recompute_layers = static_cast<int>(n);
    }
    if (plan["offload_layers"]) {
      AIF_ASSIGN_OR_RETURN(long long n, doc.Integer(plan, "offload_layers", "plan.offload_layers", 0, 1 << 20));
      p.offload_layers = static_cast<int>(n);
    }
    for (auto [key, field] : {std::pair{"ep_overlap", &p.ep_overlap}, {"cuda_graphs", &p.cuda_graphs}}) {
      if (!plan[key]) continue;
      AIF_ASSIGN_OR_RETURN(*field, doc.Bool(plan, key, JoinPath("plan", key)));
    }
    if (plan["cuda_graph_modules"]) {
      AIF_ASSIGN_OR_RETURN(p.cuda_graph_modules,
                           GraphModules(doc, plan, "cuda_graph_modules", "plan.cuda_graph_modules", s.job));
    }
    Status valid = train::ValidatePlan(s.job, s.cluster, p);
    if (!valid.ok()) return doc.Error(plan, "plan", valid.message());
    s.plan = p;
  }
  return s;
}

double CheckpointBytes(const catalog::Model& model) {
  return 14.0 * train::CountParameters(model).total();
}

train::FactoryRunInputs Scenario::RunInputs() const {
  train::FactoryRunInputs in;
  in.name = name;
  in.job = job;
  in.cluster = cluster;
  in.tokens = tokens;
  in.fixed_plan = plan;
  in.search = search;
  in.reliability = reliability;
  in.costs = costs;
  in.scaling_gpus = scaling_gpus;
  in.find_min_gpus = find_min_gpus;
  in.rank_by = rank_by;
  in.failure_components = failure_components;
  return in;
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
