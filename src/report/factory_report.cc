#include "aifactory/report/factory_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "aifactory/core/file.h"
#include "job_json.h"
#include "rounding.h"

namespace aif::report {
namespace {

using ordered = nlohmann::ordered_json;

constexpr double kSecondsPerDay = 86400;
constexpr double kBytesPerGb = 1e9;

// ---------------------------------------------------------------- numbers

double Round(double x) { return RoundSignificant(x); }


// A fraction shown as a percentage of the value summary.json holds: 0.412345 -> "41.2345".
std::string Percent(double fraction) { return fmt::format("{}", Round(Round(fraction) * 100)); }

// ---------------------------------------------------------------- values shared by the writers

// Elapsed time over compute time: the failure overhead of the run's goodput (1 without one).
double WallOverCompute(const train::FactoryRun& run) {
  double compute = run.compute_time.value();
  return compute > 0 ? run.goodput.wall_time.value() / compute : 1.0;
}

double DaysToTrain(const train::FactoryRun& run, const train::RankedPlan& ranked) {
  return run.steps * ranked.estimate.step_time.value() / kSecondsPerDay * WallOverCompute(run);
}

double MemoryGb(const train::RankedPlan& ranked) {
  return ranked.estimate.memory_total.value() / kBytesPerGb;
}

// The ranking: the search's plans, or the best plan alone when the scenario fixed the plan.
std::vector<train::RankedPlan> RankedPlans(const train::FactoryRun& run) {
  if (!run.search.best.empty()) return run.search.best;
  return {run.best};
}

// ---------------------------------------------------------------- summary.json

ordered PlanJson(const train::RankedPlan& ranked) {
  const train::ParallelPlan& p = ranked.plan;
  const train::StepEstimate& e = ranked.estimate;
  ordered j;
  j["plan"] = p.ToString();
  j["tp"] = p.tp;
  j["pp"] = p.pp;
  j["vp"] = p.vp;
  j["cp"] = p.cp;
  j["ep"] = p.ep;
  j["dp"] = p.dp;
  j["micro_batch"] = p.micro_batch;
  j["zero_stage"] = p.zero_stage;
  j["recompute"] = train::RecomputeName(p.recompute);
  j["recompute_layers"] = p.recompute == train::Recompute::kFull ? p.recompute_layers : 0;
  j["offload_layers"] = p.offload_layers;
  j["sequence_parallel"] = p.sequence_parallel;
  j["grad_accumulation"] = e.grad_accumulation;
  j["step_time_s"] = Number(e.step_time.value());
  j["tokens_per_s_per_gpu"] = Number(e.tokens_per_second_per_gpu);
  j["mfu"] = Number(e.mfu);
  j["model_flops_per_step"] = Number(e.model_flops);
  j["hardware_flops_per_step"] = Number(e.hardware_flops);
  j["memory_per_gpu_bytes"] = Number(e.memory_total.value());
  j["memory_capacity_bytes"] = Number(e.memory_capacity.value());
  if (e.host_memory_used.value() > 0) {
    j["offloaded_to_host_bytes"] = Number(e.host_memory_used.value());
    j["host_memory_capacity_bytes"] = Number(e.host_memory_capacity.value());  // 0: the system gives none
  }
  j["fits_in_memory"] = e.fits_in_memory;
  // Fits with less headroom than the memory model's measured error (train::kMemoryModelError).
  j["memory_within_model_error"] = train::MemoryWithinModelError(e);
  ordered time = ordered::object();
  for (size_t i = 0; i < e.time.size(); ++i) {
    time[train::TimeComponentName(static_cast<train::TimeComponent>(i))] =
        Number(e.time[i].value());
  }
  j["time_s"] = std::move(time);
  ordered memory = ordered::object();
  for (size_t i = 0; i < e.memory.size(); ++i) {
    memory[train::MemoryComponentName(static_cast<train::MemoryComponent>(i))] =
        Number(e.memory[i].value());
  }
  j["memory_bytes"] = std::move(memory);
  return j;
}

ordered GoodputJson(const train::Goodput& g) {
  ordered j;
  j["job_mtbf_s"] = Number(g.job_mtbf.value());  // null when infinite: failures not modelled
  j["checkpoint_interval_s"] = Number(g.checkpoint_interval.value());
  j["wall_time_s"] = Number(g.wall_time.value());
  j["wall_days"] = Number(g.wall_time.value() / kSecondsPerDay);
  j["expected_interruptions"] = Number(g.expected_interruptions);
  j["effective_fraction"] = Number(g.effective_fraction);
  j["checkpoint_fraction"] = Number(g.checkpoint_fraction);
  j["lost_work_fraction"] = Number(g.lost_work_fraction);
  j["restart_fraction"] = Number(g.restart_fraction);
  return j;
}

ordered CostJson(const train::TrainingCost& c) {
  ordered j;
  j["gpu_hours"] = Number(c.gpu_hours);
  j["it_power_w"] = Number(c.it_power_w);
  j["facility_power_w"] = Number(c.facility_power_w);
  j["energy_kwh"] = Number(c.energy_kwh);
  j["energy_usd"] = Number(c.energy_usd);
  j["capex_usd"] = Number(c.capex_usd);
  j["total_usd"] = Number(c.total_usd);
  j["co2_tonnes"] = Number(c.co2_tonnes);
  return j;
}

// The search's counts; its wall time is left out, since it would break byte-identical output.
ordered SearchJson(const train::SearchResult& s) {
  ordered j;
  j["evaluated"] = s.evaluated;
  j["feasible"] = s.feasible;
  ordered rejected = ordered::object();
  for (const auto& [reason, count] : s.rejected) rejected[reason] = count;
  j["rejected"] = std::move(rejected);
  return j;
}

ordered TopPlansJson(const train::FactoryRun& run) {
  ordered list = ordered::array();
  int rank = 0;
  for (const train::RankedPlan& ranked : RankedPlans(run)) {
    ordered j;
    j["rank"] = ++rank;
    j["plan"] = ranked.plan.ToString();
    j["step_time_s"] = Number(ranked.estimate.step_time.value());
    j["tokens_per_s_per_gpu"] = Number(ranked.estimate.tokens_per_second_per_gpu);
    j["mfu"] = Number(ranked.estimate.mfu);
    j["memory_gb"] = Number(MemoryGb(ranked));
    j["days_to_train"] = Number(DaysToTrain(run, ranked));
    list.push_back(std::move(j));
  }
  return list;
}

ordered ScalingPointJson(const train::ScalingPoint& p) {
  ordered j;
  j["gpus"] = p.gpus;
  j["feasible"] = p.feasible;
  j["plan"] = p.feasible ? ordered(p.plan.ToString()) : ordered(nullptr);
  j["step_time_s"] = p.feasible ? Number(p.step_time_s) : ordered(nullptr);
  j["mfu"] = p.feasible ? Number(p.mfu) : ordered(nullptr);
  j["days_to_train"] = p.feasible ? Number(p.days_to_train) : ordered(nullptr);
  j["gpu_hours"] = p.feasible ? Number(p.cost.gpu_hours) : ordered(nullptr);
  j["energy_kwh"] = p.feasible ? Number(p.cost.energy_kwh) : ordered(nullptr);
  j["cost_usd"] = p.feasible ? Number(p.cost.total_usd) : ordered(nullptr);
  return j;
}

ordered ScalingJson(const std::vector<train::ScalingPoint>& points) {
  ordered list = ordered::array();
  for (const train::ScalingPoint& p : points) list.push_back(ScalingPointJson(p));
  return list;
}

// ---------------------------------------------------------------- SVG

// Coordinates with one decimal: enough for a screen, stable as text.
std::string Coord(double v) { return fmt::format("{:.1f}", v); }

// Builds one inline <svg> element. Every text it is given is escaped here.
class Svg {
 public:
  Svg(double width, double height, std::string_view label) {
    out_ = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"{}\" "
        "height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
        Coord(width), Coord(height), Coord(width), Coord(height), HtmlEscape(label));
  }

  void Rect(double x, double y, double w, double h, std::string_view fill,
            std::string_view tooltip) {
    out_ += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>\n",
        Coord(x), Coord(y), Coord(std::max(w, 0.0)), Coord(std::max(h, 0.0)), fill,
        HtmlEscape(tooltip));
  }

  // anchor: start, middle or end.
  void Text(double x, double y, std::string_view text, std::string_view anchor = "start",
            std::string_view css_class = "label") {
    out_ += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\" class=\"{}\">{}</text>\n",
                        Coord(x), Coord(y), anchor, css_class, HtmlEscape(text));
  }

  void Line(double x1, double y1, double x2, double y2, std::string_view stroke,
            bool dashed = false) {
    out_ += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\"{}/>\n",
        Coord(x1), Coord(y1), Coord(x2), Coord(y2), stroke,
        dashed ? " stroke-dasharray=\"4 3\"" : "");
  }

  void Polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke,
                bool dashed = false) {
    std::string coords;
    for (const auto& [x, y] : points) {
      if (!coords.empty()) coords += ' ';
      coords += Coord(x) + "," + Coord(y);
    }
    out_ +=
        fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                    coords, stroke, dashed ? " stroke-dasharray=\"6 4\"" : "");
  }

  void Circle(double cx, double cy, double r, std::string_view fill, std::string_view tooltip) {
    out_ +=
        fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"><title>{}</title></circle>\n",
                    Coord(cx), Coord(cy), Coord(r), fill, HtmlEscape(tooltip));
  }

  std::string Finish() const { return out_ + "</svg>\n"; }

 private:
  std::string out_;
};

// One color per time component, in TimeComponent order, and per memory component.
constexpr std::array<const char*, static_cast<size_t>(train::TimeComponent::kCount)> kTimeColors = {
    "#4e79a7", "#59a14f", "#9c755f", "#f28e2b", "#edc948", "#e15759",
    "#76b7b2", "#ff9da7", "#b07aa1", "#bab0ac", "#d37295", "#8cd17d"};
constexpr std::array<const char*, static_cast<size_t>(train::MemoryComponent::kCount)>
    kMemoryColors = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f"};
constexpr const char* kBarColor = "#4e79a7";
constexpr const char* kBestColor = "#e15759";
constexpr const char* kDaysColor = "#4e79a7";
constexpr const char* kMfuColor = "#f28e2b";
constexpr const char* kCostColor = "#59a14f";
constexpr const char* kEnergyColor = "#b07aa1";
constexpr const char* kAxisColor = "#888888";
constexpr const char* kGridColor = "#e3e3e3";

constexpr double kChartWidth = 900;

struct Bar {
  std::string label;
  double value = 0;
  std::string value_text;
  const char* color = kBarColor;
};

// Horizontal bars, one row each: the label right-aligned in a column of `label_width`, the bar,
// then its value text.
std::string HorizontalBarChart(const std::vector<Bar>& bars, double label_width,
                               std::string_view aria_label) {
  constexpr double kRow = 24, kBar = 16, kValueWidth = 150, kPad = 8;
  double max_value = 0;
  for (const Bar& b : bars) max_value = std::max(max_value, b.value);
  double bar_span = kChartWidth - label_width - kValueWidth - 2 * kPad;
  Svg svg(kChartWidth, kRow * static_cast<double>(bars.size()) + kPad, aria_label);
  double y = kPad / 2;
  for (const Bar& b : bars) {
    double length = max_value > 0 ? b.value / max_value * bar_span : 0;
    double x0 = label_width + kPad;
    svg.Text(label_width, y + kBar - 3, b.label, "end");
    svg.Rect(x0, y, length, kBar, b.color, b.label + ": " + b.value_text);
    svg.Text(x0 + length + kPad / 2, y + kBar - 3, b.value_text);
    y += kRow;
  }
  return svg.Finish();
}

// A step that gives about `ticks` round ticks (1, 2 or 5 times a power of ten) up to `max`.
double NiceStep(double max, int ticks) {
  if (!(max > 0) || !std::isfinite(max)) return 1;
  double raw = max / ticks;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / magnitude;
  double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * magnitude;
}

// ---------------------------------------------------------------- HTML sections

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0 auto; max-width: 960px; padding: 16px 24px; color: #222; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0; word-break: break-word; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.subtitle { color: #555; margin: 0.2em 0 1em 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.card .name { font-size: 0.8em; color: #666; }
.card .value { font-size: 1.3em; font-weight: 600; }
svg { max-width: 100%; height: auto; display: block; }
svg .label { font-size: 12px; fill: #333; }
svg .axis { font-size: 11px; fill: #666; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; margin-right: 14px; font-size: 0.9em; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.warning { color: #b00020; font-weight: 600; }
tr.cheapest td { font-weight: 600; }
footer { margin-top: 2em; color: #888; font-size: 0.8em; }
)";

void AppendCard(std::string& html, std::string_view name, std::string_view id,
                std::string_view prefix, const std::string& value, std::string_view unit) {
  html += fmt::format(
      "<div class=\"card\"><div class=\"name\">{}</div><div class=\"value\">{}<span "
      "id=\"{}\">{}</span>{}</div></div>\n",
      HtmlEscape(name), HtmlEscape(prefix), id, HtmlEscape(value), HtmlEscape(unit));
}

void AppendHeader(std::string& html, const train::FactoryRun& run) {
  const train::FactoryRunInputs& in = run.inputs;
  const train::StepEstimate& e = run.best.estimate;
  html += fmt::format("<header>\n<h1>{}</h1>\n", HtmlEscape(in.name));
  html += fmt::format(
      "<p class=\"subtitle\">{} on {} &#215; {} ({}), {}, sequence {}, global batch {}, {} "
      "tokens. Best plan: <code>{}</code>.</p>\n",
      HtmlEscape(in.job.model.id), in.cluster.gpus, HtmlEscape(in.cluster.accelerator.id),
      HtmlEscape(in.cluster.system.id), HtmlEscape(catalog::PrecisionName(in.job.precision)),
      in.job.seq_len, in.job.global_batch, Text(in.tokens), HtmlEscape(run.best.plan.ToString()));
  html += "<div class=\"cards\">\n";
  AppendCard(html, "Time to train", "days-to-train", "",
             Text(run.goodput.wall_time.value() / kSecondsPerDay), " days");
  AppendCard(html, "GPU-hours", "gpu-hours", "", Text(run.cost.gpu_hours), "");
  AppendCard(html, "MFU", "mfu", "", Percent(e.mfu), " %");
  AppendCard(html, "Step time", "step-time", "", Text(e.step_time.value()), " s");
  AppendCard(html, "Tokens/s per GPU", "tokens-per-s-per-gpu", "",
             Text(e.tokens_per_second_per_gpu), "");
  AppendCard(html, "Goodput", "goodput", "", Percent(run.goodput.effective_fraction), " %");
  if (run.cost.total_usd > 0) {
    AppendCard(html, "Cost", "total-usd", "$", Text(run.cost.total_usd), "");
  }
  if (run.cost.energy_kwh > 0) {
    AppendCard(html, "Energy", "energy-kwh", "", Text(run.cost.energy_kwh), " kWh");
  }
  if (run.cost.co2_tonnes > 0) {
    AppendCard(html, "CO2", "co2-tonnes", "", Text(run.cost.co2_tonnes), " t");
  }
  html += "</div>\n";
  const train::Goodput& g = run.goodput;
  if (std::isfinite(g.job_mtbf.value())) {
    html += fmt::format(
        "<p>Compute time {} days; with failures {} days: job MTBF {} h, a checkpoint every {} "
        "min, {} expected interruptions.</p>\n",
        Text(run.compute_time.value() / kSecondsPerDay), Text(g.wall_time.value() / kSecondsPerDay),
        Text(g.job_mtbf.value() / 3600), Text(g.checkpoint_interval.value() / 60),
        Text(g.expected_interruptions));
  } else {
    html += fmt::format("<p>Compute time {} days; failures not modelled.</p>\n",
                        Text(run.compute_time.value() / kSecondsPerDay));
  }
  html += "</header>\n";
}

void AppendTimeBreakdown(std::string& html, const train::StepEstimate& e) {
  html += "<section>\n<h2>Where the step time goes</h2>\n";
  std::vector<Bar> bars;
  for (size_t i = 0; i < e.time.size(); ++i) {
    double seconds = e.time[i].value();
    if (!(seconds > 0)) continue;
    std::string share = e.step_time.value() > 0
                            ? fmt::format(" ({}%)", Text(seconds / e.step_time.value() * 100))
                            : "";
    bars.push_back({train::TimeComponentName(static_cast<train::TimeComponent>(i)), seconds,
                    Text(seconds) + " s" + share, kTimeColors[i]});
  }
  if (bars.empty()) {
    html += "<p>No time components were estimated.</p>\n";
  } else {
    html += HorizontalBarChart(bars, 180, "time per step by component");
  }
  html += fmt::format("<p>Step time: {} s per optimizer step ({} micro-batches).</p>\n",
                      Text(e.step_time.value()), e.grad_accumulation);
  html += "</section>\n";
}

void AppendMemoryBreakdown(std::string& html, const train::StepEstimate& e) {
  constexpr double kLeft = 20, kBarTop = 28, kBarHeight = 28;
  html += "<section>\n<h2>Memory per GPU</h2>\n";
  double total = e.memory_total.value(), capacity = e.memory_capacity.value();
  double scale_max = std::max(total, capacity);
  double span = kChartWidth - 2 * kLeft;
  Svg svg(kChartWidth, kBarTop + kBarHeight + 24, "memory per GPU against HBM capacity");
  svg.Rect(kLeft, kBarTop, span, kBarHeight, "#f2f2f2",
           "HBM capacity " + Text(capacity / kBytesPerGb) + " GB");
  double x = kLeft;
  for (size_t i = 0; i < e.memory.size(); ++i) {
    double bytes = e.memory[i].value();
    if (!(bytes > 0) || !(scale_max > 0)) continue;
    double width = bytes / scale_max * span;
    std::string name = train::MemoryComponentName(static_cast<train::MemoryComponent>(i));
    svg.Rect(x, kBarTop, width, kBarHeight, kMemoryColors[i],
             name + ": " + Text(bytes / kBytesPerGb) + " GB");
    x += width;
  }
  if (capacity > 0 && scale_max > 0) {
    double cx = kLeft + capacity / scale_max * span;
    svg.Line(cx, kBarTop - 8, cx, kBarTop + kBarHeight + 4, "#222222");
    svg.Text(cx, kBarTop - 12, "HBM capacity " + Text(capacity / kBytesPerGb) + " GB",
             cx > kChartWidth / 2 ? "end" : "start");
  }
  svg.Text(kLeft, kBarTop + kBarHeight + 18,
           "used " + Text(total / kBytesPerGb) + " GB of " + Text(capacity / kBytesPerGb) + " GB");
  html += svg.Finish();
  html += "<p class=\"legend\">";
  for (size_t i = 0; i < e.memory.size(); ++i) {
    html +=
        fmt::format("<span><span class=\"swatch\" style=\"background:{}\"></span>{}: {} GB</span>",
                    kMemoryColors[i],
                    HtmlEscape(train::MemoryComponentName(static_cast<train::MemoryComponent>(i))),
                    Text(e.memory[i].value() / kBytesPerGb));
  }
  html += "</p>\n";
  if (!e.fits_in_memory) {
    html += "<p class=\"warning\">This plan " + HtmlEscape(train::MemoryShortfall(e)) + ".</p>\n";
  } else if (train::MemoryWithinModelError(e)) {
    html += fmt::format(
        "<p class=\"warning\">This plan leaves less of the HBM free than the memory model's largest error on "
        "measured peak memory ({}%), so it may not fit on the real GPU; cluster.memory_reserve holds headroom "
        "back.</p>\n",
        Text(100 * train::kMemoryModelError));
  }
  html += "</section>\n";
}

void AppendRanking(std::string& html, const train::FactoryRun& run) {
  html += "<section>\n<h2>Plan ranking</h2>\n";
  if (run.search.best.empty()) {
    html += "<p>The plan was fixed by the scenario; no search was run.</p>\n";
  } else {
    html += fmt::format(
        "<p>{} plans estimated, {} fit in memory; ranked by {}. Step time of the best {}:</p>\n",
        run.search.evaluated, run.search.feasible, train::RankByName(run.inputs.rank_by),
        run.search.best.size());
  }
  std::vector<Bar> bars;
  bool first = true;
  for (const train::RankedPlan& ranked : RankedPlans(run)) {
    bars.push_back(
        {ranked.plan.ToString(), ranked.estimate.step_time.value(),
         Text(ranked.estimate.step_time.value()) + " s, MFU " + Percent(ranked.estimate.mfu) + "%",
         first ? kBestColor : kBarColor});
    first = false;
  }
  html += HorizontalBarChart(bars, 400, "step time of the top plans");
  html += "</section>\n";
}

// One line of a chart against GPUs, with the values as summary.json holds them.
struct Series {
  std::string title;   // above its axis: "days to train"
  std::string legend;  // "days to train (left)"
  const char* color = kBarColor;
  bool dashed = false;
  std::vector<double> values;  // one per GPU count
};

// Series against GPUs on a log2 axis: `left` on the left axis and, when given, `right` on the
// right one; the markers of point i carry tips[i].
std::string GpuChart(const std::vector<int>& gpus, const Series& left, const Series* right,
                     const std::vector<std::string>& tips, std::string_view aria_label) {
  constexpr double kHeight = 340, kLeft = 70, kRight = 70, kTop = 40, kBottom = 50;
  constexpr int kTicks = 5;
  double plot_w = kChartWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  double min_log = INFINITY, max_log = -INFINITY;
  for (int g : gpus) {
    double lg = std::log2(static_cast<double>(g));
    min_log = std::min(min_log, lg);
    max_log = std::max(max_log, lg);
  }
  // The top of an axis: a round number at or above every finite value.
  auto axis = [](const Series& series) {
    double max_value = 0;
    for (double v : series.values) {
      if (std::isfinite(v)) max_value = std::max(max_value, v);
    }
    double step = NiceStep(max_value, kTicks);
    double top = step * std::ceil(max_value / step);
    return std::pair{step, top > 0 ? top : step};
  };
  const auto [left_step, left_top] = axis(left);
  const auto [right_step, right_top] = right ? axis(*right) : std::pair{1.0, 1.0};
  auto x_of = [&](int g) {
    double lg = std::log2(static_cast<double>(g));
    if (max_log <= min_log) return kLeft + plot_w / 2;
    return kLeft + (lg - min_log) / (max_log - min_log) * plot_w;
  };
  // Values off the chart (not finite) sit on its bottom edge.
  auto y_of = [&](double v, double top) {
    return kTop + plot_h - (std::isfinite(v) ? std::clamp(v / top, 0.0, 1.0) : 0.0) * plot_h;
  };

  Svg svg(kChartWidth, kHeight, aria_label);
  // Grid and the left axis.
  for (int i = 0; i * left_step <= left_top * (1 + 1e-9); ++i) {
    double v = i * left_step, y = y_of(v, left_top);
    svg.Line(kLeft, y, kLeft + plot_w, y, kGridColor);
    svg.Text(kLeft - 6, y + 4, fmt::format("{:g}", v), "end", "axis");
  }
  if (right) {
    for (int i = 0; i * right_step <= right_top * (1 + 1e-9); ++i) {
      double v = i * right_step, y = y_of(v, right_top);
      svg.Text(kLeft + plot_w + 6, y + 4, fmt::format("{:g}", v), "start", "axis");
    }
  }
  svg.Line(kLeft, kTop, kLeft, kTop + plot_h, kAxisColor);
  svg.Line(kLeft + plot_w, kTop, kLeft + plot_w, kTop + plot_h, kAxisColor);
  svg.Line(kLeft, kTop + plot_h, kLeft + plot_w, kTop + plot_h, kAxisColor);
  svg.Text(kLeft, kTop - 12, left.title, "middle", "axis");
  if (right) svg.Text(kLeft + plot_w, kTop - 12, right->title, "middle", "axis");
  svg.Text(kLeft + plot_w / 2, kHeight - 10, "GPUs (log2 scale)", "middle", "axis");
  // X ticks at each point's GPU count.
  for (int g : gpus) {
    double x = x_of(g);
    svg.Line(x, kTop + plot_h, x, kTop + plot_h + 4, kAxisColor);
    svg.Text(x, kTop + plot_h + 18, std::to_string(g), "middle", "axis");
  }
  // Legend.
  svg.Line(kLeft + 120, kTop - 16, kLeft + 145, kTop - 16, left.color, left.dashed);
  svg.Text(kLeft + 150, kTop - 12, left.legend);
  if (right) {
    svg.Line(kLeft + 300, kTop - 16, kLeft + 325, kTop - 16, right->color, right->dashed);
    svg.Text(kLeft + 330, kTop - 12, right->legend);
  }
  // Series.
  std::vector<std::pair<double, double>> left_line, right_line;
  for (size_t i = 0; i < gpus.size(); ++i) {
    left_line.emplace_back(x_of(gpus[i]), y_of(left.values[i], left_top));
    if (right) right_line.emplace_back(x_of(gpus[i]), y_of(right->values[i], right_top));
  }
  svg.Polyline(left_line, left.color, left.dashed);
  if (right) svg.Polyline(right_line, right->color, right->dashed);
  for (size_t i = 0; i < gpus.size(); ++i) {
    svg.Circle(left_line[i].first, left_line[i].second, 4, left.color, tips[i]);
    if (right) svg.Circle(right_line[i].first, right_line[i].second, 4, right->color, tips[i]);
  }
  return svg.Finish();
}

bool AnyCost(const std::vector<train::ScalingPoint>& points) {
  return std::any_of(points.begin(), points.end(),
                     [](const train::ScalingPoint& p) { return p.cost.total_usd > 0; });
}

bool AnyEnergy(const std::vector<train::ScalingPoint>& points) {
  return std::any_of(points.begin(), points.end(),
                     [](const train::ScalingPoint& p) { return p.cost.energy_kwh > 0; });
}

// Days to train (left axis) and MFU % (right axis) against GPUs; then, when the points have them,
// cost in $M (left) and energy in MWh (right), or energy alone without prices.
std::string ScalingCharts(const std::vector<train::ScalingPoint>& points) {
  std::vector<int> gpus;
  Series days{"days to train", "days to train (left)", kDaysColor, false, {}};
  Series mfu{"MFU %", "MFU % (right)", kMfuColor, true, {}};
  Series cost{"cost ($M)", "cost, $M (left)", kCostColor, false, {}};
  Series energy{"energy (MWh)", "energy, MWh (right)", kEnergyColor, true, {}};
  const bool priced = AnyCost(points);
  std::vector<std::string> tips, cost_tips;
  for (const train::ScalingPoint& p : points) {
    gpus.push_back(p.gpus);
    days.values.push_back(Round(p.days_to_train));
    mfu.values.push_back(Round(Round(p.mfu) * 100));
    cost.values.push_back(Round(p.cost.total_usd) / 1e6);
    energy.values.push_back(Round(p.cost.energy_kwh) / 1000);
    tips.push_back(fmt::format("{} GPUs: {} days, MFU {}%, {}", p.gpus, Text(p.days_to_train),
                               Percent(p.mfu), p.plan.ToString()));
    cost_tips.push_back(fmt::format("{} GPUs: {}{} kWh, {} days", p.gpus,
                                    priced ? "$" + Text(p.cost.total_usd) + ", " : "",
                                    Text(p.cost.energy_kwh), Text(p.days_to_train)));
  }
  std::string charts =
      GpuChart(gpus, days, &mfu, tips, "days to train and MFU against the number of GPUs");
  if (priced) {
    charts += GpuChart(gpus, cost, &energy, cost_tips,
                       "cost and energy of the whole run against the number of GPUs");
  } else if (AnyEnergy(points)) {
    energy.legend = "energy, MWh";
    energy.dashed = false;
    charts += GpuChart(gpus, energy, nullptr, cost_tips,
                       "energy of the whole run against the number of GPUs");
  }
  return charts;
}

// The cheapest cluster size, when the run was ranked by cost across sizes.
void AppendCheapest(std::string& html, const train::FactoryRun& run) {
  if (!run.cheapest) return;
  const train::ScalingPoint& p = *run.cheapest;
  html += fmt::format(
      "<p>Ranked by cost, the cheapest cluster size with a plan that fits: <span "
      "id=\"cheapest-gpus\">{}</span> GPUs (<code>{}</code>), $<span id=\"cheapest-usd\">{}</span> "
      "(energy ${}, capital ${}), {} kWh, {} days to train.</p>\n",
      p.gpus, HtmlEscape(p.plan.ToString()), Text(p.cost.total_usd), Text(p.cost.energy_usd),
      Text(p.cost.capex_usd), Text(p.cost.energy_kwh), Text(p.days_to_train));
}

void AppendScaling(std::string& html, const train::FactoryRun& run) {
  if (run.scaling.empty() && !run.cheapest) return;
  html += "<section>\n<h2>Scaling</h2>\n";
  AppendCheapest(html, run);
  if (run.scaling.empty()) {
    html += "</section>\n";
    return;
  }
  std::vector<train::ScalingPoint> feasible;
  for (const train::ScalingPoint& p : run.scaling) {
    if (p.feasible) feasible.push_back(p);
  }
  if (feasible.size() >= 2) html += ScalingCharts(feasible);
  const bool energy = AnyEnergy(feasible), cost = AnyCost(feasible);
  html += fmt::format(
      "<table>\n<thead><tr><th>GPUs</th><th>plan</th><th>step time (s)</th><th>MFU (%)</th>"
      "<th>days to train</th>{}{}</tr></thead>\n<tbody>\n",
      energy ? "<th>energy (kWh)</th>" : "", cost ? "<th>cost ($)</th>" : "");
  for (const train::ScalingPoint& p : run.scaling) {
    if (p.feasible) {
      const bool cheapest = run.cheapest && run.cheapest->gpus == p.gpus;
      html += fmt::format(
          "<tr{}><td class=\"num\">{}</td><td><code>{}</code></td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
          cheapest ? " class=\"cheapest\"" : "", p.gpus, HtmlEscape(p.plan.ToString()),
          Text(p.step_time_s), Percent(p.mfu), Text(p.days_to_train));
      if (energy) html += fmt::format("<td class=\"num\">{}</td>", Text(p.cost.energy_kwh));
      if (cost) html += fmt::format("<td class=\"num\">{}</td>", Text(p.cost.total_usd));
      html += "</tr>\n";
    } else {
      html += fmt::format(
          "<tr><td class=\"num\">{}</td><td colspan=\"{}\">no feasible plan</td></tr>\n", p.gpus,
          4 + (energy ? 1 : 0) + (cost ? 1 : 0));
    }
  }
  html += "</tbody>\n</table>\n</section>\n";
}

void AppendMinCluster(std::string& html, const train::FactoryRun& run) {
  if (!run.min_cluster) return;
  const train::ScalingPoint& p = *run.min_cluster;
  html += "<section>\n<h2>Smallest cluster</h2>\n";
  if (p.feasible) {
    html += fmt::format(
        "<p>The fewest GPUs with a plan that fits: <span id=\"min-cluster-gpus\">{}</span> "
        "(<code>{}</code>), step time {} s, MFU {} %, {} days to train.</p>\n",
        p.gpus, HtmlEscape(p.plan.ToString()), Text(p.step_time_s), Percent(p.mfu),
        Text(p.days_to_train));
  } else {
    html += "<p>No cluster size up to the scenario's has a plan that fits.</p>\n";
  }
  html += "</section>\n";
}

void AppendRejected(std::string& html, const train::SearchResult& search) {
  if (search.rejected.empty()) return;
  html += "<section>\n<h2>Rejected plans</h2>\n<table>\n";
  html += "<thead><tr><th>reason</th><th>plans</th></tr></thead>\n<tbody>\n";
  for (const auto& [reason, count] : search.rejected) {
    html +=
        fmt::format("<tr><td>{}</td><td class=\"num\">{}</td></tr>\n", HtmlEscape(reason), count);
  }
  html += "</tbody>\n</table>\n</section>\n";
}

void AppendNotes(std::string& html, const std::vector<std::string>& notes) {
  if (notes.empty()) return;
  html += "<section>\n<h2>Notes</h2>\n<ul>\n";
  for (const std::string& note : notes) html += "<li>" + HtmlEscape(note) + "</li>\n";
  html += "</ul>\n</section>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string CsvField(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string FactorySummaryJson(const train::FactoryRun& run) {
  const train::FactoryRunInputs& in = run.inputs;
  ordered doc;
  doc["scenario"] = in.name;
  doc["model"] = in.job.model.id;
  doc["system"] = in.cluster.system.id;
  doc["accelerator"] = in.cluster.accelerator.id;
  doc["gpus"] = in.cluster.gpus;
  doc["sites"] = in.cluster.sites;
  if (in.cluster.sites > 1) {
    doc["wan_bandwidth_bytes_per_s"] = Number(in.cluster.wan_bandwidth.value());
    doc["wan_latency_s"] = Number(in.cluster.wan_latency.value());
  }
  AddJobSettings(in.job, doc);
  doc["tokens"] = Number(in.tokens);
  doc["fixed_plan"] = in.fixed_plan.has_value();
  doc["rank_by"] = train::RankByName(in.rank_by);
  doc["best"] = PlanJson(run.best);
  doc["steps"] = Number(run.steps);
  doc["compute_time_s"] = Number(run.compute_time.value());
  doc["goodput"] = GoodputJson(run.goodput);
  ordered causes = ordered::array();
  for (const auto& [cause, n] : run.interruptions_by_cause) {
    ordered c;
    c["cause"] = cause;
    c["expected_interruptions"] = Number(n);
    causes.push_back(std::move(c));
  }
  doc["interruptions_by_cause"] = std::move(causes);
  doc["cost"] = CostJson(run.cost);
  doc["search"] = SearchJson(run.search);
  doc["top_plans"] = TopPlansJson(run);
  doc["scaling"] = ScalingJson(run.scaling);
  // Null when the smallest cluster was not asked for.
  doc["min_cluster"] = run.min_cluster ? ScalingPointJson(*run.min_cluster) : ordered(nullptr);
  // Null unless ranked by cost with other cluster sizes and prices.
  doc["cheapest"] = run.cheapest ? ScalingPointJson(*run.cheapest) : ordered(nullptr);
  doc["notes"] = run.notes;
  // Invalid UTF-8 in an input string becomes U+FFFD instead of an exception.
  return doc.dump(2, ' ', false, ordered::error_handler_t::replace) + "\n";
}

std::string PlansCsv(const train::FactoryRun& run) {
  std::string csv =
      "rank,tp,pp,vp,cp,ep,dp,micro_batch,zero_stage,recompute,recompute_layers,step_time_s,"
      "tokens_per_s_per_gpu,mfu,memory_gb,days_to_train\n";
  int rank = 0;
  for (const train::RankedPlan& ranked : RankedPlans(run)) {
    const train::ParallelPlan& p = ranked.plan;
    const train::StepEstimate& e = ranked.estimate;
    std::vector<std::string> fields = {std::to_string(++rank),
                                       std::to_string(p.tp),
                                       std::to_string(p.pp),
                                       std::to_string(p.vp),
                                       std::to_string(p.cp),
                                       std::to_string(p.ep),
                                       std::to_string(p.dp),
                                       std::to_string(p.micro_batch),
                                       std::to_string(p.zero_stage),
                                       train::RecomputeName(p.recompute),
                                       std::to_string(p.recompute == train::Recompute::kFull ? p.recompute_layers : 0),
                                       Text(e.step_time.value()),
                                       Text(e.tokens_per_second_per_gpu),
                                       Text(e.mfu),
                                       Text(MemoryGb(ranked)),
                                       Text(DaysToTrain(run, ranked))};
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) csv += ',';
      csv += CsvField(fields[i]);
    }
    csv += '\n';
  }
  return csv;
}

std::string FactoryHtml(const train::FactoryRun& run) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += fmt::format("<title>aifactory: {}</title>\n", HtmlEscape(run.inputs.name));
  html += fmt::format("<style>{}</style>\n</head>\n<body>\n", kStyle);
  AppendHeader(html, run);
  html += "<main>\n";
  AppendTimeBreakdown(html, run.best.estimate);
  AppendMemoryBreakdown(html, run.best.estimate);
  AppendRanking(html, run);
  AppendScaling(html, run);
  AppendMinCluster(html, run);
  AppendRejected(html, run.search);
  AppendNotes(html, run.notes);
  html += "</main>\n<footer>Written by aifactory from summary.json's numbers.</footer>\n";
  html += "</body>\n</html>\n";
  return html;
}

Status WriteFactoryReport(const train::FactoryRun& run, const std::string& out_dir) {
  namespace fs = std::filesystem;
  if (out_dir.empty()) return InvalidArgument("report directory: the path is empty");
  const fs::path dir(out_dir);
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return IoError(fmt::format("{}: report directory exists and is not a directory", out_dir));
    }
  } else {
    ec.clear();
    fs::create_directories(dir, ec);
    if (ec) {
      return IoError(fmt::format("{}: cannot create report directory: {}", out_dir, ec.message()));
    }
  }
  // Render everything first, so a rendering problem never leaves a partial report behind.
  const std::pair<const char*, std::string> files[] = {
      {kSummaryJsonFile, FactorySummaryJson(run)},
      {kPlansCsvFile, PlansCsv(run)},
      {kReportHtmlFile, FactoryHtml(run)},
  };
  for (const auto& [name, content] : files) {
    AIF_RETURN_IF_ERROR(WriteFileAtomic((dir / name).string(), content));
  }
  return Status::Ok();
}

}  // namespace aif::report
