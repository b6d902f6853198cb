#include "commands.h"
#include "subcommand.h"

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/csv.h"
#include "aifactory/config/scenario.h"
#include "aifactory/config/validation_csv.h"
#include "aifactory/core/file.h"
#include "aifactory/core/strings.h"
#include "aifactory/core/units.h"
#include "aifactory/report/factory_report.h"
#include "aifactory/report/json_report.h"
#include "aifactory/train/factory_run.h"
#include "aifactory/train/plan_search.h"
#include "aifactory/train/step_model.h"
#include "aifactory/train/validation.h"

namespace aif::cli {

int Fail(std::ostream& err, const Status& s) {
  err << "error: " << s.message() << "\n";
  return 1;
}

namespace {

Result<catalog::Catalog> LoadCatalog(const std::string& calibration_file) {
  AIF_ASSIGN_OR_RETURN(catalog::Catalog cat, config::LoadBuiltinCatalog());
  if (!calibration_file.empty()) {
    AIF_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(calibration_file, 16 << 20));
    catalog::Catalog overrides;
    AIF_RETURN_IF_ERROR(config::LoadCatalogText(text, calibration_file, &overrides));
    // Kernels the file measured by shape join the catalog first, so that its calibrations can name them.
    for (const auto& [id, shapes] : overrides.kernel_shapes()) {
      AIF_RETURN_IF_ERROR(cat.Add(*shapes).WithContext(calibration_file + ": "));
    }
    for (const auto& [id, k] : overrides.efficiencies()) {
      AIF_RETURN_IF_ERROR(cat.FindAccelerator(id).status().WithContext(calibration_file + ": "));
      AIF_RETURN_IF_ERROR(cat.SetEfficiency(k).WithContext(calibration_file + ": "));
    }
  }
  return cat;
}

// The named scenario file, or the built-in default when `path` is empty.
Result<config::Scenario> LoadScenario(const std::string& path) {
  AIF_ASSIGN_OR_RETURN(catalog::Catalog cat, LoadCatalog(""));
  return path.empty() ? config::LoadDefaultScenario(cat) : config::LoadScenarioFile(path, cat);
}

// The ranking of a run: the --rank-by flag when given (CLI11 has checked it), else the scenario's.
train::RankBy ResolveRankBy(const std::string& flag, train::RankBy from_scenario) {
  if (flag.empty()) return from_scenario;
  auto r = train::ParseRankBy(flag);
  return r.ok() ? *r : from_scenario;
}

// " $1.23M" for a cost line, or "" when the scenario gives no prices.
std::string Millions(const train::TrainingCost& c) {
  return c.total_usd > 0 ? fmt::format("  ${:.3g}M", c.total_usd / 1e6) : "";
}

struct EstimateOptions {
  bool explain = false;
  std::string json_path;
  std::string out_dir;  // run: summary.json, plans.csv and report.html go here
};

// "<model> on <gpus> x <accelerator> (<system>)[ over N sites (WAN ...)], <precision> seq <s> gbs <b>"
std::string JobHeader(const train::TrainingJob& job, const train::Cluster& cluster) {
  std::string sites;
  if (cluster.sites > 1) {
    sites = fmt::format(" over {} sites (WAN {} per site, {:.3g} ms one way)", cluster.sites,
                        FormatSi(cluster.wan_bandwidth.value(), "B/s"), cluster.wan_latency.value() * 1e3);
  }
  // The MoE dispatcher where it is not the default (training.moe_dispatcher).
  std::string moe = job.model.moe && job.moe_dispatcher != train::MoeDispatcher::kFlex
                        ? fmt::format(", {} dispatcher", train::MoeDispatcherName(job.moe_dispatcher))
                        : "";
  // Token dropping where it is on (training.moe_capacity_factor).
  if (job.model.moe && job.DropsTokens()) {
    moe += fmt::format(", tokens dropped beyond capacity factor {:g}", job.moe_capacity_factor);
  }
  // Per-tensor FP8's scaling where it is not the default (training.fp8_scaling).
  const std::string scaling = job.precision == catalog::Precision::kFp8 && job.fp8_scaling != train::Fp8Scaling::kCurrent
                                  ? fmt::format(" ({} scaling)", train::Fp8ScalingName(job.fp8_scaling))
                                  : "";
  // NCCL CTA caps where any is set (training.nccl_max_ctas).
  const std::string ctas = job.nccl_max_ctas.Any()
                               ? fmt::format(", NCCL CTAs capped ({})", train::NcclCtaCapsName(job.nccl_max_ctas))
                               : "";
  return fmt::format("{} on {} x {} ({}){}, {}{} seq {} gbs {}{}{}\n", job.model.id, cluster.gpus,
                     cluster.accelerator.id, cluster.system.id, sites, catalog::PrecisionName(job.precision), scaling,
                     job.seq_len, job.global_batch, moe, ctas);
}

// One line for a plan's step: time, throughput, MFU and memory, and whether the memory fits.
std::string StepLine(const train::StepEstimate& e) {
  std::string note = !e.fits_in_memory ? train::MemoryShortfall(e) : train::MemoryMarginNote(e);
  return fmt::format("step time {:.4f} s, {:.0f} tokens/s/GPU, MFU {:.1f}%, memory {:.1f} GB / {:.1f} GB{}\n",
                     e.step_time.value(), e.tokens_per_second_per_gpu, 100 * e.mfu, e.memory_total.value() / 1e9,
                     e.memory_capacity.value() / 1e9, note.empty() ? "" : " (" + note + ")");
}

int PrintEstimate(const train::TrainingJob& job, const train::Cluster& cluster, const train::ParallelPlan& plan,
                  const EstimateOptions& opt, std::ostream& out, std::ostream& err) {
  auto e = train::EstimateStep(job, cluster, plan);
  if (!e.ok()) return Fail(err, e.status());
  out << JobHeader(job, cluster) << fmt::format("plan: {}\n", plan.ToString());
  if (opt.explain) {
    out << train::ExplainStep(*e);
  } else {
    out << StepLine(*e);
  }
  if (!opt.json_path.empty()) {
    Status s = WriteFileAtomic(opt.json_path, report::StepJson(*e, job, cluster, plan));
    if (!s.ok()) return Fail(err, s);
  }
  return 0;
}

int RunScenario(const std::string& path, const EstimateOptions& opt, int threads, const std::string& rank_by,
                std::ostream& out, std::ostream& err) {
  auto scenario = LoadScenario(path);
  if (!scenario.ok()) return Fail(err, scenario.status());
  train::FactoryRunInputs inputs = scenario->RunInputs();
  inputs.search.threads = threads;
  inputs.rank_by = ResolveRankBy(rank_by, scenario->rank_by);
  // Ranked by time the output is as it has always been; ranked by cost each size shows its cost.
  const bool by_cost = inputs.rank_by == train::RankBy::kCost;
  auto run = train::RunFactory(inputs);
  if (!run.ok()) return Fail(err, run.status());
  const auto& job = scenario->job;
  const auto& e = run->best.estimate;
  if (!scenario->name.empty()) out << scenario->name << "\n";
  out << JobHeader(job, scenario->cluster);
  out << fmt::format("plan: {}{}\n", run->best.plan.ToString(),
                     scenario->plan ? " (from the scenario)"
                                    : fmt::format(" (best of {} plans searched)", run->search.evaluated));
  if (opt.explain) {
    out << train::ExplainStep(e);
  } else {
    out << StepLine(e);
  }
  if (run->steps > 0) {
    const auto& g = run->goodput;
    out << fmt::format("time to train {:.3g} tokens: {:.0f} steps, {:.1f} days of compute, {:.1f} days elapsed\n",
                       scenario->tokens, run->steps, run->compute_time.value() / 86400, g.wall_time.value() / 86400);
    if (g.expected_interruptions > 0) {
      out << fmt::format("  failures: {:.0f} interruptions expected (job MTBF {:.2f} h); checkpoint every {:.0f} s "
                         "(Young/Daly); effective training time {:.1f}%\n",
                         g.expected_interruptions, g.job_mtbf.value() / 3600, g.checkpoint_interval.value(),
                         100 * g.effective_fraction);
    }
    for (const auto& [cause, n] : run->interruptions_by_cause) {
      out << fmt::format("    {:>8.1f}  {}\n", n, cause);
    }
    const auto& c = run->cost;
    out << fmt::format("  {:.3g} GPU-hours; {:.1f} MW facility power; {:.3g} MWh", c.gpu_hours, c.facility_power_w / 1e6,
                       c.energy_kwh / 1000);
    if (c.total_usd > 0) out << fmt::format("; ${:.3g}M (energy ${:.3g}M, capital ${:.3g}M)", c.total_usd / 1e6,
                                            c.energy_usd / 1e6, c.capex_usd / 1e6);
    if (c.co2_tonnes > 0) out << fmt::format("; {:.3g} t CO2", c.co2_tonnes);
    out << "\n";
  }
  size_t plan_width = 40;  // as wide as the longest plan, so the days line up
  for (const auto& p : run->scaling) {
    if (p.feasible) plan_width = std::max(plan_width, p.plan.ToString().size());
  }
  for (const auto& p : run->scaling) {
    if (p.feasible) {
      out << fmt::format("  scaling: {:>7} GPUs  {:<{}} {:6.1f} days  MFU {:4.1f}%{}\n", p.gpus, p.plan.ToString(),
                         plan_width, p.days_to_train, 100 * p.mfu, by_cost ? Millions(p.cost) : "");
    } else {
      out << fmt::format("  scaling: {:>7} GPUs  no plan fits\n", p.gpus);
    }
  }
  if (inputs.find_min_gpus) {
    if (run->min_cluster) {
      const auto& m = *run->min_cluster;
      out << fmt::format("  smallest cluster that holds it: {} GPUs ({}), {:.1f} days{}\n", m.gpus, m.plan.ToString(),
                         m.days_to_train,
                         by_cost && m.cost.total_usd > 0 ? fmt::format(", ${:.3g}M", m.cost.total_usd / 1e6) : "");
    } else {
      out << "  no cluster up to the largest size named holds it\n";
    }
  }
  if (run->cheapest) {
    const auto& p = *run->cheapest;
    out << fmt::format("  cheapest cluster: {} GPUs ({}), {:.1f} days, ${:.3g}M (energy ${:.3g}M, capital ${:.3g}M)\n",
                       p.gpus, p.plan.ToString(), p.days_to_train, p.cost.total_usd / 1e6, p.cost.energy_usd / 1e6,
                       p.cost.capex_usd / 1e6);
  }
  for (const auto& n : run->notes) out << "note: " << n << "\n";
  if (!opt.json_path.empty()) {
    Status st = WriteFileAtomic(opt.json_path, report::StepJson(e, job, scenario->cluster, run->best.plan));
    if (!st.ok()) return Fail(err, st);
  }
  if (!opt.out_dir.empty()) {
    Status st = report::WriteFactoryReport(*run, opt.out_dir);
    if (!st.ok()) return Fail(err, st);
    err << fmt::format("report written to {}/ (summary.json, plans.csv, report.html)\n", opt.out_dir);
  }
  return 0;
}

// Ranked by cost: every cluster size the scenario names (its own, `scaling`, the smallest with
// `find_min_gpus`), cheapest first, and the notes on what cost ranking can choose.
int PrintSizesByCost(const config::Scenario& scenario, int threads, std::ostream& out, std::ostream& err) {
  train::FactoryRunInputs inputs = scenario.RunInputs();
  inputs.fixed_plan.reset();  // plan searches, as it does for the table above
  inputs.search.threads = threads;
  inputs.search.top = 1;
  inputs.rank_by = train::RankBy::kCost;
  auto run = train::RunFactory(inputs);
  if (!run.ok()) return Fail(err, run.status());
  if (run->cheapest) {
    out << "\ncluster sizes, cheapest first (elapsed time with failures; energy and amortized capital):\n";
    const auto sizes = train::ClusterSizesByCost(*run);
    size_t plan_width = 44;
    for (const auto& p : sizes) plan_width = std::max(plan_width, p.plan.ToString().size());
    out << fmt::format("{:>4}  {:>7}  {:<{}} {:>8} {:>10} {:>12}\n", "rank", "GPUs", "plan", plan_width, "days",
                       "cost ($M)", "energy (MWh)");
    int rank = 0;
    for (const auto& p : sizes) {
      out << fmt::format("{:>4}  {:>7}  {:<{}} {:>8.1f} {:>10.3g} {:>12.1f}\n", ++rank, p.gpus, p.plan.ToString(),
                         plan_width, p.days_to_train, p.cost.total_usd / 1e6, p.cost.energy_kwh / 1000);
    }
  }
  out << "\n";
  for (const auto& n : run->notes) out << "note: " << n << "\n";
  return 0;
}

// Where the plan a scenario fixes stands among the searched ones: its step, how much slower than
// the best it is, and how many plans that fit are faster.
std::string ScenarioPlanRank(const train::ParallelPlan& plan, const Result<train::StepEstimate>& e,
                             const train::SearchResult& search) {
  std::string s = fmt::format("\nthe scenario's plan: {}\n", plan.ToString());
  if (!e.ok()) return s + fmt::format("  cannot be estimated: {}\n", e.status().message());
  s += "  " + StepLine(*e);
  if (!e->fits_in_memory) return s;
  if (search.best.empty()) return s;
  const double best = search.best.front().estimate.step_time.value();
  const double slower_pct = 100 * (e->step_time.value() / best - 1);
  if (search.faster == 0) {
    return s + (slower_pct < -0.05 ? fmt::format("  faster than every searched plan, whose best is {:.1f}% slower (the "
                                                 "scenario's plan lies outside the search's candidate sets or limits)\n",
                                                 100 * (best / e->step_time.value() - 1))
                                   : std::string("  as fast as the best searched plan\n"));
  }
  return s + fmt::format("  {:.1f}% slower than the best searched plan; {} of the {} plans that fit are faster\n",
                         slower_pct, search.faster, search.feasible);
}

int Plan(const std::string& path, int threads, int top, bool explain, const std::string& rank_by, std::ostream& out,
         std::ostream& err) {
  auto scenario = LoadScenario(path);
  if (!scenario.ok()) return Fail(err, scenario.status());
  const bool by_cost = ResolveRankBy(rank_by, scenario->rank_by) == train::RankBy::kCost;
  train::SearchOptions options = scenario->search;
  options.threads = threads;
  options.top = top;
  // The scenario's own plan, if it fixes one, is ranked among the searched plans.
  std::optional<Result<train::StepEstimate>> chosen;
  if (scenario->plan) {
    chosen = train::EstimateStep(scenario->job, scenario->cluster, *scenario->plan);
    if (chosen->ok() && (*chosen)->fits_in_memory) options.count_faster_than_s = (*chosen)->step_time.value();
  }
  auto result = train::SearchPlans(scenario->job, scenario->cluster, options);
  if (!result.ok()) return Fail(err, result.status());
  const auto& job = scenario->job;
  out << JobHeader(job, scenario->cluster);
  // Wall time goes to stderr: standard output is byte-identical for the same input.
  out << fmt::format("searched {} plans; {} fit in memory\n", result->evaluated, result->feasible);
  if (std::string limits = train::SearchLimits(options); !limits.empty()) {
    out << "limited by the scenario: " << limits << "\n";
  }
  if (options.ep_overlap || options.cuda_graphs || options.cuda_graph_modules != 0) {
    std::vector<std::string> settings;
    if (options.ep_overlap) settings.push_back("EP all-to-all overlapped with compute (ep-overlap) where a plan allows it");
    if (options.cuda_graphs) settings.push_back("full-iteration CUDA graphs (cuda-graphs)");
    if (options.cuda_graph_modules != 0) {
      settings.push_back(fmt::format("per-layer CUDA graphs of {} (graphs=...)",
                                     train::CudaGraphModulesName(options.cuda_graph_modules)));
    }
    out << fmt::format("framework settings from the scenario: {}\n", fmt::join(settings, "; "));
  }
  if (scenario->cluster.memory_reserve.value() > 0) {
    out << fmt::format("{:.1f} GB of each GPU's HBM held in reserve (cluster.memory_reserve)\n",
                       scenario->cluster.memory_reserve.value() / 1e9);
  }
  out << "\n";
  err << fmt::format("search took {:.3f} s ({:.0f} plans/s, {} threads)\n", result->seconds,
                     result->evaluated / std::max(result->seconds, 1e-9), threads);
  double steps = scenario->tokens > 0 ? scenario->tokens / (1.0 * job.global_batch * job.seq_len) : 0;
  // Ranked by cost with prices: each plan's cost for the whole run on this cluster, failures included.
  const bool cost_column = by_cost && steps > 0 && train::HasPrices(scenario->costs);
  const train::FactoryRunInputs inputs = scenario->RunInputs();
  // The plan column is as wide as the longest plan shown (at least 44), so the columns stay aligned.
  size_t plan_width = 44;
  for (const auto& r : result->best) plan_width = std::max(plan_width, r.plan.ToString().size());
  out << fmt::format("{:>4}  {:<{}} {:>10} {:>10} {:>7} {:>9}{}{}\n", "rank", "plan", plan_width, "step (s)",
                     "tok/s/GPU", "MFU %", "mem (GB)", steps > 0 ? "  compute days" : "", cost_column ? "  cost ($M)" : "");
  int rank = 0;
  bool tight = false;  // a plan shown leaves less HBM free than the memory model's measured error
  for (const auto& r : result->best) {
    const auto& e = r.estimate;
    const bool within_error = train::MemoryWithinModelError(e);
    tight |= within_error;
    out << fmt::format("{:>4}  {:<{}} {:>10.4f} {:>10.0f} {:>7.1f} {:>8.1f}{}", ++rank, r.plan.ToString(), plan_width,
                       e.step_time.value(), e.tokens_per_second_per_gpu, 100 * e.mfu, e.memory_total.value() / 1e9,
                       within_error ? "*" : " ");
    if (steps > 0) out << fmt::format("  {:>14.1f}", steps * e.step_time.value() / 86400);
    if (cost_column) {
      const train::ScalingPoint whole_run =
          train::EvaluatePlan(inputs, scenario->cluster, r, train::StepsToTrain(job, scenario->tokens));
      out << fmt::format("  {:>10.3g}", whole_run.cost.total_usd / 1e6);
    }
    out << "\n";
  }
  if (tight) {
    out << fmt::format(
        "* memory within {:.0f}% of the {:.1f} GB of HBM a plan may use, the memory model's largest error on "
        "measured peaks (docs/validation.md): such a plan may not fit; cluster.memory_reserve holds headroom back\n",
        100 * train::kMemoryModelError, result->best.front().estimate.memory_capacity.value() / 1e9);
  }
  if (chosen) out << ScenarioPlanRank(*scenario->plan, *chosen, *result);
  if (explain && !result->best.empty()) out << "\nbest plan:\n" << train::ExplainStep(result->best.front().estimate);
  out << "\nrejected:\n";
  std::vector<std::pair<long long, std::string>> reasons;
  for (const auto& [why, n] : result->rejected) reasons.emplace_back(-n, why);
  std::sort(reasons.begin(), reasons.end());
  for (const auto& [n, why] : reasons) out << fmt::format("  {:>8}  {}\n", -n, why);
  if (result->best.empty()) return 1;
  return by_cost ? PrintSizesByCost(*scenario, threads, out, err) : 0;
}

// For every predicted row that gives its plan: the published plan against the searched best.
void CompareSearch(const std::vector<train::ValidationRow>& rows, const std::string& explain_row, std::ostream& out) {
  // Two spaces at least after each plan: plans are words separated by single spaces.
  // rank: 1 + the searched plans that fit and beat the published one, of all that fit.
  out << fmt::format("\n{:<8} {:<14} {:<16} {:<42}  {:<42}  {:>7} {:>7} {:>13}\n", "row_id", "accelerator", "model",
                     "published plan", "searched best", "gain %", "host %", "rank");
  int compared = 0, within = 0;
  for (const auto& r : rows) {
    if (!r.ok || !r.input) continue;
    if (!explain_row.empty() && r.row_id != explain_row) continue;
    if (!r.input->micro_batch_given) {
      out << fmt::format("{:<8} {:<14} {:<16} not compared: the row states no micro-batch, so it gives no full plan\n",
                         r.row_id, r.accelerator_id, r.input->job.model.id);
      continue;
    }
    auto c = train::CompareWithSearch(*r.input);
    if (!c.ok()) {
      out << fmt::format("{:<8} {:<14} {:<16} {}\n", r.row_id, r.accelerator_id, r.input->job.model.id, c.status().message());
      continue;
    }
    ++compared;
    if (c->GainPct() <= 15) ++within;
    out << fmt::format("{:<8} {:<14} {:<16} {:<42}  {:<42}  {:>7.1f} {:>7.1f} {:>13}\n", r.row_id, r.accelerator_id,
                       r.input->job.model.id, c->published.ToString(), c->searched.ToString(), c->GainPct(),
                       c->PublishedHostPct(), fmt::format("{}/{}", c->faster + 1, c->feasible));
    if (!explain_row.empty()) {
      out << "\npublished plan " << c->published.ToString() << ":\n" << train::ExplainStep(c->published_estimate);
      out << "\nsearched best " << c->searched.ToString() << ":\n" << train::ExplainStep(c->searched_estimate);
    }
  }
  if (!explain_row.empty()) return;
  out << fmt::format("published plan within 15% of the searched best: {} of {} rows ({:.1f}%)\n", within, compared,
                     compared ? 100.0 * within / compared : 0.0);
}

int Validate(const std::string& csv, const std::string& features, const std::string& json, const std::string& calibration,
             bool quiet, bool compare_search, const std::string& explain_row, std::ostream& out, std::ostream& err) {
  auto cat = LoadCatalog(calibration);
  if (!cat.ok()) return Fail(err, cat.status());
  auto table = config::ReadCsvFile(csv);
  if (!table.ok()) return Fail(err, table.status());
  if (!features.empty()) {
    auto extra = config::ReadCsvFile(features);
    if (!extra.ok()) return Fail(err, extra.status());
    if (Status s = config::MergeColumnsByRowId(*table, *extra); !s.ok()) return Fail(err, s);
    // To stderr: the table and the JSON stay those of the rows.
    err << fmt::format("{} row{} of {} take{} columns from {}\n", extra->rows.size(), extra->rows.size() == 1 ? "" : "s",
                       csv, extra->rows.size() == 1 ? "s" : "", features);
  }
  auto rows = config::ReadValidationRows(*table, *cat);
  if (!rows.ok()) return Fail(err, rows.status());
  if (!explain_row.empty()) {
    auto it = std::find_if(rows->begin(), rows->end(), [&](const train::ValidationRow& r) { return r.row_id == explain_row; });
    if (it == rows->end()) return Fail(err, InvalidArgument(fmt::format("{}: no row with row_id '{}'", csv, explain_row)));
    train::EvaluateRow(*it);
    if (!it->ok) return Fail(err, InvalidArgument(fmt::format("{}: row {} is not predicted: {}", csv, explain_row, it->reason)));
    out << fmt::format("row {}: {} measured {:.4g}, predicted {:.4g} ({:+.1f}%)\n", it->row_id, it->metric, *it->measured,
                       it->predicted, 100.0 * (it->predicted - *it->measured) / *it->measured);
    for (const auto& a : it->assumptions) out << "  assumed: " << a << "\n";
    CompareSearch(*rows, explain_row, out);
    return 0;
  }
  for (auto& r : *rows) train::EvaluateRow(r);
  train::ValidationSummary summary = train::Summarize(*rows);
  if (!quiet) {
    out << fmt::format("{:<8} {:<14} {:<22} {:>12} {:>12} {:>8}  {}\n", "row_id", "accelerator", "metric", "measured",
                       "predicted", "err%", "status");
    for (const auto& r : *rows) {
      if (r.ok) {
        out << fmt::format("{:<8} {:<14} {:<22} {:>12.4g} {:>12.4g} {:>8.1f}  ok\n", r.row_id, r.accelerator_id, r.metric,
                           *r.measured, r.predicted, r.ape_pct);
      } else {
        out << fmt::format("{:<8} {:<14} {:<22} {:>12} {:>12} {:>8}  skipped: {}\n", r.row_id, r.accelerator_id, r.metric,
                           r.measured ? fmt::format("{:.4g}", *r.measured) : "-", "-", "-", r.reason);
      }
    }
    out << "\n";
  }
  out << fmt::format("{:<16} {:>5} {:>9} {:>7} {:>7} {:>8} {:>7}\n", "accelerator", "rows", "predicted", "skipped",
                     "MAPE%", "median%", "p90%");
  auto line = [&](const std::string& name, const train::ErrorStats& s) {
    out << fmt::format("{:<16} {:>5} {:>9} {:>7} {:>7.1f} {:>8.1f} {:>7.1f}\n", name, s.rows, s.predicted, s.skipped,
                       s.mape_pct, s.median_ape_pct, s.p90_ape_pct);
  };
  for (const auto& [acc, s] : summary.by_accelerator) line(acc, s);
  line("all", summary.all);
  if (compare_search) CompareSearch(*rows, "", out);
  if (!json.empty()) {
    Status s = WriteFileAtomic(json, report::ValidationJson(*rows, summary));
    if (!s.ok()) return Fail(err, s);
  }
  return 0;
}

int Catalog(const std::string& what, const std::string& id, std::ostream& out, std::ostream& err) {
  auto cat = LoadCatalog("");
  if (!cat.ok()) return Fail(err, cat.status());
  if (what == "list") {
    out << "accelerators:";
    for (const auto& [k, v] : cat->accelerators()) out << " " << k;
    out << "\nsystems:";
    for (const auto& [k, v] : cat->systems()) out << " " << k;
    out << "\nfabrics:";
    for (const auto& [k, v] : cat->fabrics()) out << " " << k;
    out << "\nmodels:";
    for (const auto& [k, v] : cat->models()) out << " " << k;
    out << "\n";
    return 0;
  }
  if (auto a = cat->FindAccelerator(id); a.ok()) {
    const auto& x = **a;
    const double channel_bw = x.nccl_channel_bandwidth.value();
    const std::string channel =
        channel_bw > 0 ? fmt::format(" ({} per NCCL channel)", FormatSi(channel_bw, "B/s")) : "";
    out << fmt::format("{} ({})\n  bf16 {}  fp8 {}  fp4 {}\n  HBM {} at {}\n  scale-up {} per direction{}\n  TDP {}\n",
                       x.id, x.name, FormatSi(x.peak_bf16.value(), "FLOP/s"), FormatSi(x.peak_fp8.value(), "FLOP/s"),
                       FormatSi(x.peak_fp4.value(), "FLOP/s"), FormatSi(x.hbm_capacity.value(), "B"),
                       FormatSi(x.hbm_bandwidth.value(), "B/s"), FormatSi(x.scale_up_bandwidth.value(), "B/s"), channel,
                       FormatSi(x.tdp.value(), "W"));
    out << "  sources:\n";
    for (const auto& [k, v] : x.sources) out << "    " << k << ": " << v << "\n";
    return 0;
  }
  if (auto m = cat->FindModel(id); m.ok()) {
    const auto& x = **m;
    out << fmt::format("{} ({})\n  layers {} hidden {} heads {} kv_heads {} head_dim {} ffn {} vocab {} mlp {}\n", x.id,
                       x.name, x.layers, x.hidden, x.heads, x.kv_heads, x.head_dim, x.ffn_hidden, x.vocab,
                       catalog::MlpKindName(x.mlp));
    if (x.moe) {
      out << fmt::format("  moe: {} experts top-{} size {}, {} shared of {}, {} dense layers, every {} layer(s)\n",
                         x.moe->experts, x.moe->top_k, x.moe->expert_ffn_hidden, x.moe->shared_experts,
                         x.moe->shared_expert_ffn_hidden, x.moe->dense_layers, x.moe->layer_freq);
      if (x.moe->groups > 1) {
        out << fmt::format("  routing limited to {} of {} expert groups per token\n", x.moe->groups_per_token,
                           x.moe->groups);
      }
    }
    out << "  sources:\n";
    for (const auto& [k, v] : x.sources) out << "    " << k << ": " << v << "\n";
    return 0;
  }
  if (auto s = cat->FindSystem(id); s.ok()) {
    const auto& x = **s;
    out << fmt::format("{} ({})\n  {} x {} per node, NVLink domain {}, scale-out {} ({} NIC per GPU)\n", x.id, x.name,
                       x.gpus_per_node, x.accelerator, x.nvlink_domain, x.scale_out_fabric, x.nics_per_gpu);
    if (x.host_link_bandwidth.value() > 0) {
      out << fmt::format("  host link {} per GPU per direction\n", FormatSi(x.host_link_bandwidth.value(), "B/s"));
    }
    if (x.host_memory.value() > 0) {
      out << fmt::format("  host memory {} per node ({} per GPU)\n", FormatSi(x.host_memory.value(), "B"),
                         FormatSi(x.host_memory.value() / x.gpus_per_node, "B"));
    }
    out << "  sources:\n";
    for (const auto& [k, v] : x.sources) out << "    " << k << ": " << v << "\n";
    return 0;
  }
  std::vector<std::string> ids;
  for (const auto& [k, v] : cat->accelerators()) ids.push_back(k);
  for (const auto& [k, v] : cat->models()) ids.push_back(k);
  for (const auto& [k, v] : cat->systems()) ids.push_back(k);
  return Fail(err, NotFound(fmt::format("no catalog entry '{}'{}", id, DidYouMean(id, ids))));
}

}  // namespace

int Main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"aifactory: a digital twin of an AI factory"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "aifactory 0.1.0");

  EstimateOptions run_opt;
  std::string scenario;
  auto* run = app.add_subcommand("run", "Evaluate a scenario (default: the built-in GB300 NVL72 factory)");
  run->add_option("scenario", scenario, "Scenario YAML file");
  run->add_flag("--explain", run_opt.explain, "Print where the time and the memory go");
  run->add_option("--json", run_opt.json_path, "Write the best plan's estimate as JSON to this file");
  run->add_option("--out", run_opt.out_dir, "Write summary.json, plans.csv and report.html into this directory");
  int run_threads = 1;
  run->add_option("--threads", run_threads, "Worker threads for the plan search")->check(CLI::Range(1, 256));
  // Empty: the scenario's rank_by (default time).
  const std::vector<std::string> rank_by_choices = {"time", "cost"};
  const char* rank_by_help =
      "time (default) or cost. One cluster size ranks the same either way (every plan uses all its GPUs); cost "
      "also prices each size of the scenario's scaling and find_min_gpus and reports the cheapest. Overrides "
      "the scenario's rank_by";
  std::string run_rank_by;
  run->add_option("--rank-by", run_rank_by, rank_by_help)->check(CLI::IsMember(rank_by_choices));

  std::string plan_scenario;
  int plan_threads = 1, plan_top = 10;
  bool plan_explain = false;
  auto* plan_cmd = app.add_subcommand("plan", "Search the parallel plans of a scenario and rank them");
  plan_cmd->add_option("scenario", plan_scenario, "Scenario YAML file (default: the built-in one)");
  plan_cmd->add_option("--threads", plan_threads, "Worker threads")->check(CLI::Range(1, 256));
  plan_cmd->add_option("--top", plan_top, "Plans to list")->check(CLI::Range(1, 1000));
  plan_cmd->add_flag("--explain", plan_explain, "Print where the best plan's time and memory go");
  std::string plan_rank_by;
  plan_cmd->add_option("--rank-by", plan_rank_by, rank_by_help)->check(CLI::IsMember(rank_by_choices));

  std::string csv, json, calibration;
  bool quiet = false;
  auto* validate = app.add_subcommand("validate", "Predict measured training runs and report the error");
  validate->add_option("file", csv, "CSV of measured runs (shared/validation/README.md)")->required();
  validate->add_option("--json", json, "Write rows and summary as JSON to this file");
  validate->add_option("--calibration", calibration, "YAML file whose calibration entries replace the built-in ones");
  validate->add_flag("--quiet", quiet, "Print only the summary");
  bool compare_search = false;
  validate->add_flag("--compare-search", compare_search,
                     "Also search each row's plans and compare the published plan with the best found");
  std::string features;
  validate->add_option("--features", features,
                       "CSV keyed by row_id whose columns are added to the rows, e.g. each run's framework settings "
                       "(ep_overlap, cuda_graphs, cuda_graph_modules) from its recipe: "
                       "data/validation/training_runs_features.csv; a column the CSV has too only fills its empty cells");
  std::string explain_row;
  validate->add_option("--explain", explain_row,
                       "Only this row_id: where the published plan's and the searched best's time and memory go");

  // One configuration from flags.
  EstimateOptions est_opt;
  std::string model_id, system_id, accelerator_id, precision, recompute = "none", task = "pretrain";
  int gpus = 8, seq = 4096, gbs = 0;
  train::ParallelPlan plan;
  auto* estimate = app.add_subcommand("estimate", "Step time and memory of one configuration");
  estimate->add_option("--model", model_id, "Catalog model id")->required();
  estimate->add_option("--system", system_id, "Catalog system id (default: the accelerator's usual system)");
  estimate->add_option("--accelerator", accelerator_id, "Catalog accelerator id");
  estimate->add_option("--gpus", gpus, "GPUs in the job")->check(CLI::PositiveNumber);
  estimate->add_option("--seq", seq, "Sequence length")->check(CLI::PositiveNumber);
  estimate->add_option("--global-batch", gbs, "Global batch in sequences (default: micro_batch * dp)");
  estimate->add_option("--precision", precision, "bf16, fp16, fp8, mxfp8, nvfp4 (default: the accelerator's usual)");
  estimate->add_option("--tp", plan.tp)->check(CLI::PositiveNumber);
  estimate->add_option("--pp", plan.pp)->check(CLI::PositiveNumber);
  estimate->add_option("--vp", plan.vp)->check(CLI::PositiveNumber);
  estimate->add_option("--cp", plan.cp)->check(CLI::PositiveNumber);
  estimate->add_option("--ep", plan.ep)->check(CLI::PositiveNumber);
  estimate->add_option("--micro-batch", plan.micro_batch)->check(CLI::PositiveNumber);
  estimate->add_option("--zero", plan.zero_stage, "0, 1 (distributed optimizer), 2, 3 (FSDP)")->check(CLI::Range(0, 3));
  estimate->add_option("--recompute", recompute, "none, selective, full");
  estimate->add_option("--recompute-layers", plan.recompute_layers,
                       "With full recompute: layers per pipeline rank that recompute (default 0: all)")
      ->check(CLI::NonNegativeNumber);
  estimate->add_option("--offload-layers", plan.offload_layers,
                       "Layers whose activations go to host memory (Megatron-Core cpu_offloading: "
                       "pp 1, no recompute; default 0)")
      ->check(CLI::NonNegativeNumber);
  estimate->add_option("--task", task, "pretrain, sft, lora");
  estimate->add_flag("--explain", est_opt.explain, "Print where the time and the memory go");
  estimate->add_option("--json", est_opt.json_path, "Write the estimate as JSON to this file");

  std::string catalog_what, catalog_id;
  auto* cat_cmd = app.add_subcommand("catalog", "List the catalog or show one entry with its sources");
  cat_cmd->add_option("what", catalog_what, "list | show")->required()->check(CLI::IsMember({"list", "show"}));
  cat_cmd->add_option("id", catalog_id, "Entry id for show");

  // Commands that live in their own files (subcommand.h).
  std::vector<Subcommand> more;
  more.push_back(AddTimelineCommand(app));
  more.push_back(AddFleetCommand(app));
  more.push_back(AddServeCommand(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }

  for (const auto& c : more) {
    if (c.app->parsed()) return c.run(out, err);
  }
  if (run->parsed()) return RunScenario(scenario, run_opt, run_threads, run_rank_by, out, err);
  if (plan_cmd->parsed()) return Plan(plan_scenario, plan_threads, plan_top, plan_explain, plan_rank_by, out, err);
  if (validate->parsed()) return Validate(csv, features, json, calibration, quiet, compare_search, explain_row, out, err);
  if (cat_cmd->parsed()) {
    if (catalog_what == "show" && catalog_id.empty()) return Fail(err, InvalidArgument("catalog show needs an id"));
    return Catalog(catalog_what, catalog_id, out, err);
  }
  if (estimate->parsed()) {
    auto cat = LoadCatalog("");
    if (!cat.ok()) return Fail(err, cat.status());
    train::TrainingJob job;
    auto model = cat->FindModel(model_id);
    if (!model.ok()) return Fail(err, model.status());
    job.model = **model;
    if (system_id.empty()) {
      if (accelerator_id.empty()) return Fail(err, InvalidArgument("give --system or --accelerator"));
      auto s = cat->DefaultSystemFor(accelerator_id);
      if (!s.ok()) return Fail(err, s.status());
      system_id = (*s)->id;
    }
    auto cluster = train::MakeCluster(*cat, system_id, gpus);
    if (!cluster.ok()) return Fail(err, cluster.status());
    job.seq_len = seq;
    job.precision = cluster->accelerator.usual_training_precision;
    if (!precision.empty()) {
      auto p = catalog::ParsePrecision(precision);
      if (!p.ok()) return Fail(err, p.status());
      job.precision = *p;
    }
    auto r = train::ParseRecompute(recompute);
    if (!r.ok()) return Fail(err, r.status());
    plan.recompute = *r;
    auto t = train::ParseTaskKind(task);
    if (!t.ok()) return Fail(err, t.status());
    job.task = *t;
    if (gpus % (plan.tp * plan.pp * plan.cp) != 0) {
      return Fail(err, InvalidArgument(fmt::format("gpus ({}) not divisible by tp*pp*cp = {}", gpus, plan.tp * plan.pp * plan.cp)));
    }
    plan.dp = gpus / (plan.tp * plan.pp * plan.cp);
    job.global_batch = gbs > 0 ? gbs : plan.micro_batch * plan.dp;
    return PrintEstimate(job, *cluster, plan, est_opt, out, err);
  }
  return 2;
}

}  // namespace aif::cli
