#include "aifactory/report/factory_report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aifactory/catalog/model.h"
#include "aifactory/train/factory_run.h"
#include "aifactory_test/text.h"

namespace aif::report {
namespace {

namespace fs = std::filesystem;
using ::aif::testing::HasText;
using nlohmann::json;
using train::MemoryComponent;
using train::TimeComponent;

constexpr const char* kHostile = "<script>alert(\"x\")</script> & 'q'";
constexpr const char* kHostileEscaped =
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";

// ---------------------------------------------------------------- a factory run built by hand

catalog::Model TinyModel() {
  catalog::Model m;
  m.id = "tiny-llama";
  m.name = "Tiny Llama";
  m.layers = 16;
  m.hidden = 2048;
  m.heads = 16;
  m.kv_heads = 4;
  m.head_dim = 128;
  m.ffn_hidden = 8192;
  m.vocab = 32000;
  return m;
}

train::RankedPlan Plan(int tp, int pp, int dp, double step_time_s, double mfu) {
  train::RankedPlan r;
  r.plan.tp = tp;
  r.plan.pp = pp;
  r.plan.dp = dp;
  r.plan.micro_batch = 1;
  r.plan.zero_stage = 1;
  train::StepEstimate& e = r.estimate;
  e.step_time = Seconds(step_time_s);
  // Shares of the step; expert GEMMs, CP and EP comm stay zero.
  e.at(TimeComponent::kGemm) = Seconds(0.56 * step_time_s);
  e.at(TimeComponent::kAttention) = Seconds(0.16 * step_time_s);
  e.at(TimeComponent::kElementwise) = Seconds(0.08 * step_time_s);
  e.at(TimeComponent::kTpComm) = Seconds(0.04 * step_time_s);
  e.at(TimeComponent::kPipelineBubble) = Seconds(0.12 * step_time_s);
  e.at(TimeComponent::kOptimizer) = Seconds(0.04 * step_time_s);
  e.at(MemoryComponent::kWeights) = Bytes(20.123456789e9);
  e.at(MemoryComponent::kGradients) = Bytes(10e9);
  e.at(MemoryComponent::kOptimizer) = Bytes(15e9);
  e.at(MemoryComponent::kActivations) = Bytes(60.5e9);
  e.at(MemoryComponent::kCommBuffers) = Bytes(2e9);
  e.memory_total = Bytes(107.623456789e9);
  e.memory_capacity = Bytes(288e9);
  e.grad_accumulation = 4;
  e.model_flops = 1.23456789e16;
  e.hardware_flops = 1.3456789e16;
  e.tokens_per_second_per_gpu = 4096.0 * 256 / 64 / step_time_s;
  e.mfu = mfu;
  return r;
}

train::FactoryRun MakeRun() {
  train::FactoryRun run;
  train::FactoryRunInputs& in = run.inputs;
  in.name = "GB300 factory, tiny model";
  in.job.model = TinyModel();
  in.job.seq_len = 4096;
  in.job.global_batch = 256;
  in.cluster.accelerator.id = "gb300";
  in.cluster.system.id = "gb300-nvl72";
  in.cluster.gpus = 64;
  in.tokens = 1e12;

  run.search.best = {Plan(4, 2, 8, 2.5123456789, 0.4123456789), Plan(8, 1, 8, 2.7, 0.38),
                     Plan(2, 4, 8, 3.1, 0.33)};
  run.search.evaluated = 1234;
  run.search.feasible = 300;
  run.search.rejected = {{"out of memory", 800}, {"heads 16 not divisible by tp 32", 134}};
  run.search.seconds = 0.123;  // wall time: must not reach the output
  run.best = run.search.best.front();

  run.steps = in.tokens / (in.job.seq_len * in.job.global_batch);
  run.compute_time = run.best.estimate.step_time * run.steps;
  run.goodput.job_mtbf = Seconds(36000);
  run.goodput.checkpoint_interval = Seconds(1800.5);
  run.goodput.wall_time = run.compute_time * 1.1;
  run.goodput.expected_interruptions = 72.3456789;
  run.goodput.effective_fraction = 1 / 1.1;
  run.goodput.checkpoint_fraction = 0.04;
  run.goodput.lost_work_fraction = 0.03;
  run.goodput.restart_fraction = 0.0209090909;

  run.cost.gpu_hours = 64 * run.goodput.wall_time.value() / 3600;
  run.cost.it_power_w = 98765.4321;
  run.cost.facility_power_w = 123456.789;
  run.cost.energy_kwh = 98765.4321;
  run.cost.energy_usd = 9876.54321;
  run.cost.capex_usd = 1234567.891;
  run.cost.total_usd = 1244444.4321;
  run.cost.co2_tonnes = 12.3456789;

  train::ScalingPoint p32{32, true, Plan(4, 2, 4, 0, 0).plan, 4.9, 0.42, 70.123456, {}};
  train::ScalingPoint p64{64, true, run.best.plan, 2.5123456789, 0.4123456789, 36.5, {}};
  train::ScalingPoint p128{128, false, {}, 0, 0, 0, {}};
  run.scaling = {p32, p64, p128};
  run.notes = {"MFU uses the dense bf16 peak", "Failures at 1e-5 per GPU-hour, \"typical\""};
  return run;
}

// The value summary.json holds, as the HTML is expected to show it.
std::string Shown(const json& value) { return fmt::format("{}", value.get<double>()); }

// A JSON fraction as a percentage, rounded to 6 significant digits.
std::string ShownPercent(const json& fraction) {
  return fmt::format("{}", std::stod(fmt::format("{:.6g}", fraction.get<double>() * 100)));
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// ---------------------------------------------------------------- a tiny HTML checker

// Walks the tags: the document starts with <!DOCTYPE html>; every non-void element opened is
// closed in order (or self-closed, as SVG elements are); attribute values are double-quoted and
// hold no '<'; text holds no raw '<' or '>' and every '&' starts an entity. Returns "" when the
// page passes, else what failed and where.
std::string CheckWellFormed(const std::string& html) {
  static const std::set<std::string> kVoid = {"area",   "base",  "br",    "col",  "embed",
                                              "hr",     "img",   "input", "link", "meta",
                                              "source", "track", "wbr"};
  const std::string doctype = "<!DOCTYPE html>";
  if (html.compare(0, doctype.size(), doctype) != 0) return "missing <!DOCTYPE html>";
  auto where = [&](size_t at) {
    return fmt::format(" at offset {}: '{}'", at, html.substr(at, 40));
  };
  auto is_name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':';
  };
  auto check_entity = [&](size_t at) -> std::string {
    size_t end = html.find(';', at);
    if (end == std::string::npos || end - at > 10 || end == at + 1) return "bare '&'" + where(at);
    for (size_t k = at + 1; k < end; ++k) {
      if (!std::isalnum(static_cast<unsigned char>(html[k])) && html[k] != '#') {
        return "bare '&'" + where(at);
      }
    }
    return "";
  };
  std::vector<std::string> open;
  size_t i = doctype.size();
  const size_t n = html.size();
  while (i < n) {
    char c = html[i];
    if (c == '>') return "raw '>' in text" + where(i);
    if (c == '&') {
      std::string error = check_entity(i);
      if (!error.empty()) return error;
    }
    if (c != '<') {
      ++i;
      continue;
    }
    size_t tag_start = i++;
    bool closing = i < n && html[i] == '/';
    if (closing) ++i;
    size_t name_start = i;
    while (i < n && is_name_char(html[i])) ++i;
    std::string name = html.substr(name_start, i - name_start);
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) {
      return "raw '<' in text" + where(tag_start);
    }
    bool self_closed = false;
    for (;;) {
      while (i < n && std::isspace(static_cast<unsigned char>(html[i]))) ++i;
      if (i >= n) return "unterminated tag" + where(tag_start);
      if (html[i] == '>') {
        ++i;
        break;
      }
      if (html.compare(i, 2, "/>") == 0) {
        self_closed = true;
        i += 2;
        break;
      }
      if (closing) return "attribute in a closing tag" + where(tag_start);
      size_t attr_start = i;
      while (i < n && is_name_char(html[i])) ++i;
      if (i == attr_start) return "bad attribute" + where(attr_start);
      if (i >= n || html[i] != '=' || i + 1 >= n || html[i + 1] != '"') {
        return "attribute without a double-quoted value" + where(attr_start);
      }
      size_t value_start = i + 2;
      size_t value_end = html.find('"', value_start);
      if (value_end == std::string::npos) return "unterminated attribute" + where(attr_start);
      for (size_t k = value_start; k < value_end; ++k) {
        if (html[k] == '<' || html[k] == '>') return "raw '<' or '>' in attribute" + where(k);
        if (html[k] == '&') {
          std::string error = check_entity(k);
          if (!error.empty()) return error;
        }
      }
      i = value_end + 1;
    }
    if (closing) {
      if (open.empty() || open.back() != name) {
        return fmt::format("</{}> closes <{}>", name, open.empty() ? "nothing" : open.back()) +
               where(tag_start);
      }
      open.pop_back();
    } else if (!self_closed && !kVoid.count(name)) {
      if (open.empty() && name != "html") return "content outside <html>" + where(tag_start);
      open.push_back(name);
    }
  }
  if (!open.empty()) return "<" + open.back() + "> is never closed";
  return "";
}

TEST(HtmlCheckerTest, CatchesBrokenPages) {
  const std::string ok = "<!DOCTYPE html>\n<html><body><p a=\"1\">x &amp; y<br></p></body></html>";
  EXPECT_EQ(CheckWellFormed(ok), "");
  EXPECT_NE(CheckWellFormed("<html></html>"), "");
  EXPECT_NE(CheckWellFormed("<!DOCTYPE html><html><p></html>"), "");
  EXPECT_NE(CheckWellFormed("<!DOCTYPE html><html><p a=1></p></html>"), "");
  EXPECT_NE(CheckWellFormed("<!DOCTYPE html><html><p>1 < 2</p></html>"), "");
  EXPECT_NE(CheckWellFormed("<!DOCTYPE html><html><p>a & b</p></html>"), "");
  EXPECT_NE(CheckWellFormed("<!DOCTYPE html><html><b><i></b></i></html>"), "");
}

// ---------------------------------------------------------------- HTML

TEST(FactoryHtmlTest, IsWellFormed) {
  std::string html = FactoryHtml(MakeRun());
  EXPECT_EQ(CheckWellFormed(html), "");
  EXPECT_TRUE(HasText(html, "<svg"));
}

TEST(FactoryHtmlTest, IsSelfContained) {
  std::string html = FactoryHtml(MakeRun());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // The only "http" is the SVG namespace.
  const std::string xmlns = "http://www.w3.org/2000/svg";
  std::string rest = html;
  for (size_t at = rest.find(xmlns); at != std::string::npos; at = rest.find(xmlns)) {
    rest.erase(at, xmlns.size());
  }
  EXPECT_EQ(rest.find("http"), std::string::npos);
}

TEST(FactoryHtmlTest, EscapesEveryInputString) {
  train::FactoryRun run = MakeRun();
  run.inputs.name = kHostile;
  run.inputs.job.model.id = kHostile;
  run.inputs.cluster.accelerator.id = kHostile;
  run.inputs.cluster.system.id = kHostile;
  run.search.rejected[kHostile] = 7;
  run.notes.push_back(kHostile);
  std::string html = FactoryHtml(run);
  EXPECT_EQ(html.find(kHostile), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert(\"x\")"), std::string::npos);
  EXPECT_TRUE(HasText(html, std::string("<h1>") + kHostileEscaped + "</h1>"));
  EXPECT_TRUE(HasText(html, std::string("<title>aifactory: ") + kHostileEscaped + "</title>"));
  EXPECT_TRUE(HasText(html, std::string("<li>") + kHostileEscaped + "</li>"));
  EXPECT_TRUE(HasText(html, std::string("<td>") + kHostileEscaped + "</td>"));
  EXPECT_EQ(CheckWellFormed(html), "");
  // The JSON keeps the exact string.
  json summary = json::parse(FactorySummaryJson(run));
  EXPECT_EQ(summary["scenario"], kHostile);
  EXPECT_EQ(summary["search"]["rejected"][kHostile], 7);
}

TEST(FactoryHtmlTest, EscapeHelper) {
  EXPECT_EQ(HtmlEscape(kHostile), kHostileEscaped);
  EXPECT_EQ(HtmlEscape("plain text 1.5"), "plain text 1.5");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(FactoryHtmlTest, HeadlineNumbersMatchSummary) {
  train::FactoryRun run = MakeRun();
  std::string html = FactoryHtml(run);
  json s = json::parse(FactorySummaryJson(run));
  auto shows = [&](const std::string& id, const std::string& value) {
    return HasText(html, "id=\"" + id + "\">" + value + "</span>");
  };
  EXPECT_TRUE(shows("days-to-train", Shown(s["goodput"]["wall_days"])));
  EXPECT_TRUE(shows("gpu-hours", Shown(s["cost"]["gpu_hours"])));
  EXPECT_TRUE(shows("mfu", ShownPercent(s["best"]["mfu"])));
  EXPECT_TRUE(shows("step-time", Shown(s["best"]["step_time_s"])));
  EXPECT_TRUE(shows("tokens-per-s-per-gpu", Shown(s["best"]["tokens_per_s_per_gpu"])));
  EXPECT_TRUE(shows("goodput", ShownPercent(s["goodput"]["effective_fraction"])));
  EXPECT_TRUE(shows("total-usd", Shown(s["cost"]["total_usd"])));
  EXPECT_TRUE(shows("energy-kwh", Shown(s["cost"]["energy_kwh"])));
  EXPECT_TRUE(shows("co2-tonnes", Shown(s["cost"]["co2_tonnes"])));
  // Spot checks of the rounding itself.
  EXPECT_TRUE(shows("mfu", "41.2346"));
  EXPECT_TRUE(shows("step-time", "2.51235"));
  EXPECT_TRUE(shows("co2-tonnes", "12.3457"));
  EXPECT_TRUE(shows("total-usd", "1244440"));
}

TEST(FactoryHtmlTest, ZeroCostsAreNotHeadlines) {
  train::FactoryRun run = MakeRun();
  run.cost.total_usd = 0;
  run.cost.co2_tonnes = 0;
  std::string html = FactoryHtml(run);
  EXPECT_EQ(html.find("id=\"total-usd\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"co2-tonnes\""), std::string::npos);
  EXPECT_TRUE(HasText(html, "id=\"energy-kwh\""));
}

TEST(FactoryHtmlTest, TimeBreakdownShowsOnlyNonZeroComponents) {
  train::FactoryRun run = MakeRun();
  std::string html = FactoryHtml(run);
  json s = json::parse(FactorySummaryJson(run));
  for (const auto& [name, seconds] : s["best"]["time_s"].items()) {
    std::string label = ">" + HtmlEscape(name) + "</text>";
    if (seconds.get<double>() > 0) {
      EXPECT_TRUE(HasText(html, label));
      EXPECT_TRUE(HasText(html, ">" + Shown(seconds) + " s ("));
    } else {
      EXPECT_EQ(html.find(label), std::string::npos) << name;
    }
  }
}

TEST(FactoryHtmlTest, MemoryAgainstCapacity) {
  std::string html = FactoryHtml(MakeRun());
  EXPECT_TRUE(HasText(html, "HBM capacity 288 GB"));
  EXPECT_TRUE(HasText(html, "used 107.623 GB of 288 GB"));
  EXPECT_TRUE(HasText(html, "weights: 20.1235 GB"));
  EXPECT_EQ(html.find("does not fit"), std::string::npos);
}

// A best plan that fits with less headroom than the memory model's measured error says so in the
// HTML and in summary.json; one with room to spare says nothing.
TEST(FactoryHtmlTest, MemoryWithinTheModelsErrorIsFlagged) {
  train::FactoryRun run = MakeRun();
  EXPECT_FALSE(json::parse(FactorySummaryJson(run))["best"]["memory_within_model_error"].get<bool>());
  EXPECT_FALSE(HasText(FactoryHtml(run), "may not fit"));
  run.best.estimate.memory_total = Bytes(280e9);  // of 288 GB
  EXPECT_TRUE(json::parse(FactorySummaryJson(run))["best"]["memory_within_model_error"].get<bool>());
  std::string html = FactoryHtml(run);
  EXPECT_TRUE(HasText(html, "so it may not fit on the real GPU")) << html;
  EXPECT_EQ(CheckWellFormed(html), "");
}

TEST(FactoryHtmlTest, RankingShowsEachPlan) {
  train::FactoryRun run = MakeRun();
  std::string html = FactoryHtml(run);
  for (const train::RankedPlan& r : run.search.best) {
    EXPECT_TRUE(HasText(html, ">" + r.plan.ToString() + "</text>"));
  }
  EXPECT_TRUE(HasText(html, "1234 plans estimated, 300 fit in memory"));
}

TEST(FactoryHtmlTest, ScalingChartNeedsTwoFeasiblePoints) {
  train::FactoryRun run = MakeRun();
  std::string html = FactoryHtml(run);
  EXPECT_TRUE(HasText(html, "GPUs (log2 scale)"));
  EXPECT_TRUE(HasText(html, "<polyline"));
  EXPECT_TRUE(HasText(html, "no feasible plan"));
  EXPECT_EQ(Count(html, "<svg"), 4u);  // time, memory, ranking, scaling

  run.scaling[0].feasible = false;
  html = FactoryHtml(run);
  EXPECT_EQ(html.find("GPUs (log2 scale)"), std::string::npos);
  EXPECT_EQ(Count(html, "<svg"), 3u);
  EXPECT_TRUE(HasText(html, "<h2>Scaling</h2>"));  // the table stays
  EXPECT_EQ(CheckWellFormed(html), "");

  run.scaling.clear();
  html = FactoryHtml(run);
  EXPECT_EQ(html.find("<h2>Scaling</h2>"), std::string::npos);
  EXPECT_EQ(CheckWellFormed(html), "");
}

TEST(FactoryHtmlTest, RejectedReasonsAndNotes) {
  std::string html = FactoryHtml(MakeRun());
  EXPECT_TRUE(HasText(html, "<td>out of memory</td><td class=\"num\">800</td>"));
  EXPECT_TRUE(HasText(html, "<td>heads 16 not divisible by tp 32</td><td class=\"num\">134</td>"));
  EXPECT_TRUE(HasText(html, "<li>Failures at 1e-5 per GPU-hour, &quot;typical&quot;</li>"));
}

// ---------------------------------------------------------------- summary.json

TEST(FactorySummaryJsonTest, KeysInFixedOrder) {
  json s = json::parse(FactorySummaryJson(MakeRun()));
  // nlohmann::json sorts keys; read the order from the text instead.
  std::string text = FactorySummaryJson(MakeRun());
  const std::vector<std::string> keys = {
      "scenario", "model",          "system",  "accelerator", "gpus",    "sites", "precision",
      "low_precision_weights",
      "seq_len",  "global_batch",   "tokens",  "fixed_plan",  "rank_by", "best",
      "steps",    "compute_time_s", "goodput", "interruptions_by_cause", "cost", "search",
      "top_plans",
      "scaling",  "min_cluster",    "cheapest", "notes"};
  size_t last = 0;
  for (const std::string& key : keys) {
    size_t at = text.find("\n  \"" + key + "\":");
    ASSERT_NE(at, std::string::npos) << key;
    EXPECT_GT(at, last) << key;
    last = at;
  }
  EXPECT_EQ(s.size(), keys.size());
  // Time components in TimeComponent order.
  const json& best = s["best"];
  EXPECT_EQ(best["time_s"].size(), static_cast<size_t>(TimeComponent::kCount));
  last = text.find("\"time_s\"");
  for (size_t t = 0; t < static_cast<size_t>(TimeComponent::kCount); ++t) {
    std::string name = train::TimeComponentName(static_cast<TimeComponent>(t));
    size_t at = text.find("\"" + name + "\"", last);
    ASSERT_NE(at, std::string::npos) << name;
    last = at;
  }
  EXPECT_EQ(best["memory_bytes"].size(), static_cast<size_t>(MemoryComponent::kCount));
}

TEST(FactorySummaryJsonTest, Values) {
  train::FactoryRun run = MakeRun();
  json s = json::parse(FactorySummaryJson(run));
  EXPECT_EQ(s["scenario"], "GB300 factory, tiny model");
  EXPECT_EQ(s["model"], "tiny-llama");
  EXPECT_EQ(s["gpus"], 64);
  EXPECT_EQ(s["precision"], "bf16");
  EXPECT_EQ(s["tokens"].get<double>(), 1e12);
  EXPECT_EQ(s["best"]["plan"], run.best.plan.ToString());
  EXPECT_EQ(s["best"]["tp"], 4);
  EXPECT_EQ(s["best"]["recompute"], "none");
  EXPECT_EQ(s["best"]["mfu"].get<double>(), 0.412346);
  EXPECT_EQ(s["best"]["memory_per_gpu_bytes"].get<double>(), 107623000000.0);
  EXPECT_EQ(s["best"]["memory_capacity_bytes"].get<double>(), 288e9);
  EXPECT_EQ(s["best"]["memory_bytes"]["weights"].get<double>(), 20123500000.0);
  EXPECT_EQ(s["best"]["time_s"]["expert GEMMs"].get<double>(), 0);
  EXPECT_EQ(s["goodput"]["job_mtbf_s"].get<double>(), 36000);
  EXPECT_EQ(s["cost"]["co2_tonnes"].get<double>(), 12.3457);
  EXPECT_EQ(s["search"]["evaluated"], 1234);
  EXPECT_EQ(s["search"]["feasible"], 300);
  EXPECT_EQ(s["search"]["rejected"]["out of memory"], 800);
  EXPECT_FALSE(s["search"].contains("seconds"));
  ASSERT_EQ(s["top_plans"].size(), 3u);
  EXPECT_EQ(s["top_plans"][1]["rank"], 2);
  EXPECT_EQ(s["top_plans"][1]["plan"], run.search.best[1].plan.ToString());
  EXPECT_EQ(s["top_plans"][1]["memory_gb"].get<double>(), 107.623);
  ASSERT_EQ(s["scaling"].size(), 3u);
  EXPECT_EQ(s["scaling"][0]["days_to_train"].get<double>(), 70.1235);
  EXPECT_TRUE(s["scaling"][2]["plan"].is_null());
  EXPECT_TRUE(s["min_cluster"].is_null());
  EXPECT_TRUE(s["cheapest"].is_null());
  EXPECT_EQ(s["notes"].size(), 2u);
  // Large values carry no binary noise from the rounding.
  EXPECT_EQ(FactorySummaryJson(run).find("00000000001"), std::string::npos);
}

TEST(FactorySummaryJsonTest, InfiniteMtbfIsNull) {
  train::FactoryRun run = MakeRun();
  run.goodput.job_mtbf = Seconds(std::numeric_limits<double>::infinity());
  json s = json::parse(FactorySummaryJson(run));
  EXPECT_TRUE(s["goodput"]["job_mtbf_s"].is_null());
  EXPECT_TRUE(HasText(FactoryHtml(run), "failures not modelled"));
}

TEST(FactorySummaryJsonTest, InvalidUtf8DoesNotThrow) {
  train::FactoryRun run = MakeRun();
  run.inputs.name = "bad \xff byte";
  json s = json::parse(FactorySummaryJson(run));
  EXPECT_EQ(s["scenario"], "bad \xEF\xBF\xBD byte");
}

TEST(FactorySummaryJsonTest, MinCluster) {
  train::FactoryRun run = MakeRun();
  run.min_cluster = run.scaling[0];
  json s = json::parse(FactorySummaryJson(run));
  EXPECT_EQ(s["min_cluster"]["gpus"], 32);
  EXPECT_EQ(s["min_cluster"]["days_to_train"].get<double>(), 70.1235);
  std::string html = FactoryHtml(run);
  EXPECT_TRUE(HasText(html, "id=\"min-cluster-gpus\">32</span>"));
  EXPECT_TRUE(HasText(html, "70.1235 days to train"));
  EXPECT_EQ(CheckWellFormed(html), "");
}

// A run ranked by cost: each size with its energy and cost; 32 GPUs the cheapest.
train::FactoryRun MakeCostRankedRun() {
  train::FactoryRun run = MakeRun();
  run.inputs.rank_by = train::RankBy::kCost;
  run.scaling[0].cost.gpu_hours = 32 * 70.123456 * 24;
  run.scaling[0].cost.energy_kwh = 53123.456789;
  run.scaling[0].cost.total_usd = 1100000.123;
  run.scaling[1].cost.gpu_hours = 64 * 36.5 * 24;
  run.scaling[1].cost.energy_kwh = 55234.5678;
  run.scaling[1].cost.total_usd = 1150000.456;
  run.cheapest = run.scaling[0];
  return run;
}

TEST(FactorySummaryJsonTest, ScalingPointsCarryEnergyAndCost) {
  json s = json::parse(FactorySummaryJson(MakeCostRankedRun()));
  EXPECT_EQ(s["rank_by"], "cost");
  EXPECT_EQ(s["scaling"][0]["energy_kwh"].get<double>(), 53123.5);
  EXPECT_EQ(s["scaling"][0]["cost_usd"].get<double>(), 1100000);
  EXPECT_EQ(s["scaling"][1]["gpu_hours"].get<double>(), 56064);
  EXPECT_TRUE(s["scaling"][2]["cost_usd"].is_null());  // no plan fits
  EXPECT_TRUE(s["scaling"][2]["energy_kwh"].is_null());
}

TEST(FactorySummaryJsonTest, CheapestMatchesTheHtml) {
  train::FactoryRun run = MakeCostRankedRun();
  json s = json::parse(FactorySummaryJson(run));
  EXPECT_EQ(s["cheapest"]["gpus"], 32);
  EXPECT_EQ(s["cheapest"]["plan"], run.scaling[0].plan.ToString());
  std::string html = FactoryHtml(run);
  EXPECT_TRUE(HasText(html, "id=\"cheapest-gpus\">32</span>"));
  EXPECT_TRUE(HasText(html, "id=\"cheapest-usd\">" + Shown(s["cheapest"]["cost_usd"]) + "</span>"));
  EXPECT_EQ(Count(html, "<tr class=\"cheapest\">"), 1u);
  EXPECT_EQ(CheckWellFormed(html), "");
  // Only the smallest cluster, no scaling curve: the cheapest still shows.
  run.scaling.clear();
  run.min_cluster = run.cheapest;
  html = FactoryHtml(run);
  EXPECT_TRUE(HasText(html, "id=\"cheapest-gpus\">32</span>"));
  EXPECT_EQ(CheckWellFormed(html), "");
}

TEST(FactoryHtmlTest, ScalingShowsCostAndEnergyAgainstGpus) {
  train::FactoryRun run = MakeCostRankedRun();
  run.cheapest.reset();  // shown whatever the ranking
  run.inputs.rank_by = train::RankBy::kTime;
  std::string html = FactoryHtml(run);
  json s = json::parse(FactorySummaryJson(run));
  EXPECT_TRUE(HasText(html, "<th>energy (kWh)</th><th>cost ($)</th>"));
  EXPECT_TRUE(
      HasText(html, "<td class=\"num\">" + Shown(s["scaling"][0]["cost_usd"]) + "</td></tr>"));
  EXPECT_TRUE(HasText(html, "<td colspan=\"6\">no feasible plan</td>"));
  EXPECT_TRUE(HasText(
      html, "aria-label=\"cost and energy of the whole run against the number of GPUs\""));
  EXPECT_EQ(Count(html, "<svg"), 5u);  // time, memory, ranking, scaling, cost
  EXPECT_EQ(html.find("cheapest-gpus"), std::string::npos);
  EXPECT_EQ(CheckWellFormed(html), "");
  // Without prices: energy alone.
  for (auto& p : run.scaling) p.cost.total_usd = 0;
  html = FactoryHtml(run);
  EXPECT_EQ(html.find("<th>cost ($)</th>"), std::string::npos);
  EXPECT_TRUE(HasText(html, "<th>energy (kWh)</th>"));
  EXPECT_TRUE(HasText(html, "aria-label=\"energy of the whole run against the number of GPUs\""));
  EXPECT_EQ(CheckWellFormed(html), "");
}

// ---------------------------------------------------------------- plans.csv

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(PlansCsvTest, HeaderAndOneRowPerPlan) {
  train::FactoryRun run = MakeRun();
  std::vector<std::string> lines = Lines(PlansCsv(run));
  ASSERT_EQ(lines.size(), 1 + run.search.best.size());
  EXPECT_EQ(lines[0],
            "rank,tp,pp,vp,cp,ep,dp,micro_batch,zero_stage,recompute,recompute_layers,step_time_s,"
            "tokens_per_s_per_gpu,mfu,memory_gb,days_to_train");
  double days = run.steps * 2.5123456789 / 86400 * 1.1;
  std::string expected_days = fmt::format("{}", std::stod(fmt::format("{:.6g}", days)));
  EXPECT_EQ(lines[1], "1,4,2,1,1,1,8,1,1,none,0,2.51235,6521.4,0.412346,107.623," + expected_days);
  EXPECT_TRUE(lines[3].starts_with("3,2,4,1,1,1,8,1,1,none,0,3.1,"));
  // days_to_train agrees with summary.json's top plans.
  json s = json::parse(FactorySummaryJson(run));
  EXPECT_EQ(Shown(s["top_plans"][0]["days_to_train"]), expected_days);
}

TEST(PlansCsvTest, FixedPlanIsTheOnlyRow) {
  train::FactoryRun run = MakeRun();
  run.search = {};
  run.inputs.fixed_plan = run.best.plan;
  std::vector<std::string> lines = Lines(PlansCsv(run));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[1].starts_with("1,4,2,"));
  std::string html = FactoryHtml(run);
  EXPECT_TRUE(HasText(html, "fixed by the scenario"));
  EXPECT_EQ(CheckWellFormed(html), "");
}

TEST(PlansCsvTest, QuotesFieldsPerRfc4180) {
  EXPECT_EQ(CsvField("tp4 pp2"), "tp4 pp2");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\r"), "\"cr\r\"");
  EXPECT_EQ(CsvField(""), "");
}

// ---------------------------------------------------------------- determinism

TEST(FactoryReportTest, ByteIdenticalOutput) {
  train::FactoryRun run = MakeRun();
  train::FactoryRun copy = run;
  copy.search.seconds = 99;  // the search's wall time does not reach the output
  EXPECT_EQ(FactorySummaryJson(run), FactorySummaryJson(copy));
  EXPECT_EQ(PlansCsv(run), PlansCsv(copy));
  EXPECT_EQ(FactoryHtml(run), FactoryHtml(copy));
  EXPECT_EQ(FactoryHtml(run), FactoryHtml(run));
}

// ---------------------------------------------------------------- WriteFactoryReport

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "aif_report_test_XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::set<std::string> Entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

TEST(WriteFactoryReportTest, WritesExactlyThreeFiles) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  train::FactoryRun run = MakeRun();
  run.inputs.name = "../../escape/" + std::string(kHostile);  // never used as a path
  fs::path out = tmp.path() / "nested" / "report";
  Status st = WriteFactoryReport(run, out.string());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Entries(out), (std::set<std::string>{"plans.csv", "report.html", "summary.json"}));
  EXPECT_EQ(Entries(tmp.path()), (std::set<std::string>{"nested"}));
  EXPECT_EQ(ReadAll(out / "summary.json"), FactorySummaryJson(run));
  EXPECT_EQ(ReadAll(out / "plans.csv"), PlansCsv(run));
  EXPECT_EQ(ReadAll(out / "report.html"), FactoryHtml(run));

  // Writing again over an existing report replaces the files and leaves nothing else.
  run.notes.push_back("second run");
  st = WriteFactoryReport(run, out.string());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Entries(out), (std::set<std::string>{"plans.csv", "report.html", "summary.json"}));
  EXPECT_TRUE(HasText(ReadAll(out / "report.html"), "<li>second run</li>"));
}

TEST(WriteFactoryReportTest, FailsWhenOutDirIsAFile) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  fs::path file = tmp.path() / "report";
  std::ofstream(file) << "not a directory";
  Status st = WriteFactoryReport(MakeRun(), file.string());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_TRUE(HasText(st.message(), file.string()));
  EXPECT_TRUE(HasText(st.message(), "is not a directory"));
  EXPECT_EQ(ReadAll(file), "not a directory");
  EXPECT_EQ(Entries(tmp.path()), (std::set<std::string>{"report"}));

  // A directory that cannot be created below a file.
  st = WriteFactoryReport(MakeRun(), (file / "sub").string());
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(HasText(st.message(), (file / "sub").string()));
  EXPECT_TRUE(HasText(st.message(), "cannot create report directory"));

  st = WriteFactoryReport(MakeRun(), "");
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace aif::report
