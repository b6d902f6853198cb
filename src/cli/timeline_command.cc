// `aifactory timeline [SCENARIO]`: one training iteration of the scenario's best plan (or the plan
// it fixes) as a discrete-event simulation, with its communication on the factory's network,
// against the analytic step model; critical path, utilization and a Chrome trace.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <memory>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/scenario.h"
#include "aifactory/core/file.h"
#include "aifactory/core/units.h"
#include "aifactory/timeline/iteration.h"
#include "aifactory/train/plan_search.h"
#include "subcommand.h"

namespace aif::cli {
namespace {

struct TimelineOptions {
  std::string scenario;
  std::string trace;
  std::string straggler;  // STAGE:FACTOR
  int straggler_replica = 0;
  bool replicate = false;
  bool no_network = false;
  bool trace_all = false;
  int radix = 0;
  int threads = 1;
  std::vector<int> failed_links;
  double wan_scale = 1;
  std::string routing;  // empty: the scenario's cluster.routing
};

// "3:1.2" -> stage 3, factor 1.2.
Result<std::pair<int, double>> ParseStraggler(const std::string& text) {
  const auto colon = text.find(':');
  auto bad = [&] {
    return InvalidArgument(fmt::format(
        "--straggler '{}': expected STAGE:FACTOR, a pipeline stage and a compute-time factor > 0 "
        "(e.g. 3:1.2)",
        text));
  };
  if (colon == std::string::npos) return bad();
  int stage = -1;
  const std::string s = text.substr(0, colon), f = text.substr(colon + 1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), stage);
  if (ec != std::errc() || p != s.data() + s.size() || stage < 0) return bad();
  double factor = 0;
  try {
    std::size_t used = 0;
    factor = std::stod(f, &used);
    if (used != f.size()) return bad();
  } catch (const std::exception&) {
    return bad();
  }
  if (!(factor > 0) || !std::isfinite(factor)) return bad();
  return std::make_pair(stage, factor);
}

std::string Percent(double a, double b) { return fmt::format("{:+.2f}%", 100 * (a / b - 1)); }

void PrintRun(const std::string& label, const timeline::IterationResult& r, double analytic,
              std::ostream& out) {
  out << fmt::format(
      "{:<28} {:.4f} s ({} vs the step model); pipeline {:.4f} s, DP exposed "
      "{:.4f} s, optimizer {:.4f} s\n",
      label, r.iteration_time.value(), Percent(r.iteration_time.value(), analytic),
      r.pipeline_time.value(), r.dp_time.value(), r.optimizer_time.value());
}

void PrintDetails(const timeline::IterationResult& r, std::ostream& out) {
  const auto& cp = r.critical_path;
  out << fmt::format("critical path: {} tasks, ending on replica {}:", cp.events.size(),
                     cp.replica);
  for (const auto& [kind, t] : cp.time_by_kind) {
    out << fmt::format(" {} {:.4f} s ({:.1f}%);", timeline::TaskKindName(kind), t.value(),
                       100 * t.value() / r.iteration_time.value());
  }
  out << "\n";
  const int shown = r.straggler_replica >= 0 ? r.straggler_replica : 0;
  out << fmt::format("stage utilization (replica {}), busy share of the iteration:\n", shown);
  for (const auto& u : r.utilization) {
    out << fmt::format("  stage {:>3}: compute {:5.1f}%  comm {:5.1f}%\n", u.stage, 100 * u.compute,
                       100 * u.comm);
  }
  if (!r.network) return;
  const auto& n = *r.network;
  out << fmt::format(
      "network: {} GPUs, {} nodes, {} links, {}-tier rail-optimized fat-tree of radix {}, {} "
      "routing; {} flows, {} rate recomputations ({} flow-rate updates), {} des events; {} of {} replicas "
      "simulated{}\n",
      n.gpus, n.nodes, n.links, n.tiers, n.radix, net::RoutingPolicyName(n.routing), n.flows, n.recomputations, n.flow_rate_updates,
      r.des_events, n.replicas_simulated, n.replicas,
      n.replicas_simulated < n.replicas
          ? " (--replicate: one pipeline replica and one DP group per stage, the rest taken "
            "as identical)"
          : " (the full factory)");
  for (const std::string& l : n.failed_links) out << fmt::format("failed link: {}\n", l);
  out << fmt::format(
      "bytes: {} started, {} delivered; busiest link at {:.1f}% of capacity while "
      "busy; DP reduce-scatter on the network {:.4f} s (longest stage)\n",
      FormatSi(n.bytes_started.value(), "B"), FormatSi(n.bytes_delivered.value(), "B"),
      100 * n.max_link_load, n.dp_comm_simulated.value());
  out << "link utilization over the iteration (bytes / capacity x time):\n";
  for (const auto& t : n.tiers_usage) {
    out << fmt::format("  {:<11} {:>8} links  mean {:5.1f}%  max {:5.1f}%  carried {}\n", t.tier,
                       t.links, 100 * t.mean_utilization, 100 * t.max_utilization,
                       FormatSi(t.carried.value(), "B"));
  }
}

int RunTimeline(const TimelineOptions& o, std::ostream& out, std::ostream& err) {
  auto cat = config::LoadBuiltinCatalog();
  if (!cat.ok()) return Fail(err, cat.status());
  auto scenario = o.scenario.empty() ? config::LoadDefaultScenario(*cat)
                                     : config::LoadScenarioFile(o.scenario, *cat);
  if (!scenario.ok()) return Fail(err, scenario.status());
  const train::TrainingJob& job = scenario->job;
  const train::Cluster& cluster = scenario->cluster;
  train::ParallelPlan plan;
  std::string origin;
  if (scenario->plan) {
    plan = *scenario->plan;
    origin = "from the scenario";
  } else {
    train::SearchOptions search = scenario->RunInputs().search;
    search.threads = o.threads;
    auto found = train::SearchPlans(job, cluster, search);
    if (!found.ok()) return Fail(err, found.status());
    if (found->best.empty()) {
      return Fail(err, NotFound("no plan fits this scenario (see `aifactory plan`)"));
    }
    plan = found->best.front().plan;
    origin = fmt::format("best of {} plans searched", found->evaluated);
  }
  timeline::IterationOptions options;
  if (!o.straggler.empty()) {
    auto s = ParseStraggler(o.straggler);
    if (!s.ok()) return Fail(err, s.status());
    if (s->first >= plan.pp) {
      return Fail(err, InvalidArgument(fmt::format("--straggler: stage {} is not in the plan's "
                                                   "{} pipeline stages (0 to {})",
                                                   s->first, plan.pp, plan.pp - 1)));
    }
    options.stage_compute_scale.assign(static_cast<std::size_t>(plan.pp), 1.0);
    options.stage_compute_scale[static_cast<std::size_t>(s->first)] = s->second;
    options.straggler_replica = o.straggler_replica;
  }
  options.switch_radix = o.radix;
  options.failed_links = o.failed_links;
  options.wan_capacity_scale = o.wan_scale;
  if (!o.routing.empty()) {
    options.routing = o.routing == "adaptive" ? net::RoutingPolicy::kAdaptive : net::RoutingPolicy::kEcmp;
  }

  if (!scenario->name.empty()) out << scenario->name << "\n";
  out << fmt::format("{} on {} x {} ({}), seq {} gbs {}\n", job.model.id, cluster.gpus,
                     cluster.accelerator.id, cluster.system.id, job.seq_len, job.global_batch);
  out << fmt::format("plan: {} ({})\n", plan.ToString(), origin);

  auto analytic_run = timeline::SimulateIteration(job, cluster, plan, options);
  if (!analytic_run.ok()) return Fail(err, analytic_run.status());
  const double analytic = analytic_run->estimate.step_time.value();
  out << fmt::format(
      "{} pipeline stages x {} virtual, {} micro-batches, {} data-parallel "
      "replicas{}\n",
      analytic_run->stages, analytic_run->virtual_stages, analytic_run->micro_batches,
      analytic_run->replicas,
      analytic_run->straggler_replica >= 0
          ? fmt::format("; straggler: replica {} stage {} computes x{}", options.straggler_replica,
                        o.straggler.substr(0, o.straggler.find(':')),
                        o.straggler.substr(o.straggler.find(':') + 1))
          : "");
  out << fmt::format("{:<28} {:.4f} s\n", "step model (analytic):", analytic);
  PrintRun("timeline, step-model comm:", *analytic_run, analytic, out);
  const timeline::IterationResult* shown = &*analytic_run;
  Result<timeline::IterationResult> net_run = Internal("not run");
  if (!o.no_network) {
    options.network = true;
    options.replicate = o.replicate;
    net_run = timeline::SimulateIteration(job, cluster, plan, options);
    if (!net_run.ok()) return Fail(err, net_run.status());
    PrintRun(o.replicate ? "timeline, network (replic.):" : "timeline, network:", *net_run,
             analytic, out);
    shown = &*net_run;
  }
  PrintDetails(*shown, out);
  if (!o.trace.empty()) {
    const std::string json = timeline::ChromeTraceJson(*shown, o.trace_all);
    Status s = WriteFileAtomic(o.trace, json);
    if (!s.ok()) return Fail(err, s);
    out << fmt::format("trace: {} ({} run; open in Perfetto or chrome://tracing)\n", o.trace,
                       o.no_network ? "step-model comm" : "network");
  }
  return 0;
}

}  // namespace

Subcommand AddTimelineCommand(CLI::App& app) {
  auto o = std::make_shared<TimelineOptions>();
  auto* cmd = app.add_subcommand(
      "timeline",
      "Simulate one training iteration of a scenario on its network: time, critical path, "
      "utilization, Chrome trace");
  cmd->add_option("scenario", o->scenario, "Scenario YAML file (default: the built-in one)");
  cmd->add_option("--trace", o->trace, "Write a Chrome trace (Perfetto, chrome://tracing) here");
  cmd->add_option("--straggler", o->straggler,
                  "STAGE:FACTOR: one slow GPU makes its stage's compute FACTOR times as long");
  cmd->add_option("--straggler-replica", o->straggler_replica,
                  "Data-parallel replica of the straggler (default 0)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--replicate", o->replicate,
                "Simulate one pipeline replica and one DP group per stage and take the others as "
                "identical (faster; reported)");
  cmd->add_flag("--no-network", o->no_network,
                "Only the run with the step model's communication times (no topology)");
  cmd->add_flag("--trace-all-replicas", o->trace_all,
                "Trace every replica (default: replica 0, the straggler's and the last to end)");
  cmd->add_option("--radix", o->radix,
                  "Fat-tree switch radix (default 64, 128 where 64 is "
                  "too small)")
      ->check(CLI::Range(4, 1024));
  cmd->add_option("--fail-link", o->failed_links,
                  "Network: take this link (id in the built topology) down before the iteration; "
                  "flows route around it (repeatable)");
  cmd->add_option("--wan-scale", o->wan_scale,
                  "Network: usable share of every WAN link's bandwidth (a degraded WAN, e.g. 0.5)")
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--routing", o->routing,
                  "Network: how flows pick among equal-cost paths: adaptive (by the flows on the "
                  "links, as InfiniBand's adaptive routing) or ecmp (static hashing); default: "
                  "the scenario's cluster.routing, else adaptive")
      ->check(CLI::IsMember({"adaptive", "ecmp"}));
  cmd->add_option("--threads", o->threads, "Worker threads for the plan search")
      ->check(CLI::Range(1, 256));
  return {cmd, [o](std::ostream& out, std::ostream& err) { return RunTimeline(*o, out, err); }};
}

}  // namespace aif::cli
