#include "aifactory/report/serve_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "aifactory/core/file.h"
#include "aifactory/report/factory_report.h"
#include "rounding.h"

namespace aif::report {
namespace {

using ordered = nlohmann::ordered_json;


ordered PercentilesJson(const serve::Percentiles& p) {
  ordered j;
  j["p50_s"] = Number(p.p50);
  j["p90_s"] = Number(p.p90);
  j["p99_s"] = Number(p.p99);
  j["mean_s"] = Number(p.mean);
  return j;
}

}  // namespace

std::string ServeJson(const std::string& name, const serve::ServeResult& r,
                      const serve::CapacityResult* capacity) {
  ordered j;
  j["scenario"] = name;
  j["requests"] = r.requests;
  j["completed"] = r.completed;
  j["rejected"] = r.rejected;
  j["fallbacks"] = r.fallbacks;
  j["makespan_s"] = Number(r.makespan_s);
  j["ttft"] = PercentilesJson(r.ttft);
  j["tpot"] = PercentilesJson(r.tpot);
  j["e2e"] = PercentilesJson(r.e2e);
  j["throughput_rps"] = Number(r.throughput_rps);
  j["output_tokens_per_s"] = Number(r.output_tokens_per_s);
  j["goodput_rps"] = Number(r.goodput_rps);
  j["gpus"] = r.gpus;
  j["energy_kwh"] = Number(r.energy_j / 3.6e6);
  j["cost_usd"] = Number(r.cost_usd);
  j["cost_per_m_output_tokens_usd"] = Number(r.cost_per_m_output_tokens);
  j["cost_per_m_tokens_usd"] = Number(r.cost_per_m_tokens);
  j["mean_in_system"] = Number(r.mean_in_system);
  j["input_tokens"] = r.input_tokens;
  j["output_tokens"] = r.output_tokens;
  if (r.kv_transfers > 0) {  // disaggregated pools: the KV flows from prefill to decode
    ordered kv;
    kv["count"] = r.kv_transfers;
    kv["bytes"] = Number(r.kv_bytes);
    kv["time"] = PercentilesJson(r.kv_transfer_s);
    j["kv_transfers"] = kv;
  }
  ordered tasks = ordered::array();
  for (const auto& t : r.tasks) {
    ordered o;
    o["name"] = t.name;
    o["requests"] = t.requests;
    o["completed"] = t.completed;
    o["rejected"] = t.rejected;
    o["met_targets"] = t.met_targets;
    o["ttft"] = PercentilesJson(t.ttft);
    o["tpot"] = PercentilesJson(t.tpot);
    o["e2e"] = PercentilesJson(t.e2e);
    tasks.push_back(o);
  }
  j["tasks"] = tasks;
  ordered backends = ordered::array();
  for (const auto& b : r.backends) {
    ordered o;
    o["name"] = b.name;
    o["kind"] = b.kind;
    o["plan"] = b.plan;
    o["instances"] = b.instances;
    o["gpus"] = b.gpus;
    o["requests"] = b.requests;
    o["input_tokens"] = b.input_tokens;
    o["output_tokens"] = b.output_tokens;
    o["audio_seconds"] = Number(b.audio_seconds);
    o["busy_fraction"] = Number(b.busy_fraction);
    o["kv_blocks"] = b.kv_blocks;
    o["peak_kv_blocks"] = b.peak_kv_blocks;
    o["preemptions"] = b.preemptions;
    o["prefix_hit_tokens"] = b.prefix_hit_tokens;
    o["iterations"] = b.iterations;
    o["energy_kwh"] = Number(b.energy_j / 3.6e6);
    o["cost_usd"] = Number(b.cost_usd);
    backends.push_back(o);
  }
  j["backends"] = backends;
  if (capacity) {
    ordered c;
    c["gpus"] = capacity->gpus;
    ordered pools = ordered::array();
    for (const auto& p : capacity->pools) {
      ordered o;
      o["pool"] = p.pool;
      o["kind"] = p.kind;
      o["met"] = p.met;
      o["plan"] = p.plan.ToString();
      o["instances"] = p.instances;
      o["gpus"] = p.gpus;
      ordered trials = ordered::array();
      for (const auto& t : p.trials) {
        ordered x;
        x["plan"] = t.plan.ToString();
        x["instances"] = t.instances;
        x["gpus"] = t.gpus;
        x["simulations"] = t.simulations;
        x["note"] = t.note;
        trials.push_back(x);
      }
      o["trials"] = trials;
      pools.push_back(o);
    }
    c["pools"] = pools;
    j["capacity"] = c;
  }
  return j.dump(2) + "\n";
}

std::string ServeHtml(const std::string& name, const serve::ServeResult& r,
                      const serve::CapacityResult* capacity) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>aifactory serve: " + HtmlEscape(name) + "</title>\n";
  h += "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
       "text-align:right}th{background:#eee}td:first-child{text-align:left}</style>\n</"
       "head>\n<body>\n";
  h += "<h1>Serving: " + HtmlEscape(name) + "</h1>\n<main>\n";
  h += "<table><tr><th>metric</th><th>value</th></tr>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h += "<tr><td>" + HtmlEscape(k) + "</td><td>" + HtmlEscape(v) + "</td></tr>\n";
  };
  row("requests (completed / rejected)",
      fmt::format("{} ({} / {})", r.requests, r.completed, r.rejected));
  row("throughput (req/s)", Text(r.throughput_rps));
  row("output tokens/s", Text(r.output_tokens_per_s));
  row("goodput (req/s meeting targets)", Text(r.goodput_rps));
  row("TTFT p50 / p90 / p99 (s)",
      Text(r.ttft.p50) + " / " + Text(r.ttft.p90) + " / " + Text(r.ttft.p99));
  row("TPOT p50 / p90 / p99 (s)",
      Text(r.tpot.p50) + " / " + Text(r.tpot.p90) + " / " + Text(r.tpot.p99));
  row("end-to-end p50 / p90 / p99 (s)",
      Text(r.e2e.p50) + " / " + Text(r.e2e.p90) + " / " + Text(r.e2e.p99));
  row("GPUs", fmt::format("{}", r.gpus));
  row("energy (kWh)", Text(r.energy_j / 3.6e6));
  row("cost (USD)", Text(r.cost_usd));
  row("cost per million output tokens (USD)", Text(r.cost_per_m_output_tokens));
  h += "</table>\n";

  // TTFT percentiles per task as horizontal bars (log-free, scaled to the largest p99).
  double top = 1e-9;
  for (const auto& t : r.tasks) top = std::max(top, t.ttft.p99);
  const int bar_h = 14, row_h = 3 * bar_h + 10, label_w = 160, chart_w = 560;
  const int height = static_cast<int>(r.tasks.size()) * row_h + 20;
  h += fmt::format(
      "<h2>Time to first token by task</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"TTFT by "
      "task\">\n",
      label_w + chart_w + 120, height, label_w + chart_w + 120, height);
  int y = 10;
  const char* colors[] = {"#4c78a8", "#f58518", "#e45756"};
  for (const auto& t : r.tasks) {
    h += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>\n",
                     label_w - 6, y + bar_h, HtmlEscape(t.name));
    const double values[] = {t.ttft.p50, t.ttft.p90, t.ttft.p99};
    const char* names[] = {"p50", "p90", "p99"};
    for (int k = 0; k < 3; ++k) {
      const double w = chart_w * values[k] / top;
      h += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
                       label_w, y + k * bar_h, Text(w), bar_h - 2, colors[k]);
      h += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{} {} s</text>\n",
                       Text(label_w + w + 4), y + k * bar_h + bar_h - 4, names[k], Text(values[k]));
    }
    y += row_h;
  }
  h += "</svg>\n";

  h +=
      "<h2>Tasks</h2>\n<table><tr><th>task</th><th>requests</th><th>completed</th><th>rejected</th>"
      "<th>met targets</th><th>TTFT p90 (s)</th><th>TPOT p90 (s)</th><th>e2e p90 (s)</th></tr>\n";
  for (const auto& t : r.tasks) {
    h += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</"
        "td></tr>\n",
        HtmlEscape(t.name), t.requests, t.completed, t.rejected, t.met_targets, Text(t.ttft.p90),
        Text(t.tpot.p90), Text(t.e2e.p90));
  }
  h += "</table>\n<h2>Backends</h2>\n<table><tr><th>backend</th><th>kind</th><th>plan</"
       "th><th>instances</th>"
       "<th>GPUs</th><th>requests</th><th>busy</th><th>peak KV blocks / "
       "capacity</th><th>preemptions</th>"
       "<th>cost (USD)</th></tr>\n";
  for (const auto& b : r.backends) {
    h += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{} / {}</td><td>{}</td><td>{}</td></tr>\n",
        HtmlEscape(b.name), HtmlEscape(b.kind), HtmlEscape(b.plan), b.instances, b.gpus, b.requests,
        Text(b.busy_fraction), b.peak_kv_blocks, b.kv_blocks, b.preemptions, Text(b.cost_usd));
  }
  h += "</table>\n";
  if (capacity) {
    h += fmt::format(
        "<h2>Capacity: {} GPUs</h2>\n<table><tr><th>pool</th><th>plan</th><th>instances</th>"
        "<th>GPUs</th><th>met</th><th>plans tried</th></tr>\n",
        capacity->gpus);
    for (const auto& p : capacity->pools) {
      std::string tried;
      for (const auto& t : p.trials) {
        if (!tried.empty()) tried += "; ";
        tried += t.instances > 0 ? fmt::format("{} x{}", t.plan.ToString(), t.instances)
                                 : fmt::format("{}: {}", t.plan.ToString(), t.note);
      }
      h += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          HtmlEscape(p.pool), HtmlEscape(p.plan.ToString()), p.instances, p.gpus,
          p.met ? "yes" : "no", HtmlEscape(tried));
    }
    h += "</table>\n";
  }
  h += "</main>\n<footer>Written by aifactory from serve.json's "
       "numbers.</footer>\n</body>\n</html>\n";
  return h;
}

Status WriteServeReport(const std::string& name, const serve::ServeResult& result,
                        const serve::CapacityResult* capacity, const std::string& out_dir) {
  namespace fs = std::filesystem;
  if (out_dir.empty()) return InvalidArgument("report directory: the path is empty");
  const fs::path dir(out_dir);
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status))
      return IoError(fmt::format("{}: report directory exists and is not a directory", out_dir));
  } else {
    ec.clear();
    fs::create_directories(dir, ec);
    if (ec)
      return IoError(fmt::format("{}: cannot create report directory: {}", out_dir, ec.message()));
  }
  const std::string json = ServeJson(name, result, capacity);
  const std::string html = ServeHtml(name, result, capacity);
  AIF_RETURN_IF_ERROR(WriteFileAtomic((dir / kServeJsonFile).string(), json));
  AIF_RETURN_IF_ERROR(WriteFileAtomic((dir / kServeHtmlFile).string(), html));
  return Status::Ok();
}

}  // namespace aif::report
