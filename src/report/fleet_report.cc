#include "aifactory/report/fleet_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "aifactory/core/file.h"
#include "aifactory/report/factory_report.h"
#include "rounding.h"

namespace aif::report {
namespace {

using ordered = nlohmann::ordered_json;


ordered DistJson(const fleet::Distribution& d) {
  ordered o;
  o["n"] = d.n;
  o["mean"] = Number(d.mean);
  o["p50"] = Number(d.p50);
  o["p90"] = Number(d.p90);
  o["p99"] = Number(d.p99);
  o["max"] = Number(d.max);
  return o;
}

ordered Series(const std::vector<double>& v) {
  ordered a = ordered::array();
  for (double x : v) a.push_back(Number(x));
  return a;
}

std::int64_t Interruptions(const fleet::FleetResult& r, bool planned) {
  std::int64_t n = 0;
  for (const auto& [cause, count] : r.interruptions_by_cause) {
    const bool is_planned = cause == "planned maintenance" || cause == "preemption";
    if (is_planned == planned) n += count;
  }
  return n;
}

ordered SummaryJson(const fleet::FleetResult& r) {
  ordered o;
  o["seed"] = r.seed;
  o["scheduler"] = r.scheduler;
  o["jobs"] = r.jobs;
  o["jobs_finished"] = r.jobs_finished;
  o["jobs_never_started"] = r.jobs_never_started;
  o["jobs_refused"] = r.jobs_refused;
  o["utilization"] = Number(r.utilization);
  o["completion_time_s"] = DistJson(r.completion_time);
  o["queueing_delay_s"] = DistJson(r.queueing_delay);
  o["busy_gpu_hours"] = Number(r.busy_gpu_hours);
  o["goodput_gpu_hours"] = Number(r.goodput_gpu_hours);
  o["lost_gpu_hours"] = Number(r.lost_gpu_hours);
  o["checkpoint_gpu_hours"] = Number(r.checkpoint_gpu_hours);
  o["wan_slowdown_gpu_hours"] = Number(r.wan_slowdown_gpu_hours);
  o["down_gpu_hours"] = Number(r.down_gpu_hours);
  o["unexpected_interruptions"] = Interruptions(r, false);
  o["planned_interruptions"] = Interruptions(r, true);
  ordered causes = ordered::object();
  for (const auto& [cause, n] : r.interruptions_by_cause) causes[cause] = n;  // std::map: sorted
  o["interruptions_by_cause"] = causes;
  o["failures"] = r.failures;
  o["multi_domain_jobs"] = r.multi_domain_jobs;
  o["single_leaf_jobs"] = r.single_leaf_jobs;
  o["cross_site_jobs"] = r.cross_site_jobs;
  o["events"] = r.events;
  return o;
}

}  // namespace

std::string FleetJson(const fleet::FleetResult& r, const FleetReportInputs& in) {
  ordered o;
  o["name"] = in.name;
  o["scenario"] = in.file;
  o["total_gpus"] = r.total_gpus;
  ordered w = ordered::object();
  for (const auto& [k, v] : in.workload) w[k] = v;
  o["workload"] = w;
  o["trace_rows_skipped"] = in.skipped_rows.size();
  o["trace_rows_skipped_list"] = in.skipped_rows;
  ordered left = ordered::object();
  for (const auto& [k, v] : in.left_out) left[k] = v;
  o["jobs_left_out"] = left;
  o["refused"] = r.refused;
  o["result"] = SummaryJson(r);
  if (!in.seeds.empty()) {
    ordered seeds = ordered::array();
    for (const fleet::FleetResult& s : in.seeds) seeds.push_back(SummaryJson(s));
    o["seeds"] = seeds;
  }
  ordered series;
  series["bin_s"] = Number(r.bin_seconds);
  series["start_s"] = Number(r.first_submit);
  series["utilization"] = Series(r.utilization_series);
  series["queued_jobs"] = Series(r.queue_series);
  ordered sites = ordered::array();
  for (const fleet::SiteSeries& s : r.sites) {
    ordered so;
    so["name"] = s.name;
    so["power_w"] = Series(s.power_w);
    so["utilization"] = Series(s.utilization);
    sites.push_back(so);
  }
  series["sites"] = sites;
  o["series"] = series;
  return o.dump(2) + "\n";
}

namespace {

constexpr double kW = 720, kH = 220, kLeft = 60, kBottom = 30, kTop = 10, kRight = 10;
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string C(double v) { return fmt::format("{:.1f}", v); }

// A line chart of one or more series over x in [0, x_max] (shared x for each series' index).
std::string LineChart(
    const std::string& label, const std::string& x_label, const std::string& y_label,
    const std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>>& lines) {
  double x_max = 0, y_max = 0;
  for (const auto& [name, pts] : lines) {
    for (const auto& [x, y] : pts) {
      x_max = std::max(x_max, x);
      y_max = std::max(y_max, y);
    }
  }
  if (!(x_max > 0)) x_max = 1;
  if (!(y_max > 0)) y_max = 1;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-label=\"{}\">\n",
      C(kW), C(kH), C(kW), C(kH), HtmlEscape(label));
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n",
      C(kLeft), C(kTop), C(pw), C(ph));
  for (int t = 0; t <= 4; ++t) {
    const double y = kTop + ph * (1 - t / 4.0);
    const double x = kLeft + pw * t / 4.0;
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n",
                     C(kLeft - 4), C(y + 3), HtmlEscape(Text(y_max * t / 4.0)));
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>\n",
                     C(x), C(kH - kBottom + 14), HtmlEscape(Text(x_max * t / 4.0)));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                   C(kLeft + pw / 2), C(kH - 2), HtmlEscape(x_label));
  s += fmt::format(
      "<text x=\"12\" y=\"{}\" font-size=\"11\" transform=\"rotate(-90 12 {})\" "
      "text-anchor=\"middle\">{}</text>\n",
      C(kTop + ph / 2), C(kTop + ph / 2), HtmlEscape(y_label));
  std::size_t k = 0;
  for (const auto& [name, pts] : lines) {
    std::string path;
    for (const auto& [x, y] : pts) {
      path += fmt::format("{}{},{}", path.empty() ? "M" : " L", C(kLeft + pw * x / x_max),
                          C(kTop + ph * (1 - y / y_max)));
    }
    const char* color = kColors[k % (sizeof(kColors) / sizeof(kColors[0]))];
    if (!path.empty()) {
      s += fmt::format(
          "<path d=\"{}\" fill=\"none\" stroke=\"{}\" "
          "stroke-width=\"1.5\"><title>{}</title></path>\n",
          path, color, HtmlEscape(name));
    }
    if (lines.size() > 1) {
      s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{}\">{}</text>\n",
                       C(kLeft + 6 + 110 * static_cast<double>(k % 5)),
                       C(kTop + 12 + 12 * std::floor(static_cast<double>(k) / 5)), color,
                       HtmlEscape(name));
    }
    ++k;
  }
  s += "</svg>\n";
  return s;
}

std::vector<std::pair<double, double>> Binned(const std::vector<double>& v, double bin_h,
                                              double scale) {
  std::vector<std::pair<double, double>> pts;
  for (std::size_t i = 0; i < v.size(); ++i) {
    pts.emplace_back(static_cast<double>(i) * bin_h, v[i] * scale);
    pts.emplace_back(static_cast<double>(i + 1) * bin_h, v[i] * scale);
  }
  return pts;
}

void Row(std::string& h, const std::string& k, const std::string& v) {
  h += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", HtmlEscape(k), HtmlEscape(v));
}

}  // namespace

std::string FleetHtml(const fleet::FleetResult& r, const FleetReportInputs& in) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>" +
      HtmlEscape(in.name.empty() ? "fleet" : in.name) +
      "</title>\n"
      "<style>body{font-family:sans-serif;max-width:780px;margin:1em auto;color:#222}"
      "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:2px 8px;"
      "text-align:left;font-size:13px}th{background:#f4f4f4}</style>\n</head>\n<body>\n";
  h += "<h1>" + HtmlEscape(in.name.empty() ? "Fleet run" : in.name) + "</h1>\n";
  h += "<p>Scenario: " + HtmlEscape(in.file) + "</p>\n<table>\n";
  Row(h, "scheduler", r.scheduler);
  Row(h, "seed", std::to_string(r.seed));
  Row(h, "GPUs", std::to_string(r.total_gpus));
  for (const auto& [k, v] : in.workload) Row(h, k, v);
  Row(h, "jobs / finished / never started / refused",
      fmt::format("{} / {} / {} / {}", r.jobs, r.jobs_finished, r.jobs_never_started,
                  r.jobs_refused));
  Row(h, "trace rows skipped", std::to_string(in.skipped_rows.size()));
  for (const auto& [k, v] : in.left_out) Row(h, "left out: " + k, std::to_string(v));
  Row(h, "utilization", Text(r.utilization * 100) + " %");
  Row(h, "completion time mean / p50 / p90 / p99 (h)",
      fmt::format("{} / {} / {} / {}", Text(r.completion_time.mean / 3600),
                  Text(r.completion_time.p50 / 3600), Text(r.completion_time.p90 / 3600),
                  Text(r.completion_time.p99 / 3600)));
  Row(h, "queueing delay mean / p50 / p90 / p99 (h)",
      fmt::format("{} / {} / {} / {}", Text(r.queueing_delay.mean / 3600),
                  Text(r.queueing_delay.p50 / 3600), Text(r.queueing_delay.p90 / 3600),
                  Text(r.queueing_delay.p99 / 3600)));
  Row(h, "busy / goodput / lost / checkpoint / WAN slowdown / down GPU-hours",
      fmt::format("{} / {} / {} / {} / {} / {}", Text(r.busy_gpu_hours), Text(r.goodput_gpu_hours),
                  Text(r.lost_gpu_hours), Text(r.checkpoint_gpu_hours),
                  Text(r.wan_slowdown_gpu_hours), Text(r.down_gpu_hours)));
  Row(h, "unexpected / planned interruptions",
      fmt::format("{} / {}", Interruptions(r, false), Interruptions(r, true)));
  Row(h, "multi-domain jobs (in one leaf) / across sites",
      fmt::format("{} ({}) / {}", r.multi_domain_jobs, r.single_leaf_jobs, r.cross_site_jobs));
  h += "</table>\n";

  h += "<h2>Interruptions by cause</h2>\n<table>\n<tr><th>cause</th><th>interruptions</th></tr>\n";
  for (const auto& [cause, n] : r.interruptions_by_cause)
    h += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", HtmlEscape(cause), n);
  h += "</table>\n";

  if (!in.seeds.empty()) {
    h += "<h2>Seeds</h2>\n<table>\n<tr><th>seed</th><th>utilization %</th><th>unexpected</th>"
         "<th>planned</th><th>goodput GPU-h</th><th>mean JCT h</th></tr>\n";
    for (const fleet::FleetResult& s : in.seeds) {
      h += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", s.seed,
          Text(s.utilization * 100), Interruptions(s, false), Interruptions(s, true),
          Text(s.goodput_gpu_hours), Text(s.completion_time.mean / 3600));
    }
    h += "</table>\n";
  }

  const double bin_h = r.bin_seconds / 3600;
  h += "<h2>Utilization over time</h2>\n";
  h += LineChart("fleet utilization over time", "hours from the first arrival", "busy GPUs, %",
                 {{"fleet", Binned(r.utilization_series, bin_h, 100)}});
  h += "<h2>Jobs waiting</h2>\n";
  h += LineChart("jobs waiting over time", "hours from the first arrival", "jobs waiting",
                 {{"queued", Binned(r.queue_series, bin_h, 1)}});
  h += "<h2>Queueing delay CDF</h2>\n";
  {
    std::vector<std::pair<double, double>> cdf;
    const std::size_t n = r.queueing_delays.size();
    const std::size_t step = std::max<std::size_t>(1, n / 500);
    for (std::size_t i = 0; i < n; i += step)
      cdf.emplace_back(r.queueing_delays[i] / 3600,
                       static_cast<double>(i + 1) / static_cast<double>(n));
    if (n > 0) cdf.emplace_back(r.queueing_delays.back() / 3600, 1.0);
    h += LineChart("queueing delay CDF", "queueing delay, hours", "fraction of started jobs",
                   {{"CDF", cdf}});
  }
  h += "<h2>Power per site</h2>\n";
  {
    std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>> lines;
    for (const fleet::SiteSeries& s : r.sites)
      lines.emplace_back(s.name, Binned(s.power_w, bin_h, 1e-6));
    h += LineChart("facility power per site", "hours from the first arrival", "MW", lines);
  }
  if (!in.skipped_rows.empty()) {
    h += "<h2>Trace rows skipped</h2>\n<ul>\n";
    const std::size_t shown = std::min<std::size_t>(in.skipped_rows.size(), 50);
    for (std::size_t i = 0; i < shown; ++i)
      h += "<li>" + HtmlEscape(in.skipped_rows[i]) + "</li>\n";
    if (shown < in.skipped_rows.size())
      h += fmt::format("<li>... {} more in fleet.json</li>\n", in.skipped_rows.size() - shown);
    h += "</ul>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

Status WriteFleetReport(const fleet::FleetResult& result, const FleetReportInputs& inputs,
                        const std::string& out_dir) {
  namespace fs = std::filesystem;
  if (out_dir.empty()) return InvalidArgument("report directory: the path is empty");
  const fs::path dir(out_dir);
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status))
      return IoError(fmt::format("{}: report directory exists and is not a directory", out_dir));
  } else {
    ec.clear();
    fs::create_directories(dir, ec);
    if (ec)
      return IoError(fmt::format("{}: cannot create report directory: {}", out_dir, ec.message()));
  }
  const std::pair<const char*, std::string> files[] = {
      {kFleetJsonFile, FleetJson(result, inputs)},
      {kFleetHtmlFile, FleetHtml(result, inputs)},
  };
  for (const auto& [name, content] : files)
    AIF_RETURN_IF_ERROR(WriteFileAtomic((dir / name).string(), content));
  return Status::Ok();
}

}  // namespace aif::report
