// `aifactory fleet SCENARIO`: simulate a fleet scenario (sites, WAN, failures, maintenance, a
// scheduler and a workload) and write fleet.json and fleet.html. With --seeds N it runs seeds
// seed .. seed+N-1 and prints the spread of interruptions and effective training time.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/fleet_scenario.h"
#include "aifactory/fleet/fleet_sim.h"
#include "aifactory/fleet/scheduler.h"
#include "aifactory/report/fleet_report.h"
#include "aifactory/train/goodput.h"
#include "subcommand.h"

namespace aif::cli {
namespace {

struct FleetArgs {
  std::string scenario;
  std::string out;
  std::string scheduler;
  long long seed = -1;
  int seeds = 1;
  bool refuse_bad_rows = false;
};

struct Spread {
  double mean = 0, min = 0, max = 0;
};

Spread SpreadOf(const std::vector<double>& v) {
  Spread s;
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

std::int64_t Unexpected(const fleet::FleetResult& r) {
  std::int64_t n = 0;
  for (const auto& [cause, count] : r.interruptions_by_cause)
    if (cause != "planned maintenance" && cause != "preemption") n += count;
  return n;
}

// Useful training time over elapsed time of job `index` (the Llama 3 paper's "effective training
// time"): its kept compute over its GPUs x (finish, or the end of the run, - submit).
double Effective(const fleet::FleetResult& r, const fleet::FleetJob& job, std::size_t index) {
  if (index >= r.jobs_out.size()) return 0;
  const fleet::JobOutcome& o = r.jobs_out[index];
  const double end = o.end >= 0 ? o.end : r.end_time;
  const double elapsed = end - job.submit.value();
  return elapsed > 0 ? o.goodput_gpu_seconds / (job.gpus * elapsed) : 0;
}

int RunFleetCommand(const FleetArgs& a, std::ostream& out, std::ostream& err) {
  auto cat = config::LoadBuiltinCatalog();
  if (!cat.ok()) return Fail(err, cat.status());
  config::FleetLoadOptions lo;
  lo.skip_bad_rows = !a.refuse_bad_rows;
  auto sc = config::LoadFleetScenarioFile(a.scenario, *cat, lo);
  if (!sc.ok()) return Fail(err, sc.status());
  fleet::FleetOptions options = sc->options;
  if (!a.scheduler.empty()) options.scheduler = a.scheduler;
  if (a.seed >= 0) options.seed = static_cast<std::uint64_t>(a.seed);

  report::FleetReportInputs in;
  in.name = sc->name;
  in.file = a.scenario;
  in.skipped_rows = sc->skipped_rows;
  for (const auto& [k, v] : sc->jobs_left_out) in.left_out.emplace_back(k, v);
  in.workload.emplace_back("jobs", std::to_string(sc->jobs.size()));
  for (const config::FleetTrainingJob& t : sc->training) {
    in.workload.emplace_back(
        "training job " + t.name,
        fmt::format("{} GPUs, step {:.3f} s x {:.0f} steps = {:.1f} days of compute ({}); "
                    "across two sites x{:.3f}",
                    t.gpus, t.step_time_s, t.steps, t.compute_s / 86400, t.scenario,
                    t.cross_site_slowdown));
  }
  // The checkpoint interval each automatic job gets, against Young's and Daly's formulas.
  // Large jobs (1,024 GPUs or more) and the first small one.
  bool small_shown = false;
  for (const fleet::FleetJob& j : sc->jobs) {
    if (j.checkpoint_interval.value() >= 0 || sc->spec.failures.empty()) continue;
    if (j.gpus < 1024 && small_shown) continue;
    small_shown = small_shown || j.gpus < 1024;
    const Seconds mtbf = fleet::JobMtbf(sc->spec.failures, j.gpus);
    const double picked = fleet::AutoCheckpointInterval(j, sc->spec.failures).value();
    const double young = train::YoungInterval(j.checkpoint_write, mtbf).value();
    const double daly = train::DalyInterval(j.checkpoint_write, mtbf).value();
    in.workload.emplace_back(
        "checkpoint interval " + j.id,
        fmt::format("{:.1f} s (job MTBF {:.0f} s, write {:.2f} s; Young {:.1f} s, {:+.2f} %; "
                    "Daly {:.1f} s)",
                    picked, mtbf.value(), j.checkpoint_write.value(), young,
                    (picked / young - 1) * 100, daly));
  }
  for (int i = 0; i < a.seeds; ++i) {
    fleet::FleetOptions o = options;
    o.seed = options.seed + static_cast<std::uint64_t>(i);
    o.keep_jobs = true;
    auto r = fleet::RunFleet(sc->spec, sc->jobs, o);
    if (!r.ok()) return Fail(err, r.status());
    in.seeds.push_back(std::move(r).value());
  }
  const fleet::FleetResult first = in.seeds.front();
  if (a.seeds == 1) in.seeds.clear();

  out << fmt::format("{}: {} GPUs on {} sites, {} jobs, scheduler {}, seed {}\n", sc->name,
                     first.total_gpus, sc->spec.sites.size(), sc->jobs.size(), first.scheduler,
                     first.seed);
  for (const auto& [k, v] : in.workload) out << "  " << k << ": " << v << "\n";
  if (!sc->skipped_rows.empty()) {
    out << fmt::format("  trace rows skipped: {} (first: {})\n", sc->skipped_rows.size(),
                       sc->skipped_rows.front());
  }
  for (const auto& [k, v] : sc->jobs_left_out) out << fmt::format("  left out ({}): {}\n", k, v);
  out << fmt::format(
      "  finished {} of {}, refused {}; utilization {:.2f} %; completion mean {:.2f} h (p90 "
      "{:.2f}); queueing delay mean {:.2f} h (p90 {:.2f})\n",
      first.jobs_finished, first.jobs, first.jobs_refused, first.utilization * 100,
      first.completion_time.mean / 3600, first.completion_time.p90 / 3600,
      first.queueing_delay.mean / 3600, first.queueing_delay.p90 / 3600);
  out << fmt::format(
      "  GPU-hours: busy {:.0f}, goodput {:.0f}, lost {:.0f}, checkpoints {:.0f}, "
      "WAN slowdown {:.0f}, down {:.0f}\n",
      first.busy_gpu_hours, first.goodput_gpu_hours, first.lost_gpu_hours,
      first.checkpoint_gpu_hours, first.wan_slowdown_gpu_hours, first.down_gpu_hours);
  for (const auto& [cause, n] : first.interruptions_by_cause)
    out << fmt::format("  interruptions, {}: {}\n", cause, n);

  if (!in.seeds.empty()) {
    std::vector<double> unexpected, planned, util;
    for (const fleet::FleetResult& r : in.seeds) {
      unexpected.push_back(static_cast<double>(Unexpected(r)));
      const auto it = r.interruptions_by_cause.find("planned maintenance");
      planned.push_back(it == r.interruptions_by_cause.end() ? 0.0
                                                             : static_cast<double>(it->second));
      util.push_back(r.utilization);
    }
    const Spread u = SpreadOf(unexpected), p = SpreadOf(planned), ut = SpreadOf(util);
    out << fmt::format(
        "  over {} seeds: unexpected interruptions mean {:.1f} (min {:.0f}, max "
        "{:.0f}); planned mean {:.1f} (min {:.0f}, max {:.0f}); utilization mean "
        "{:.2f} % (min {:.2f}, max {:.2f})\n",
        in.seeds.size(), u.mean, u.min, u.max, p.mean, p.min, p.max, ut.mean * 100, ut.min * 100,
        ut.max * 100);
    for (std::size_t j = 0; j < sc->jobs.size() && j < 20; ++j) {
      if (sc->jobs[j].gpus < 1024) continue;  // large training jobs only
      std::vector<double> eff;
      for (const fleet::FleetResult& r : in.seeds) eff.push_back(Effective(r, sc->jobs[j], j));
      const Spread e = SpreadOf(eff);
      out << fmt::format(
          "  effective training time of {}: mean {:.2f} % (min {:.2f}, max {:.2f})\n",
          sc->jobs[j].id, e.mean * 100, e.min * 100, e.max * 100);
    }
  }
  if (!a.out.empty()) {
    Status s = report::WriteFleetReport(first, in, a.out);
    if (!s.ok()) return Fail(err, s);
    out << fmt::format("  wrote {}/{} and {}/{}\n", a.out, report::kFleetJsonFile, a.out,
                       report::kFleetHtmlFile);
  }
  return 0;
}

}  // namespace

Subcommand AddFleetCommand(CLI::App& app) {
  auto args = std::make_shared<FleetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fleet", "Simulate a fleet: sites, failures, checkpoints, power, and a scheduler");
  cmd->add_option("scenario", args->scenario, "Fleet scenario YAML (data/scenarios/fleet-*.yaml)")
      ->required();
  cmd->add_option("--out", args->out, "Write fleet.json and fleet.html into this directory");
  cmd->add_option("--seed", args->seed, "Random seed (default: the scenario's)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seeds", args->seeds, "Run this many seeds and print the spread")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--scheduler", args->scheduler, "fifo | sjf | easy | las | replay")
      ->check(CLI::IsMember(fleet::PolicyNames()));
  cmd->add_flag("--refuse-bad-rows", args->refuse_bad_rows,
                "Refuse a trace at its first bad row instead of skipping bad rows");
  return {cmd, [args](std::ostream& out, std::ostream& err) {
            return RunFleetCommand(*args, out, err);
          }};
}

}  // namespace aif::cli
