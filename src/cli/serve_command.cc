// `aifactory serve [SCENARIO]`: simulate serving (or, with --capacity, size every pool to the
// fewest GPUs that meet its targets); `aifactory serve --validate CSV`: predictions against the
// published measurements.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/serve_scenario.h"
#include "aifactory/config/serve_validation.h"
#include "aifactory/report/serve_report.h"
#include "aifactory/serve/capacity.h"
#include "aifactory/serve/validation.h"
#include "subcommand.h"

namespace aif::cli {
namespace {

constexpr const char* kBuiltinServeScenario = "data/scenarios/serve-llama70b-h100.yaml";

struct ServeOptions {
  std::string scenario;
  std::string trace;
  double time_scale = 1;
  long long max_requests = 0;
  long long seed = -1;
  bool capacity = false;
  std::string out_dir;
  std::string validate;
  bool quiet = false;
};

std::string Ms(double s) { return fmt::format("{:.1f} ms", s * 1e3); }

void PrintResult(const std::string& name, const serve::ServeResult& r, std::ostream& out) {
  out << fmt::format("scenario: {}\n", name);
  out << fmt::format("requests: {} (completed {}, rejected {}, served by a fallback {})\n",
                     r.requests, r.completed, r.rejected, r.fallbacks);
  out << fmt::format("TTFT  p50 {}  p90 {}  p99 {}\n", Ms(r.ttft.p50), Ms(r.ttft.p90),
                     Ms(r.ttft.p99));
  out << fmt::format("TPOT  p50 {}  p90 {}  p99 {}\n", Ms(r.tpot.p50), Ms(r.tpot.p90),
                     Ms(r.tpot.p99));
  out << fmt::format("e2e   p50 {}  p90 {}  p99 {}\n", Ms(r.e2e.p50), Ms(r.e2e.p90), Ms(r.e2e.p99));
  out << fmt::format("throughput {:.3f} req/s, {:.1f} output tok/s; goodput {:.3f} req/s\n",
                     r.throughput_rps, r.output_tokens_per_s, r.goodput_rps);
  out << fmt::format(
      "GPUs {}, energy {:.3f} kWh, cost ${:.2f} (${:.3f} per million output tokens, ${:.3f} per "
      "million tokens)\n",
      r.gpus, r.energy_j / 3.6e6, r.cost_usd, r.cost_per_m_output_tokens, r.cost_per_m_tokens);
  if (r.kv_transfers > 0) {
    out << fmt::format("KV transfers {} ({:.1f} GB), time p50 {}  p90 {}  p99 {}\n",
                       r.kv_transfers, r.kv_bytes / 1e9, Ms(r.kv_transfer_s.p50),
                       Ms(r.kv_transfer_s.p90), Ms(r.kv_transfer_s.p99));
  }
  for (const auto& t : r.tasks) {
    out << fmt::format(
        "  task {:<14} {:>8} req  met targets {:>8}  TTFT p90 {}  TPOT p90 {}  e2e p90 {}\n",
        t.name, t.requests, t.met_targets, Ms(t.ttft.p90), Ms(t.tpot.p90), Ms(t.e2e.p90));
  }
  for (const auto& b : r.backends) {
    out << fmt::format("  {:<8} {:<20} {:<14} x{:<4} GPUs {:<5} req {:>8}  busy {:.2f}", b.kind,
                       b.name, b.plan, b.instances, b.gpus, b.requests, b.busy_fraction);
    if (b.kind == "llm") {
      out << fmt::format("  KV peak {}/{} blocks, preemptions {}", b.peak_kv_blocks, b.kv_blocks,
                         b.preemptions);
    }
    out << "\n";
  }
}

int Validate(const ServeOptions& o, std::ostream& out, std::ostream& err) {
  auto catalog = config::LoadBuiltinCatalog();
  if (!catalog.ok()) return Fail(err, catalog.status());
  auto rows = config::ReadServingBenchmarks(o.validate);
  if (!rows.ok()) return Fail(err, rows.status());
  auto predictions = serve::PredictAll(*catalog, *rows);
  if (!predictions.ok()) return Fail(err, predictions.status());
  out << "| id | kind | model | GPU | TP | batch | in/out | measured | predicted | error | half | "
         "source |\n";
  out << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : *predictions) {
    out << fmt::format(
        "| {} | {} | {} | {} | {} | {} | {}/{} | {:.6g} {} | {:.4g} | {:+.1f}% | {} | {} |\n",
        p.row.id, p.row.kind, p.row.model, p.row.accelerator, p.row.tp, p.row.batch, p.row.input,
        p.row.output, p.row.measured, p.row.unit, p.predicted, 100 * p.error,
        serve::InFitSet(p.row.id) ? "fit" : "held out", p.row.source);
  }
  auto s = serve::Summarize(*predictions);
  auto line = [&](const char* name, const serve::ServingErrorMedians& m) {
    out << fmt::format(
        "median |error| {}: throughput {:.1f}% over {} rows, latency {:.1f}% over {} rows\n", name,
        100 * m.throughput, m.throughput_rows, 100 * m.latency, m.latency_rows);
  };
  out << "\n";
  line("held out (rows outside the fit)", s.held_out);
  line("fit half (in-sample)", s.fit);
  line("all rows", s.all);
  return 0;
}

int Run(const ServeOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.validate.empty()) return Validate(o, out, err);
  auto catalog = config::LoadBuiltinCatalog();
  if (!catalog.ok()) return Fail(err, catalog.status());
  config::ServeScenarioOverrides ov;
  ov.trace = o.trace;
  ov.trace_time_scale = o.time_scale;
  ov.max_requests = o.max_requests;
  ov.seed = o.seed;
  Result<config::LoadedServeScenario> loaded = InvalidArgument("no scenario");
  if (o.scenario.empty()) {
    auto text = config::BuiltinFile(kBuiltinServeScenario);
    if (!text.ok()) return Fail(err, text.status());
    loaded = config::ParseServeScenario(*text, kBuiltinServeScenario, *catalog, ov);
  } else {
    loaded = config::LoadServeScenarioFile(o.scenario, *catalog, ov);
  }
  if (!loaded.ok()) return Fail(err, loaded.status());
  const std::string name =
      loaded->scenario.name.empty() ? "serving scenario" : loaded->scenario.name;
  if (!o.quiet) err << fmt::format("simulating {} requests...\n", loaded->scenario.requests.size());
  if (o.capacity) {
    auto cap = serve::FindCapacity(loaded->scenario, loaded->factory, loaded->capacity);
    if (!cap.ok()) return Fail(err, cap.status());
    out << fmt::format("capacity: {} GPUs in all\n", cap->gpus);
    for (const auto& p : cap->pools) {
      out << fmt::format(
          "  {:<20} {}", p.pool,
          p.met ? fmt::format("{} x{} = {} GPUs", p.plan.ToString(), p.instances, p.gpus)
                : std::string("targets not met by any plan"));
      for (const auto& t : p.trials) {
        out << fmt::format(
            "  [{}: {}]", t.plan.ToString(),
            t.instances > 0 ? fmt::format("x{} = {} GPUs", t.instances, t.gpus) : t.note);
      }
      out << "\n";
    }
    PrintResult(name, cap->result, out);
    if (!o.out_dir.empty()) {
      Status s = report::WriteServeReport(name, cap->result, &*cap, o.out_dir);
      if (!s.ok()) return Fail(err, s);
    }
    return 0;
  }
  auto result = serve::Simulate(loaded->scenario);
  if (!result.ok()) return Fail(err, result.status());
  PrintResult(name, *result, out);
  if (!o.out_dir.empty()) {
    Status s = report::WriteServeReport(name, *result, nullptr, o.out_dir);
    if (!s.ok()) return Fail(err, s);
    if (!o.quiet) err << fmt::format("wrote {}/serve.json and serve.html\n", o.out_dir);
  }
  return 0;
}

}  // namespace

Subcommand AddServeCommand(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd =
      app.add_subcommand("serve",
                         "Simulate inference serving (default: the built-in Llama 3 70B on H100 "
                         "scenario); --capacity sizes every pool");
  cmd->add_option("scenario", o->scenario, "Serving scenario YAML (data/scenarios/serve-*.yaml)");
  cmd->add_option(
      "--trace", o->trace,
      "Trace replacing the scenario's workloads (first task): Azure LLM CSV, or Mooncake *.jsonl");
  cmd->add_option("--time-scale", o->time_scale,
                  "Divide the trace's arrival times by this (2: twice the rate)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-requests", o->max_requests, "Use at most this many requests per workload")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->seed, "Seed of the synthetic load (default: the scenario's)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--capacity", o->capacity,
                "Find the fewest GPUs (and best plan per pool) meeting the targets");
  cmd->add_option("--out", o->out_dir, "Write serve.json and serve.html into this directory");
  cmd->add_option("--validate", o->validate,
                  "Compare predictions with the measurements of this CSV "
                  "(data/validation/serving.csv)");
  cmd->add_flag("--quiet", o->quiet, "No progress on stderr");
  return {cmd, [o](std::ostream& out, std::ostream& err) { return Run(*o, out, err); }};
}

}  // namespace aif::cli
