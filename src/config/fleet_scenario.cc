#include "aifactory/config/fleet_scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "aifactory/config/scenario.h"
#include "aifactory/config/traces.h"
#include "aifactory/config/yaml_reader.h"
#include "aifactory/core/file.h"
#include "aifactory/core/random.h"
#include "aifactory/core/strings.h"
#include "aifactory/fleet/scheduler.h"
#include "aifactory/train/factory_run.h"

namespace aif::config {
namespace {

constexpr long long kMaxGpus = 100000000;
constexpr long long kMaxJobs = 100000000;

// `path` as written, relative to the directory of the file that names it.
std::string Resolve(const std::string& from_file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(from_file).parent_path() / p).lexically_normal().string();
}

Result<fleet::FailureScope> ParseScope(const YamlDocument& doc, const YAML::Node& n,
                                       const std::string& path) {
  AIF_ASSIGN_OR_RETURN(std::string s, doc.String(n, path));
  if (s == "gpu") return fleet::FailureScope::kGpu;
  if (s == "domain") return fleet::FailureScope::kDomain;
  if (s == "software") return fleet::FailureScope::kSoftware;
  return doc.Error(n, path,
                   fmt::format("unknown scope '{}'{}; expected gpu, domain or software", s,
                               DidYouMean(s, {"gpu", "domain", "software"})));
}

Status ReadSites(const YamlDocument& doc, const YAML::Node& sites, FleetScenario* out,
                 std::vector<std::string>* names) {
  AIF_RETURN_IF_ERROR(doc.ExpectSequence(sites, "sites"));
  if (sites.size() == 0) return doc.Error(sites, "sites", "needs at least one site");
  for (std::size_t i = 0; i < sites.size(); ++i) {
    const YAML::Node s = sites[i];
    const std::string p = JoinPath("sites", i);
    AIF_RETURN_IF_ERROR(doc.CheckKeys(s, p, {"name", "pue", "power_cap", "pools"}));
    fleet::SiteSpec site;
    AIF_ASSIGN_OR_RETURN(site.name, doc.String(s, "name", JoinPath(p, "name")));
    if (std::find(names->begin(), names->end(), site.name) != names->end())
      return doc.Error(s["name"], JoinPath(p, "name"), "duplicate site name");
    if (s["pue"]) {
      AIF_ASSIGN_OR_RETURN(site.pue, doc.Number(s, "pue", JoinPath(p, "pue")));
      if (!(site.pue >= 1 && site.pue <= 5))
        return doc.Error(s["pue"], JoinPath(p, "pue"), "expected a PUE between 1 and 5");
    }
    if (s["power_cap"]) {
      AIF_ASSIGN_OR_RETURN(site.power_cap_w, doc.Quantity(s, "power_cap", JoinPath(p, "power_cap"),
                                                          Dimension::kWatts));
      if (!(site.power_cap_w > 0))
        return doc.Error(s["power_cap"], JoinPath(p, "power_cap"), "must be positive");
    }
    const YAML::Node pools = s["pools"];
    if (!pools) return doc.Error(s, JoinPath(p, "pools"), "missing required key");
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(pools, JoinPath(p, "pools")));
    for (std::size_t k = 0; k < pools.size(); ++k) {
      const YAML::Node q = pools[k];
      const std::string pp = JoinPath(JoinPath(p, "pools"), k);
      AIF_RETURN_IF_ERROR(doc.CheckKeys(
          q, pp,
          {"gpu", "gpus", "gpus_per_domain", "domains_per_leaf", "busy_power", "idle_power"}));
      fleet::PoolSpec pool;
      AIF_ASSIGN_OR_RETURN(pool.gpu_type, doc.String(q, "gpu", JoinPath(pp, "gpu")));
      AIF_ASSIGN_OR_RETURN(long long gpus,
                           doc.Integer(q, "gpus", JoinPath(pp, "gpus"), 1, kMaxGpus));
      pool.gpus = static_cast<int>(gpus);
      if (q["gpus_per_domain"]) {
        AIF_ASSIGN_OR_RETURN(long long v, doc.Integer(q, "gpus_per_domain",
                                                      JoinPath(pp, "gpus_per_domain"), 1, 1024));
        pool.gpus_per_domain = static_cast<int>(v);
      }
      if (pool.gpus % pool.gpus_per_domain != 0) {
        return doc.Error(q["gpus"], JoinPath(pp, "gpus"),
                         fmt::format("{} GPUs is not a whole number of {}-GPU domains", pool.gpus,
                                     pool.gpus_per_domain));
      }
      if (q["domains_per_leaf"]) {
        AIF_ASSIGN_OR_RETURN(
            long long v,
            doc.Integer(q, "domains_per_leaf", JoinPath(pp, "domains_per_leaf"), 1, 1 << 20));
        pool.domains_per_leaf = static_cast<int>(v);
      }
      AIF_ASSIGN_OR_RETURN(
          pool.gpu_busy_w,
          doc.Quantity(q, "busy_power", JoinPath(pp, "busy_power"), Dimension::kWatts));
      AIF_ASSIGN_OR_RETURN(
          pool.gpu_idle_w,
          doc.Quantity(q, "idle_power", JoinPath(pp, "idle_power"), Dimension::kWatts));
      if (pool.gpu_idle_w > pool.gpu_busy_w)
        return doc.Error(q["idle_power"], JoinPath(pp, "idle_power"), "exceeds busy_power");
      site.pools.push_back(pool);
    }
    names->push_back(site.name);
    out->spec.sites.push_back(std::move(site));
  }
  return Status::Ok();
}

Status ReadWan(const YamlDocument& doc, const YAML::Node& wan,
               const std::vector<std::string>& names, FleetScenario* out) {
  AIF_RETURN_IF_ERROR(doc.ExpectSequence(wan, "wan"));
  for (std::size_t i = 0; i < wan.size(); ++i) {
    const YAML::Node w = wan[i];
    const std::string p = JoinPath("wan", i);
    AIF_RETURN_IF_ERROR(doc.CheckKeys(w, p, {"between", "bandwidth"}));
    const YAML::Node between = w["between"];
    if (!between || !between.IsSequence() || between.size() != 2)
      return doc.Error(between ? between : w, JoinPath(p, "between"), "expected two site names");
    int idx[2];
    for (std::size_t k = 0; k < 2; ++k) {
      AIF_ASSIGN_OR_RETURN(std::string n,
                           doc.String(between[k], JoinPath(JoinPath(p, "between"), k)));
      auto it = std::find(names.begin(), names.end(), n);
      if (it == names.end()) {
        return doc.Error(between[k], JoinPath(JoinPath(p, "between"), k),
                         fmt::format("no site '{}'{}", n, DidYouMean(n, names)));
      }
      idx[k] = static_cast<int>(it - names.begin());
    }
    fleet::WanLink link;
    link.a = idx[0];
    link.b = idx[1];
    AIF_ASSIGN_OR_RETURN(double bw, doc.Quantity(w, "bandwidth", JoinPath(p, "bandwidth"),
                                                 Dimension::kBytesPerSecond));
    link.gbps = bw * 8 / 1e9;
    out->spec.wan.push_back(link);
  }
  return Status::Ok();
}

// failures: rates_from (a training scenario with reliability.components) and the scope and repair
// of each component, matched by name prefix (first match; unmatched: software, no repair).
Status ReadFailures(const YamlDocument& doc, const YAML::Node& f, const catalog::Catalog& cat,
                    FleetScenario* out) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(f, "failures", {"rates_from", "scopes"}));
  AIF_ASSIGN_OR_RETURN(std::string from, doc.String(f, "rates_from", "failures.rates_from"));
  auto sc = LoadScenarioFile(Resolve(doc.file(), from), cat);
  if (!sc.ok()) return doc.Error(f["rates_from"], "failures.rates_from", sc.status().message());
  if (sc->failure_components.empty()) {
    return doc.Error(f["rates_from"], "failures.rates_from",
                     "the scenario gives no reliability.components");
  }
  struct Rule {
    std::string prefix;
    fleet::FailureScope scope;
    double repair;
  };
  std::vector<Rule> rules;
  if (const YAML::Node scopes = f["scopes"]) {
    AIF_RETURN_IF_ERROR(doc.ExpectSequence(scopes, "failures.scopes"));
    for (std::size_t i = 0; i < scopes.size(); ++i) {
      const std::string p = JoinPath("failures.scopes", i);
      AIF_RETURN_IF_ERROR(doc.CheckKeys(scopes[i], p, {"prefix", "scope", "repair"}));
      Rule r;
      AIF_ASSIGN_OR_RETURN(r.prefix, doc.String(scopes[i], "prefix", JoinPath(p, "prefix")));
      if (!scopes[i]["scope"])
        return doc.Error(scopes[i], JoinPath(p, "scope"), "missing required key");
      AIF_ASSIGN_OR_RETURN(r.scope, ParseScope(doc, scopes[i]["scope"], JoinPath(p, "scope")));
      r.repair = 0;
      if (scopes[i]["repair"]) {
        AIF_ASSIGN_OR_RETURN(r.repair, doc.Quantity(scopes[i], "repair", JoinPath(p, "repair"),
                                                    Dimension::kSeconds));
      }
      rules.push_back(r);
    }
  }
  for (const auto& [name, rate] : sc->failure_components) {
    fleet::FailureComponent c;
    c.name = name;
    c.rate_per_gpu_hour = rate;
    c.scope = fleet::FailureScope::kSoftware;
    for (const Rule& r : rules) {
      if (name.rfind(r.prefix, 0) == 0) {
        c.scope = r.scope;
        c.repair = Seconds(r.repair);
        break;
      }
    }
    out->spec.failures.push_back(c);
  }
  return Status::Ok();
}

Status ReadTrace(const YamlDocument& doc, const YAML::Node& t, const FleetLoadOptions& options,
                 FleetScenario* out) {
  AIF_RETURN_IF_ERROR(doc.CheckKeys(
      t, "workload.trace", {"format", "path", "nodes", "replay", "gpu_type", "time_scale"}));
  AIF_ASSIGN_OR_RETURN(std::string format, doc.String(t, "format", "workload.trace.format"));
  AIF_ASSIGN_OR_RETURN(std::string path, doc.String(t, "path", "workload.trace.path"));
  path = Resolve(doc.file(), path);
  TraceReadOptions ro;
  ro.skip_bad_rows = options.skip_bad_rows;
  Result<fleet::Trace> trace = InvalidArgument("unread");
  if (format == "openb") {
    if (t["nodes"]) {
      AIF_ASSIGN_OR_RETURN(std::string nodes, doc.String(t, "nodes", "workload.trace.nodes"));
      trace = ReadOpenbTrace(path, Resolve(doc.file(), nodes), ro);
    } else {
      trace = ReadOpenbPodList(path, ro);
    }
  } else if (format == "gavel") {
    trace = ReadGavelTrace(path, ro);
  } else if (format == "philly_runtime") {
    trace = ReadPhillyRuntimes(path, ro);
  } else {
    const std::vector<std::string> known = {"openb", "gavel", "philly_runtime"};
    return doc.Error(t["format"], "workload.trace.format",
                     fmt::format("unknown trace format '{}'{}; known: openb, gavel, philly_runtime",
                                 format, DidYouMean(format, known)));
  }
  if (!trace.ok()) return doc.Error(t["path"], "workload.trace.path", trace.status().message());
  for (const fleet::SkippedRow& r : trace->skipped) out->skipped_rows.push_back(r.message);
  bool replay = false;
  if (t["replay"]) {
    AIF_ASSIGN_OR_RETURN(replay, doc.Bool(t, "replay", "workload.trace.replay"));
  }
  double scale = 1;
  if (t["time_scale"]) {
    AIF_ASSIGN_OR_RETURN(scale, doc.Number(t, "time_scale", "workload.trace.time_scale"));
    if (!(scale > 0))
      return doc.Error(t["time_scale"], "workload.trace.time_scale", "must be positive");
  }
  std::vector<fleet::FleetJob> jobs = JobsFromTrace(*trace, replay, &out->jobs_left_out);
  std::string type;
  if (t["gpu_type"]) {
    AIF_ASSIGN_OR_RETURN(type, doc.String(t, "gpu_type", "workload.trace.gpu_type"));
  }
  for (fleet::FleetJob& j : jobs) {
    j.gpu_type = type;
    // Arrivals compressed or stretched by `time_scale` (durations unchanged) to vary the load.
    j.submit = Seconds(j.submit.value() * scale);
    j.release = Seconds(j.release.value() * scale);
    out->jobs.push_back(std::move(j));
  }
  return Status::Ok();
}

Status ReadSynthetic(const YamlDocument& doc, const YAML::Node& s, std::uint64_t seed,
                     FleetScenario* out) {
  const std::string p = "workload.synthetic";
  AIF_RETURN_IF_ERROR(
      doc.CheckKeys(s, p,
                    {"jobs", "arrivals_per_hour", "mean_runtime", "gpus", "gpu_type",
                     "checkpoint_interval", "checkpoint_write", "restart"}));
  AIF_ASSIGN_OR_RETURN(long long n, doc.Integer(s, "jobs", JoinPath(p, "jobs"), 0, kMaxJobs));
  AIF_ASSIGN_OR_RETURN(double rate,
                       doc.Number(s, "arrivals_per_hour", JoinPath(p, "arrivals_per_hour")));
  if (!(rate > 0))
    return doc.Error(s["arrivals_per_hour"], JoinPath(p, "arrivals_per_hour"), "must be positive");
  AIF_ASSIGN_OR_RETURN(double mean, doc.Quantity(s, "mean_runtime", JoinPath(p, "mean_runtime"),
                                                 Dimension::kSeconds));
  const YAML::Node g = s["gpus"];
  if (!g || !g.IsMap() || g.size() == 0)
    return doc.Error(g ? g : s, JoinPath(p, "gpus"), "expected a map of GPUs per job to its share");
  std::vector<std::pair<int, double>> mix;
  double total = 0;
  for (const auto& kv : g) {
    AIF_ASSIGN_OR_RETURN(long long k, doc.Integer(kv.first, JoinPath(p, "gpus"), 1, kMaxGpus));
    AIF_ASSIGN_OR_RETURN(double w,
                         doc.Number(kv.second, JoinPath(JoinPath(p, "gpus"), kv.first.Scalar())));
    if (!(w >= 0)) return doc.Error(kv.second, JoinPath(p, "gpus"), "shares must be non-negative");
    mix.emplace_back(static_cast<int>(k), w);
    total += w;
  }
  if (!(total > 0)) return doc.Error(g, JoinPath(p, "gpus"), "shares add up to zero");
  std::string type;
  if (s["gpu_type"]) {
    AIF_ASSIGN_OR_RETURN(type, doc.String(s, "gpu_type", JoinPath(p, "gpu_type")));
  }
  double interval = 0, write = 0, restart = 0;
  if (s["checkpoint_interval"]) {
    AIF_ASSIGN_OR_RETURN(std::string v,
                         doc.String(s, "checkpoint_interval", JoinPath(p, "checkpoint_interval")));
    if (v == "auto") {
      interval = -1;
    } else {
      AIF_ASSIGN_OR_RETURN(
          interval, doc.Quantity(s, "checkpoint_interval", JoinPath(p, "checkpoint_interval"),
                                 Dimension::kSeconds));
    }
  }
  if (s["checkpoint_write"]) {
    AIF_ASSIGN_OR_RETURN(write, doc.Quantity(s, "checkpoint_write", JoinPath(p, "checkpoint_write"),
                                             Dimension::kSeconds));
  }
  if (s["restart"]) {
    AIF_ASSIGN_OR_RETURN(restart,
                         doc.Quantity(s, "restart", JoinPath(p, "restart"), Dimension::kSeconds));
  }
  Rng rng(seed);
  double now = 0;
  for (long long i = 0; i < n; ++i) {
    now += rng.Exponential(3600.0 / rate);
    fleet::FleetJob j;
    j.id = fmt::format("synthetic-{}", i);
    j.submit = j.release = Seconds(now);
    j.work = Seconds(rng.Exponential(mean));
    double u = rng.Uniform() * total;
    j.gpus = mix.back().first;
    for (const auto& [k, w] : mix) {
      if (u < w) {
        j.gpus = k;
        break;
      }
      u -= w;
    }
    j.gpu_type = type;
    j.checkpoint_interval = Seconds(interval);
    j.checkpoint_write = Seconds(write);
    j.restart = Seconds(restart);
    out->jobs.push_back(std::move(j));
  }
  return Status::Ok();
}

Status ReadTraining(const YamlDocument& doc, const YAML::Node& list, const catalog::Catalog& cat,
                    FleetScenario* out) {
  AIF_RETURN_IF_ERROR(doc.ExpectSequence(list, "workload.training"));
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node t = list[i];
    const std::string p = JoinPath("workload.training", i);
    AIF_RETURN_IF_ERROR(doc.CheckKeys(
        t, p,
        {"name", "scenario", "submit", "gpu_type", "checkpoint_interval", "multi_site", "work"}));
    FleetTrainingJob tj;
    AIF_ASSIGN_OR_RETURN(tj.scenario, doc.String(t, "scenario", JoinPath(p, "scenario")));
    auto sc = LoadScenarioFile(Resolve(doc.file(), tj.scenario), cat);
    if (!sc.ok()) return doc.Error(t["scenario"], JoinPath(p, "scenario"), sc.status().message());
    auto run = train::RunFactory(sc->RunInputs());
    if (!run.ok()) return doc.Error(t["scenario"], JoinPath(p, "scenario"), run.status().message());
    tj.name = sc->name;
    if (t["name"]) {
      AIF_ASSIGN_OR_RETURN(tj.name, doc.String(t, "name", JoinPath(p, "name")));
    }
    tj.gpus = sc->cluster.gpus;
    tj.step_time_s = run->best.estimate.step_time.value();
    tj.steps = run->steps;
    tj.compute_s = run->compute_time.value();
    tj.checkpoint_write_s = sc->reliability.checkpoint_write.value();
    tj.restart_s = sc->reliability.restart.value();
    fleet::FleetJob j;
    j.id = tj.name;
    double submit = 0;
    if (t["submit"]) {
      AIF_ASSIGN_OR_RETURN(submit,
                           doc.Quantity(t, "submit", JoinPath(p, "submit"), Dimension::kSeconds));
    }
    j.submit = j.release = Seconds(submit);
    j.work = Seconds(tj.compute_s);
    if (t["work"]) {
      // A window of the run instead of all of it (e.g. the 54 days of the Llama 3 report).
      AIF_ASSIGN_OR_RETURN(double w,
                           doc.Quantity(t, "work", JoinPath(p, "work"), Dimension::kSeconds));
      j.work = Seconds(w);
    }
    j.gpus = tj.gpus;
    if (t["gpu_type"]) {
      AIF_ASSIGN_OR_RETURN(j.gpu_type, doc.String(t, "gpu_type", JoinPath(p, "gpu_type")));
    }
    j.checkpoint_interval = Seconds(-1);
    if (t["checkpoint_interval"]) {
      AIF_ASSIGN_OR_RETURN(
          std::string v, doc.String(t, "checkpoint_interval", JoinPath(p, "checkpoint_interval")));
      if (v != "auto") {
        AIF_ASSIGN_OR_RETURN(
            double iv, doc.Quantity(t, "checkpoint_interval", JoinPath(p, "checkpoint_interval"),
                                    Dimension::kSeconds));
        j.checkpoint_interval = Seconds(iv);
      }
    }
    if (t["multi_site"]) {
      AIF_ASSIGN_OR_RETURN(j.multi_site, doc.Bool(t, "multi_site", JoinPath(p, "multi_site")));
    }
    if (j.multi_site && !out->spec.wan.empty()) {
      // The WAN's cost: the best plan's step time with the job split over two sites joined by
      // the slowest WAN link, over its step time on one site.
      double gbps = out->spec.wan.front().gbps;
      for (const fleet::WanLink& l : out->spec.wan) gbps = std::min(gbps, l.gbps);
      train::FactoryRunInputs split = sc->RunInputs();
      split.cluster.sites = 2;
      split.cluster.wan_bandwidth = BytesPerSecond(gbps * 1e9 / 8);
      split.fixed_plan.reset();
      const Status even = train::CheckSiteSplit(split.cluster);
      if (!even.ok()) return doc.Error(t["multi_site"], JoinPath(p, "multi_site"), even.message());
      auto two = train::RunFactory(split);
      if (!two.ok())
        return doc.Error(t["multi_site"], JoinPath(p, "multi_site"), two.status().message());
      tj.cross_site_slowdown = two->best.estimate.step_time.value() / tj.step_time_s;
      j.cross_site_slowdown = std::max(1.0, tj.cross_site_slowdown);
    }
    j.checkpoint_write = Seconds(tj.checkpoint_write_s);
    j.restart = Seconds(tj.restart_s);
    out->jobs.push_back(std::move(j));
    out->training.push_back(std::move(tj));
  }
  return Status::Ok();
}

}  // namespace

std::vector<fleet::FleetJob> JobsFromTrace(const fleet::Trace& trace, bool replay,
                                           std::map<std::string, std::int64_t>* left_out,
                                           bool cpu_only_jobs, std::vector<std::size_t>* kept) {
  std::vector<fleet::FleetJob> jobs;
  jobs.reserve(trace.jobs.size());
  for (std::size_t i = 0; i < trace.jobs.size(); ++i) {
    const fleet::JobRecord& r = trace.jobs[i];
    if (!cpu_only_jobs && (r.gpus <= 0 || r.GpuMilli() <= 0)) {
      ++(*left_out)["CPU-only"];
      continue;
    }
    if (trace.records_start_times && !r.start_time) {
      ++(*left_out)["never started"];
      continue;
    }
    const std::optional<Seconds> submit = r.submit_time ? r.submit_time : r.start_time;
    if (!submit) {
      ++(*left_out)["no time"];
      continue;
    }
    std::optional<Seconds> duration = r.duration;
    if (!duration && r.end_time && r.start_time) duration = *r.end_time - *r.start_time;
    if (!duration) {
      ++(*left_out)["no duration"];
      continue;
    }
    fleet::FleetJob j;
    j.id = r.id;
    j.submit = *submit;
    j.release = replay && r.start_time ? *r.start_time : *submit;
    j.work = *duration;
    j.gpus = std::max(0, r.gpus);
    j.gpu_milli = r.gpus > 0 && r.gpu_milli > 0 ? r.gpu_milli : 1000;
    jobs.push_back(std::move(j));
    if (kept != nullptr) kept->push_back(i);
  }
  return jobs;
}

Result<FleetScenario> ParseFleetScenario(std::string_view text, const std::string& file,
                                         const catalog::Catalog& cat,
                                         const FleetLoadOptions& options) {
  AIF_ASSIGN_OR_RETURN(YamlDocument doc, YamlDocument::Parse(text, file));
  const YAML::Node& root = doc.root();
  AIF_RETURN_IF_ERROR(
      doc.CheckKeys(root, "",
                    {"name", "description", "sites", "wan", "failures", "maintenance", "workload",
                     "scheduler", "seed", "horizon", "bin", "las_threshold", "sources"}));
  FleetScenario s;
  s.file = file;
  if (root["name"]) {
    AIF_ASSIGN_OR_RETURN(s.name, doc.String(root, "name", "name"));
  }
  if (root["description"]) {
    AIF_RETURN_IF_ERROR(doc.String(root, "description", "description").status());
  }
  if (!root["sites"]) return doc.Error(root, "sites", "missing required key");
  std::vector<std::string> names;
  AIF_RETURN_IF_ERROR(ReadSites(doc, root["sites"], &s, &names));
  if (root["wan"]) AIF_RETURN_IF_ERROR(ReadWan(doc, root["wan"], names, &s));
  if (root["failures"]) AIF_RETURN_IF_ERROR(ReadFailures(doc, root["failures"], cat, &s));
  if (const YAML::Node m = root["maintenance"]) {
    AIF_RETURN_IF_ERROR(doc.CheckKeys(m, "maintenance", {"interval", "duration"}));
    AIF_ASSIGN_OR_RETURN(double iv,
                         doc.Quantity(m, "interval", "maintenance.interval", Dimension::kSeconds));
    AIF_ASSIGN_OR_RETURN(double d,
                         doc.Quantity(m, "duration", "maintenance.duration", Dimension::kSeconds));
    if (!(iv > 0)) return doc.Error(m["interval"], "maintenance.interval", "must be positive");
    s.spec.maintenance.interval = Seconds(iv);
    s.spec.maintenance.duration = Seconds(d);
  }
  if (root["scheduler"]) {
    AIF_ASSIGN_OR_RETURN(s.options.scheduler, doc.String(root, "scheduler", "scheduler"));
    const std::vector<std::string> known = fleet::PolicyNames();
    if (std::find(known.begin(), known.end(), s.options.scheduler) == known.end()) {
      return doc.Error(root["scheduler"], "scheduler",
                       fmt::format("unknown scheduler '{}'{}", s.options.scheduler,
                                   DidYouMean(s.options.scheduler, known)));
    }
  }
  if (root["seed"]) {
    AIF_ASSIGN_OR_RETURN(long long seed, doc.Integer(root, "seed", "seed", 0, 1LL << 62));
    s.options.seed = static_cast<std::uint64_t>(seed);
  }
  if (root["horizon"]) {
    AIF_ASSIGN_OR_RETURN(double h, doc.Quantity(root, "horizon", "horizon", Dimension::kSeconds));
    s.options.horizon = Seconds(h);
  }
  if (root["bin"]) {
    AIF_ASSIGN_OR_RETURN(double b, doc.Quantity(root, "bin", "bin", Dimension::kSeconds));
    if (!(b > 0)) return doc.Error(root["bin"], "bin", "must be positive");
    s.options.bin = Seconds(b);
  }
  if (root["las_threshold"]) {
    AIF_ASSIGN_OR_RETURN(s.options.las_threshold_gpu_seconds,
                         doc.NumberWithUnit(root, "las_threshold", "las_threshold", "GPU-h"));
    s.options.las_threshold_gpu_seconds *= 3600;
  }
  const YAML::Node w = root["workload"];
  if (!w) return doc.Error(root, "workload", "missing required key");
  AIF_RETURN_IF_ERROR(doc.CheckKeys(w, "workload", {"trace", "synthetic", "training"}));
  if (w["trace"]) AIF_RETURN_IF_ERROR(ReadTrace(doc, w["trace"], options, &s));
  if (w["synthetic"]) AIF_RETURN_IF_ERROR(ReadSynthetic(doc, w["synthetic"], s.options.seed, &s));
  if (w["training"]) AIF_RETURN_IF_ERROR(ReadTraining(doc, w["training"], cat, &s));
  if (root["sources"]) {
    const YAML::Node src = root["sources"];
    if (!src.IsMap()) return doc.Error(src, "sources", "expected a map of key path to citation");
    for (const auto& kv : src) {
      AIF_ASSIGN_OR_RETURN(std::string v,
                           doc.String(kv.second, JoinPath("sources", kv.first.Scalar())));
      s.sources[kv.first.Scalar()] = v;
    }
  }
  return s;
}

Result<FleetScenario> LoadFleetScenarioFile(const std::string& path, const catalog::Catalog& cat,
                                            const FleetLoadOptions& options) {
  AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, YamlLimits().max_bytes));
  return ParseFleetScenario(text, path, cat, options);
}

}  // namespace aif::config
