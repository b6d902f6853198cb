#include "aifactory/config/serve_scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/serve_traces.h"
#include "aifactory/config/yaml_reader.h"
#include "aifactory/core/file.h"
#include "aifactory/core/strings.h"

namespace aif::config {
namespace {

constexpr size_t kMaxScenarioBytes = 4 << 20;

// Values with a cost or an operating assumption need a source beside them.
Status NeedSource(const YamlDocument& doc, const YAML::Node& entry, const std::string& path,
                  const std::vector<std::string>& keys,
                  std::map<std::string, std::string>* sources) {
  std::vector<std::string> present;
  for (const auto& k : keys) {
    if (entry[k]) present.push_back(k);
  }
  std::map<std::string, std::string> local;
  AIF_RETURN_IF_ERROR(doc.ReadSources(entry, path, present, &local));
  for (auto& [k, v] : local) (*sources)[JoinPath(path, k)] = v;
  return Status::Ok();
}

Result<serve::LengthDistribution> ReadLength(const YamlDocument& doc, const YAML::Node& parent,
                                             const char* key, const std::string& path,
                                             double min_default) {
  const YAML::Node n = parent[key];
  const std::string p = JoinPath(path, key);
  serve::LengthDistribution d;
  d.min = min_default;
  if (n.IsScalar()) {
    AIF_ASSIGN_OR_RETURN(d.mean, doc.Number(n, p));
  } else {
    AIF_RETURN_IF_ERROR(doc.ExpectMap(n, p));
    AIF_RETURN_IF_ERROR(doc.CheckKeys(n, p, {"mean", "cv", "min", "max"}));
    AIF_ASSIGN_OR_RETURN(d.mean, doc.Number(n, "mean", p));
    if (n["cv"]) {
      AIF_ASSIGN_OR_RETURN(d.cv, doc.Number(n, "cv", p));
    }
    if (n["min"]) {
      AIF_ASSIGN_OR_RETURN(d.min, doc.Number(n, "min", p));
    }
    if (n["max"]) {
      AIF_ASSIGN_OR_RETURN(d.max, doc.Number(n, "max", p));
    }
  }
  if (!(d.mean > 0) || d.cv < 0 || d.max < d.min) {
    return doc.Error(n, p, "expected a positive mean, cv >= 0 and max >= min");
  }
  return d;
}

Result<serve::InstancePlan> ReadPlan(const YamlDocument& doc, const YAML::Node& n,
                                     const std::string& p) {
  AIF_RETURN_IF_ERROR(doc.ExpectMap(n, p));
  AIF_RETURN_IF_ERROR(doc.CheckKeys(n, p, {"tp", "pp", "ep"}));
  serve::InstancePlan plan;
  if (n["tp"]) {
    AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "tp", p, 1, 1024));
    plan.tp = static_cast<int>(v);
  }
  if (n["pp"]) {
    AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "pp", p, 1, 1024));
    plan.pp = static_cast<int>(v);
  }
  if (n["ep"]) {
    AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "ep", p, 1, 1024));
    plan.ep = static_cast<int>(v);
  }
  return plan;
}

// The engine settings of a pool entry (everything but the plan).
struct PoolEngineSpec {
  const catalog::Model* model = nullptr;
  const catalog::Accelerator* accelerator = nullptr;
  const catalog::KernelEfficiency* efficiency = nullptr;
  serve::EngineOptions options;
};

}  // namespace

Result<LoadedServeScenario> ParseServeScenario(std::string_view text, const std::string& file,
                                               const catalog::Catalog& catalog_in,
                                               const ServeScenarioOverrides& overrides) {
  AIF_ASSIGN_OR_RETURN(YamlDocument doc, YamlDocument::Parse(text, file));
  const YAML::Node& root = doc.root();
  AIF_RETURN_IF_ERROR(doc.ExpectMap(root, ""));
  AIF_RETURN_IF_ERROR(doc.CheckKeys(root, "",
                                    {"name", "description", "seed", "workloads", "pools", "speech",
                                     "providers", "tasks", "capacity"}));
  LoadedServeScenario out;
  auto catalog = std::make_shared<catalog::Catalog>(catalog_in);
  out.catalog = catalog;
  serve::ServeScenario& s = out.scenario;
  if (root["name"]) {
    AIF_ASSIGN_OR_RETURN(s.name, doc.String(root, "name", "name"));
  }
  if (root["description"]) {
    AIF_RETURN_IF_ERROR(doc.String(root, "description", "description").status());
  }
  if (root["seed"]) {
    AIF_ASSIGN_OR_RETURN(long long seed, doc.Integer(root, "seed", "seed", 0, (1LL << 62)));
    s.seed = static_cast<uint64_t>(seed);
  }
  if (overrides.seed >= 0) s.seed = static_cast<uint64_t>(overrides.seed);

  // ---- tasks first: workloads name them.
  const YAML::Node tasks = root["tasks"];
  if (!tasks) return doc.Error(root, "tasks", "missing required key");
  AIF_RETURN_IF_ERROR(doc.ExpectSequence(tasks, "tasks"));
  std::vector<std::string> task_names;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const YAML::Node t = tasks[i];
    const std::string p = JoinPath("tasks", i);
    AIF_RETURN_IF_ERROR(doc.ExpectMap(t, p));
    AIF_RETURN_IF_ERROR(doc.CheckKeys(t, p, {"name", "targets", "backends", "policy"}));
    serve::TaskClass tc;
    AIF_ASSIGN_OR_RETURN(tc.name, doc.String(t, "name", p));
    if (std::find(task_names.begin(), task_names.end(), tc.name) != task_names.end()) {
      return doc.Error(t["name"], JoinPath(p, "name"),
                       fmt::format("task '{}' is defined twice", tc.name));
    }
    if (t["targets"]) {
      const YAML::Node g = t["targets"];
      const std::string gp = JoinPath(p, "targets");
      AIF_RETURN_IF_ERROR(doc.ExpectMap(g, gp));
      AIF_RETURN_IF_ERROR(doc.CheckKeys(g, gp, {"ttft", "tpot", "e2e"}));
      if (g["ttft"]) {
        AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(g, "ttft", gp, Dimension::kSeconds));
        tc.targets.ttft = Seconds(v);
      }
      if (g["tpot"]) {
        AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(g, "tpot", gp, Dimension::kSeconds));
        tc.targets.tpot = Seconds(v);
      }
      if (g["e2e"]) {
        AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(g, "e2e", gp, Dimension::kSeconds));
        tc.targets.e2e = Seconds(v);
      }
    }
    const YAML::Node b = t["backends"];
    if (!b) return doc.Error(t, JoinPath(p, "backends"), "missing required key");
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(b, JoinPath(p, "backends")));
    for (size_t k = 0; k < b.size(); ++k) {
      AIF_ASSIGN_OR_RETURN(std::string name,
                           doc.String(b[k], JoinPath(JoinPath(p, "backends"), k)));
      tc.backends.push_back(name);
    }
    if (t["policy"]) {
      AIF_ASSIGN_OR_RETURN(tc.policy, doc.String(t, "policy", p));
      auto policy = serve::MakePolicy(tc.policy);
      if (!policy.ok())
        return doc.Error(t["policy"], JoinPath(p, "policy"), policy.status().message());
    }
    task_names.push_back(tc.name);
    s.tasks.push_back(tc);
  }
  auto task_index = [&](const YAML::Node& n, const std::string& p) -> Result<int> {
    AIF_ASSIGN_OR_RETURN(std::string name, doc.String(n, p));
    auto it = std::find(task_names.begin(), task_names.end(), name);
    if (it == task_names.end()) {
      return doc.Error(n, p,
                       fmt::format("unknown task '{}'{}", name, DidYouMean(name, task_names)));
    }
    return static_cast<int>(it - task_names.begin());
  };

  // ---- workloads
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  if (!overrides.trace.empty()) {
    ServeTraceOptions o;
    o.time_scale = overrides.trace_time_scale;
    o.max_requests = overrides.max_requests;
    AIF_ASSIGN_OR_RETURN(s.requests, ReadServeTrace(overrides.trace, o));
  } else {
    const YAML::Node w = root["workloads"];
    if (!w) return doc.Error(root, "workloads", "missing required key");
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(w, "workloads"));
    for (size_t i = 0; i < w.size(); ++i) {
      const YAML::Node n = w[i];
      const std::string p = JoinPath("workloads", i);
      AIF_RETURN_IF_ERROR(doc.ExpectMap(n, p));
      AIF_RETURN_IF_ERROR(
          doc.CheckKeys(n, p,
                        {"task", "trace", "time_scale", "max_requests", "arrivals", "rate", "cv",
                         "amplitude", "period", "duration", "prompt_tokens", "output_tokens",
                         "audio_seconds", "prefix", "source"}));
      if (!n["task"]) return doc.Error(n, JoinPath(p, "task"), "missing required key");
      AIF_ASSIGN_OR_RETURN(int task, task_index(n["task"], JoinPath(p, "task")));
      long long max_requests = overrides.max_requests;
      if (n["max_requests"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "max_requests", p, 0, 1LL << 40));
        if (max_requests <= 0 || v < max_requests) max_requests = v;
      }
      if (n["trace"]) {
        AIF_ASSIGN_OR_RETURN(std::string trace, doc.String(n, "trace", p));
        std::filesystem::path tp(trace);
        if (tp.is_relative()) tp = base / tp;
        ServeTraceOptions o;
        o.task = task;
        o.max_requests = max_requests;
        if (n["time_scale"]) {
          AIF_ASSIGN_OR_RETURN(o.time_scale, doc.Number(n, "time_scale", p));
        }
        if (!(o.time_scale > 0))
          return doc.Error(n["time_scale"], JoinPath(p, "time_scale"), "must be positive");
        auto reqs = ReadServeTrace(tp.string(), o);
        if (!reqs.ok()) return doc.Error(n["trace"], JoinPath(p, "trace"), reqs.status().message());
        s.requests.insert(s.requests.end(), reqs->begin(), reqs->end());
        continue;
      }
      serve::SyntheticLoad load;
      load.task = task;
      load.seed = s.seed * 1000003ULL + i;
      load.max_requests = max_requests;
      std::string arrivals = "poisson";
      if (n["arrivals"]) {
        AIF_ASSIGN_OR_RETURN(arrivals, doc.String(n, "arrivals", p));
      }
      if (arrivals == "poisson")
        load.arrivals = serve::ArrivalKind::kPoisson;
      else if (arrivals == "gamma")
        load.arrivals = serve::ArrivalKind::kGamma;
      else if (arrivals == "diurnal")
        load.arrivals = serve::ArrivalKind::kDiurnal;
      else {
        return doc.Error(n["arrivals"], JoinPath(p, "arrivals"),
                         fmt::format("unknown arrivals '{}'{}", arrivals,
                                     DidYouMean(arrivals, {"poisson", "gamma", "diurnal"})));
      }
      if (!n["rate"])
        return doc.Error(n, JoinPath(p, "rate"),
                         "missing required key (requests per second, or a trace)");
      AIF_ASSIGN_OR_RETURN(load.rate_per_s, doc.Number(n, "rate", p));
      if (!(load.rate_per_s > 0))
        return doc.Error(n["rate"], JoinPath(p, "rate"), "must be positive");
      if (n["cv"]) {
        AIF_ASSIGN_OR_RETURN(load.cv, doc.Number(n, "cv", p));
      }
      if (n["amplitude"]) {
        AIF_ASSIGN_OR_RETURN(load.diurnal_amplitude, doc.Number(n, "amplitude", p));
      }
      if (n["period"]) {
        AIF_ASSIGN_OR_RETURN(load.diurnal_period_s,
                             doc.Quantity(n, "period", p, Dimension::kSeconds));
      }
      if (!n["duration"]) return doc.Error(n, JoinPath(p, "duration"), "missing required key");
      AIF_ASSIGN_OR_RETURN(load.duration_s, doc.Quantity(n, "duration", p, Dimension::kSeconds));
      if (n["audio_seconds"]) {
        AIF_ASSIGN_OR_RETURN(load.audio, ReadLength(doc, n, "audio_seconds", p, 0.1));
      } else {
        if (!n["prompt_tokens"] || !n["output_tokens"]) {
          return doc.Error(n, p, "a synthetic text workload needs prompt_tokens and output_tokens");
        }
        AIF_ASSIGN_OR_RETURN(load.prompt, ReadLength(doc, n, "prompt_tokens", p, 1));
        AIF_ASSIGN_OR_RETURN(load.output, ReadLength(doc, n, "output_tokens", p, 1));
      }
      if (n["prefix"]) {
        const YAML::Node x = n["prefix"];
        const std::string xp = JoinPath(p, "prefix");
        AIF_RETURN_IF_ERROR(doc.ExpectMap(x, xp));
        AIF_RETURN_IF_ERROR(doc.CheckKeys(x, xp, {"groups", "tokens"}));
        AIF_ASSIGN_OR_RETURN(long long g, doc.Integer(x, "groups", xp, 1, 1LL << 30));
        AIF_ASSIGN_OR_RETURN(long long t, doc.Integer(x, "tokens", xp, 1, 1LL << 24));
        load.prefix_groups = static_cast<int>(g);
        load.prefix_tokens = static_cast<int>(t);
      }
      auto reqs = serve::GenerateLoad(load);
      if (!reqs.ok()) return doc.Error(n, p, reqs.status().message());
      s.requests.insert(s.requests.end(), reqs->begin(), reqs->end());
    }
    std::stable_sort(
        s.requests.begin(), s.requests.end(),
        [](const serve::Request& a, const serve::Request& b) { return a.arrival_s < b.arrival_s; });
  }

  // ---- pools
  std::vector<PoolEngineSpec> specs;
  if (root["pools"]) {
    const YAML::Node pools = root["pools"];
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(pools, "pools"));
    for (size_t i = 0; i < pools.size(); ++i) {
      const YAML::Node n = pools[i];
      const std::string p = JoinPath("pools", i);
      AIF_RETURN_IF_ERROR(doc.ExpectMap(n, p));
      AIF_RETURN_IF_ERROR(doc.CheckKeys(
          n, p,
          {"name", "model", "accelerator", "plan", "instances", "precision", "kv_cache",
           "max_batch_sequences", "max_batch_tokens", "memory_fraction", "block_tokens",
           "prefix_caching", "role", "decode_pool", "kv_link", "gpu_hour_price",
           "idle_power_fraction", "max_queue_per_instance", "sources"}));
      serve::LlmPool pool;
      AIF_ASSIGN_OR_RETURN(pool.name, doc.String(n, "name", p));
      PoolEngineSpec spec;
      AIF_ASSIGN_OR_RETURN(std::string model, doc.String(n, "model", p));
      auto m = catalog->FindModel(model);
      if (!m.ok()) return doc.Error(n["model"], JoinPath(p, "model"), m.status().message());
      spec.model = *m;
      AIF_ASSIGN_OR_RETURN(std::string acc, doc.String(n, "accelerator", p));
      auto a = catalog->FindAccelerator(acc);
      if (!a.ok())
        return doc.Error(n["accelerator"], JoinPath(p, "accelerator"), a.status().message());
      spec.accelerator = *a;
      auto eff = catalog->FindEfficiency(acc);
      if (!eff.ok())
        return doc.Error(n["accelerator"], JoinPath(p, "accelerator"), eff.status().message());
      spec.efficiency = *eff;
      serve::InstancePlan plan;
      if (n["plan"]) {
        AIF_ASSIGN_OR_RETURN(plan, ReadPlan(doc, n["plan"], JoinPath(p, "plan")));
      }
      if (n["instances"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "instances", p, 1, 1000000));
        pool.instances = static_cast<int>(v);
      }
      if (n["precision"]) {
        AIF_ASSIGN_OR_RETURN(spec.options.weight_precision, ReadPrecision(doc, n["precision"], JoinPath(p, "precision")));
      }
      if (n["kv_cache"]) {
        AIF_ASSIGN_OR_RETURN(std::string kv, doc.String(n, "kv_cache", p));
        if (kv == "fp8")
          spec.options.kv_bytes_per_element = 1;
        else if (kv == "bf16" || kv == "fp16")
          spec.options.kv_bytes_per_element = 2;
        else
          return doc.Error(n["kv_cache"], JoinPath(p, "kv_cache"),
                           fmt::format("unknown KV-cache format '{}'{}", kv,
                                       DidYouMean(kv, {"bf16", "fp16", "fp8"})));
      }
      if (n["max_batch_sequences"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "max_batch_sequences", p, 1, 1 << 16));
        spec.options.max_batch_sequences = static_cast<int>(v);
      }
      if (n["max_batch_tokens"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "max_batch_tokens", p, 1, 1 << 20));
        spec.options.max_batch_tokens = static_cast<int>(v);
      }
      if (n["block_tokens"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "block_tokens", p, 1, 4096));
        spec.options.block_tokens = static_cast<int>(v);
      }
      if (n["memory_fraction"]) {
        AIF_ASSIGN_OR_RETURN(spec.options.memory_fraction, doc.Number(n, "memory_fraction", p));
        if (!(spec.options.memory_fraction > 0 && spec.options.memory_fraction <= 1)) {
          return doc.Error(n["memory_fraction"], JoinPath(p, "memory_fraction"),
                           "expected a fraction in (0, 1]");
        }
      }
      if (n["prefix_caching"]) {
        AIF_ASSIGN_OR_RETURN(pool.prefix_caching, doc.Bool(n, "prefix_caching", p));
      }
      if (n["role"]) {
        AIF_ASSIGN_OR_RETURN(std::string role, doc.String(n, "role", p));
        if (role == "unified")
          pool.role = serve::PoolRole::kUnified;
        else if (role == "prefill")
          pool.role = serve::PoolRole::kPrefill;
        else if (role == "decode")
          pool.role = serve::PoolRole::kDecode;
        else
          return doc.Error(n["role"], JoinPath(p, "role"),
                           fmt::format("unknown role '{}'{}", role,
                                       DidYouMean(role, {"unified", "prefill", "decode"})));
      }
      if (n["decode_pool"]) {
        AIF_ASSIGN_OR_RETURN(pool.decode_pool, doc.String(n, "decode_pool", p));
      }
      if (pool.role == serve::PoolRole::kPrefill) {
        if (!n["decode_pool"])
          return doc.Error(n, JoinPath(p, "decode_pool"), "a prefill pool needs its decode_pool");
        const YAML::Node l = n["kv_link"];
        if (!l)
          return doc.Error(n, JoinPath(p, "kv_link"),
                           "a prefill pool needs kv_link {bandwidth, latency}");
        const std::string lp = JoinPath(p, "kv_link");
        AIF_RETURN_IF_ERROR(doc.CheckKeys(l, lp, {"bandwidth", "latency"}));
        AIF_ASSIGN_OR_RETURN(double bw,
                             doc.Quantity(l, "bandwidth", lp, Dimension::kBytesPerSecond));
        AIF_ASSIGN_OR_RETURN(double lat, doc.Quantity(l, "latency", lp, Dimension::kSeconds));
        pool.kv_link_bandwidth = BytesPerSecond(bw);
        pool.kv_link_latency = Seconds(lat);
      }
      if (n["gpu_hour_price"]) {
        AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(n, "gpu_hour_price", p, Dimension::kDollars));
        pool.gpu_hour_price = Dollars(v);
      }
      if (n["idle_power_fraction"]) {
        AIF_ASSIGN_OR_RETURN(pool.idle_power_fraction, doc.Number(n, "idle_power_fraction", p));
      }
      if (n["max_queue_per_instance"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "max_queue_per_instance", p, 1, 1 << 30));
        pool.max_queue_per_instance = static_cast<int>(v);
      }
      AIF_RETURN_IF_ERROR(
          NeedSource(doc, n, p, {"gpu_hour_price", "idle_power_fraction"}, &out.sources));
      pool.gpu_power = spec.accelerator->tdp;
      auto engine = serve::EngineModel::Make(*spec.model, *spec.accelerator, *spec.efficiency, plan,
                                             spec.options);
      if (!engine.ok())
        return doc.Error(n["plan"] ? n["plan"] : n, JoinPath(p, "plan"), engine.status().message());
      pool.engine = std::make_shared<serve::EngineModel>(std::move(*engine));
      s.pools.push_back(pool);
      specs.push_back(spec);
    }
  }

  // ---- speech pools
  if (root["speech"]) {
    const YAML::Node sp = root["speech"];
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(sp, "speech"));
    for (size_t i = 0; i < sp.size(); ++i) {
      const YAML::Node n = sp[i];
      const std::string p = JoinPath("speech", i);
      AIF_RETURN_IF_ERROR(doc.ExpectMap(n, p));
      AIF_RETURN_IF_ERROR(doc.CheckKeys(
          n, p,
          {"name", "accelerator", "gpus_per_instance", "instances", "audio_rate", "startup",
           "gpu_hour_price", "idle_power_fraction", "max_queue_per_instance", "sources"}));
      serve::SpeechPool pool;
      AIF_ASSIGN_OR_RETURN(pool.name, doc.String(n, "name", p));
      AIF_ASSIGN_OR_RETURN(std::string acc, doc.String(n, "accelerator", p));
      auto a = catalog->FindAccelerator(acc);
      if (!a.ok())
        return doc.Error(n["accelerator"], JoinPath(p, "accelerator"), a.status().message());
      pool.gpu_power = (*a)->tdp;
      if (n["gpus_per_instance"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "gpus_per_instance", p, 1, 1024));
        pool.gpus_per_instance = static_cast<int>(v);
      }
      if (n["instances"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "instances", p, 1, 1000000));
        pool.instances = static_cast<int>(v);
      }
      AIF_ASSIGN_OR_RETURN(pool.audio_rate, doc.Number(n, "audio_rate", p));
      if (!(pool.audio_rate > 0))
        return doc.Error(n["audio_rate"], JoinPath(p, "audio_rate"),
                         "must be positive (seconds of audio per GPU-second)");
      if (n["startup"]) {
        AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(n, "startup", p, Dimension::kSeconds));
        pool.startup = Seconds(v);
      }
      if (n["gpu_hour_price"]) {
        AIF_ASSIGN_OR_RETURN(double v, doc.Quantity(n, "gpu_hour_price", p, Dimension::kDollars));
        pool.gpu_hour_price = Dollars(v);
      }
      if (n["idle_power_fraction"]) {
        AIF_ASSIGN_OR_RETURN(pool.idle_power_fraction, doc.Number(n, "idle_power_fraction", p));
      }
      if (n["max_queue_per_instance"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "max_queue_per_instance", p, 0, 1 << 30));
        pool.max_queue_per_instance = static_cast<int>(v);
      }
      AIF_RETURN_IF_ERROR(
          NeedSource(doc, n, p, {"audio_rate", "startup", "gpu_hour_price", "idle_power_fraction"},
                     &out.sources));
      s.speech.push_back(pool);
    }
  }

  // ---- providers
  if (root["providers"]) {
    const YAML::Node pv = root["providers"];
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(pv, "providers"));
    for (size_t i = 0; i < pv.size(); ++i) {
      const YAML::Node n = pv[i];
      const std::string p = JoinPath("providers", i);
      AIF_RETURN_IF_ERROR(doc.ExpectMap(n, p));
      AIF_RETURN_IF_ERROR(
          doc.CheckKeys(n, p,
                        {"name", "ttft", "output_tokens_per_s", "price_per_m_input",
                         "price_per_m_output", "rate_limit_rpm", "max_concurrency", "sources"}));
      serve::Provider pr;
      AIF_ASSIGN_OR_RETURN(pr.name, doc.String(n, "name", p));
      AIF_ASSIGN_OR_RETURN(double ttft, doc.Quantity(n, "ttft", p, Dimension::kSeconds));
      pr.ttft = Seconds(ttft);
      AIF_ASSIGN_OR_RETURN(pr.output_tokens_per_s, doc.Number(n, "output_tokens_per_s", p));
      if (!(pr.output_tokens_per_s > 0))
        return doc.Error(n["output_tokens_per_s"], JoinPath(p, "output_tokens_per_s"),
                         "must be positive");
      AIF_ASSIGN_OR_RETURN(double in, doc.Quantity(n, "price_per_m_input", p, Dimension::kDollars));
      AIF_ASSIGN_OR_RETURN(double outp,
                           doc.Quantity(n, "price_per_m_output", p, Dimension::kDollars));
      pr.price_per_m_input = Dollars(in);
      pr.price_per_m_output = Dollars(outp);
      if (n["rate_limit_rpm"]) {
        AIF_ASSIGN_OR_RETURN(pr.rate_limit_rpm, doc.Number(n, "rate_limit_rpm", p));
      }
      if (n["max_concurrency"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(n, "max_concurrency", p, 0, 1 << 30));
        pr.max_concurrency = static_cast<int>(v);
      }
      AIF_RETURN_IF_ERROR(NeedSource(doc, n, p,
                                     {"ttft", "output_tokens_per_s", "price_per_m_input",
                                      "price_per_m_output", "rate_limit_rpm"},
                                     &out.sources));
      s.providers.push_back(pr);
    }
  }

  // ---- capacity search
  if (root["capacity"]) {
    const YAML::Node c = root["capacity"];
    AIF_RETURN_IF_ERROR(doc.ExpectMap(c, "capacity"));
    AIF_RETURN_IF_ERROR(doc.CheckKeys(c, "capacity", {"plans", "max_instances", "percentile"}));
    if (c["plans"]) {
      AIF_RETURN_IF_ERROR(doc.ExpectSequence(c["plans"], "capacity.plans"));
      for (size_t i = 0; i < c["plans"].size(); ++i) {
        AIF_ASSIGN_OR_RETURN(serve::InstancePlan plan,
                             ReadPlan(doc, c["plans"][i], JoinPath("capacity.plans", i)));
        out.capacity.plans.push_back(plan);
      }
    }
    if (c["max_instances"]) {
      AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(c, "max_instances", "capacity", 1, 1 << 20));
      out.capacity.max_instances = static_cast<int>(v);
    }
    if (c["percentile"]) {
      AIF_ASSIGN_OR_RETURN(out.capacity.percentile, doc.Number(c, "percentile", "capacity"));
      const double q = out.capacity.percentile;
      if (q != 0.5 && q != 0.9 && q != 0.99)
        return doc.Error(c["percentile"], "capacity.percentile", "expected 0.5, 0.9 or 0.99");
    }
  }

  Status valid = serve::ValidateScenario(s);
  if (!valid.ok()) return InvalidArgument(fmt::format("{}: {}", file, valid.message()));
  out.factory = [specs, catalog](size_t pool, const serve::InstancePlan& plan)
      -> Result<std::shared_ptr<const serve::EngineModel>> {
    const PoolEngineSpec& sp = specs.at(pool);
    AIF_ASSIGN_OR_RETURN(
        serve::EngineModel m,
        serve::EngineModel::Make(*sp.model, *sp.accelerator, *sp.efficiency, plan, sp.options));
    return std::shared_ptr<const serve::EngineModel>(
        std::make_shared<serve::EngineModel>(std::move(m)));
  };
  return out;
}

Result<LoadedServeScenario> LoadServeScenarioFile(const std::string& path,
                                                  const catalog::Catalog& catalog,
                                                  const ServeScenarioOverrides& overrides) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxScenarioBytes));
  return ParseServeScenario(text, path, catalog, overrides);
}

}  // namespace aif::config
