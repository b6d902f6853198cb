// Serving predictions against the published measurements in data/validation/serving.csv; the
// acceptance bar of docs/validation-serving.md (median error at most 15% on throughput and on
// latency rows).
#include "aifactory/config/serve_validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "aifactory/config/catalog_loader.h"

namespace aif::config {
namespace {

// The acceptance bar on the rows the calibration was NOT fitted on (serve::InFitSet false): the
// honest estimate for measurements outside the file. The in-sample (fit half) and all-row medians
// are held to the same bar.
TEST(ServeValidation, HeldOutMedianErrorsWithinFifteenPercent) {
  auto catalog = LoadBuiltinCatalog();
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  auto rows = ReadServingBenchmarks(std::string(AIF_SOURCE_DIR) + "/data/validation/serving.csv");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_GE(rows->size(), 40u);
  auto predictions = serve::PredictAll(*catalog, *rows);
  ASSERT_TRUE(predictions.ok()) << predictions.status().ToString();
  for (const auto& p : *predictions) {
    std::printf("%-34s %-18s %-8s measured %10.1f predicted %10.1f error %+6.1f%%\n",
                p.row.id.c_str(), p.row.kind.c_str(), serve::InFitSet(p.row.id) ? "fit" : "held",
                p.row.measured, p.predicted, 100 * p.error);
  }
  const serve::ServingValidationSummary s = serve::Summarize(*predictions);
  auto print = [](const char* name, const serve::ServingErrorMedians& m) {
    std::printf("median |error| %-9s throughput %.1f%% (%d rows), latency %.1f%% (%d rows)\n", name,
                100 * m.throughput, m.throughput_rows, 100 * m.latency, m.latency_rows);
  };
  print("held out", s.held_out);
  print("fit", s.fit);
  print("all", s.all);
  // Both halves hold enough rows of each group for a median to mean something.
  EXPECT_GE(s.held_out.throughput_rows, 10);
  EXPECT_GE(s.held_out.latency_rows, 6);
  EXPECT_GE(s.fit.latency_rows, 6);
  EXPECT_LE(s.held_out.throughput, 0.15);
  EXPECT_LE(s.held_out.latency, 0.15);
  EXPECT_LE(s.all.throughput, 0.15);
  EXPECT_LE(s.all.latency, 0.15);
}

TEST(ServeValidation, SplitIsFixedByTheRowId) {
  // The split is pinned: these rows' halves are the ones the calibration was fitted with
  // (docs/validation-serving.md lists every row's half); a change of the rule fails here.
  EXPECT_TRUE(serve::InFitSet("trt05-a100-l7b-ttft-128"));
  EXPECT_FALSE(serve::InFitSet("trt05-h100-l7b-ttft-128"));
  EXPECT_TRUE(serve::InFitSet("vllm-bk9515-h200-l70b-latency"));
  EXPECT_FALSE(serve::InFitSet("vllm-bk9515-h200-l8b-latency"));
  // About half of many ids fall in each half.
  int fit = 0;
  for (int i = 0; i < 1000; ++i) fit += serve::InFitSet("row-" + std::to_string(i)) ? 1 : 0;
  EXPECT_GT(fit, 400);
  EXPECT_LT(fit, 600);
}

TEST(ServeValidation, BadRowNamesFileLineAndColumn) {
  const std::string text =
      "id,kind,model,accelerator,tp,precision,kv_bytes,batch,input,output,requests,measured,unit,"
      "source\n"
      "a,ttft,llama2-7b,h100-sxm,1,fp8,1,1,128,1,0,seven,ms,src\n";
  auto rows = ParseServingBenchmarks(text, "bench.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("bench.csv:2: column 'measured'"), std::string::npos)
      << rows.status().message();
}

}  // namespace
}  // namespace aif::config

namespace aif::config {
namespace {

// The fit's objective is the acceptance metric of docs/validation-serving.md: the median absolute
// error of the throughput rows plus that of the latency rows; ties broken by the mean absolute log
// error. The training calibration's objective (adding a quarter of each group's p90 error) was
// tried and rejected: it moved every tensor-parallel decode row of vLLM and NIM to +48-58%
// (docs/validation-serving.md).
double Loss(const catalog::Catalog& catalog, const serve::ServingCalibration& c,
            const std::vector<serve::ServingBenchmark>& set) {
  auto p = serve::PredictAll(catalog, set, &c);
  if (!p.ok()) return 1e9;
  double log_error = 0;
  for (const auto& x : *p) log_error += std::fabs(std::log(x.predicted / x.row.measured));
  const serve::ServingErrorMedians m = serve::MedianErrors(*p);
  return m.throughput + m.latency + 1e-3 * log_error / static_cast<double>(p->size());
}

// Grid search of the four constants on Loss over `set`, from the start values: gemm_scale
// (1.0-1.6 by 0.1) and all_reduce_overhead (0-60 us by 10 us) swept one at a time, and the two
// per-iteration fixed costs, iteration_overhead (0-9 ms by 0.5 ms) and kernel_overhead (0-10 us by
// 1 us; one kernel's launch latency is a few microseconds), swept jointly because they trade
// against each other; two passes.
serve::ServingCalibration Fit(const catalog::Catalog& catalog,
                              const std::vector<serve::ServingBenchmark>& set,
                              serve::ServingCalibration c) {
  double best = Loss(catalog, c, set);
  auto consider = [&](const serve::ServingCalibration& t) {
    const double l = Loss(catalog, t, set);
    if (l < best) best = l, c = t;
  };
  for (int pass = 0; pass < 2; ++pass) {
    serve::ServingCalibration t = c;
    for (double g = 1.0; g <= 1.65; g += 0.1) t.gemm_scale = g, consider(t);
    t = c;
    for (double a = 0; a <= 60.5e-6; a += 10e-6) t.all_reduce_overhead = Seconds(a), consider(t);
    t = c;
    for (double it = 0; it <= 9.05e-3; it += 0.5e-3) {
      for (double k = 0; k <= 10.05e-6; k += 1e-6) {
        t.iteration_overhead = Seconds(it);
        t.kernel_overhead = Seconds(k);
        consider(t);
      }
    }
    std::printf(
        "pass %d: loss %.4f gemm_scale %.2f iteration_overhead %.1f ms all_reduce %.0f us "
        "kernel %.0f us\n",
        pass, best, c.gemm_scale, c.iteration_overhead.value() * 1e3,
        c.all_reduce_overhead.value() * 1e6, c.kernel_overhead.value() * 1e6);
  }
  return c;
}

// Fits serve::ServingCalibration on the fit half of the rows (serve::InFitSet) only, from the
// current defaults, and prints the medians of both halves with the fitted constants. The defaults
// of DefaultServingCalibration are this fit's result. Run by hand (minutes):
//   aif_config_test --gtest_also_run_disabled_tests --gtest_filter='*FitCalibration'
TEST(ServeValidation, DISABLED_FitCalibration) {
  auto catalog = LoadBuiltinCatalog();
  ASSERT_TRUE(catalog.ok());
  auto rows = ReadServingBenchmarks(std::string(AIF_SOURCE_DIR) + "/data/validation/serving.csv");
  ASSERT_TRUE(rows.ok());
  // half[0]: the fit half (the defaults are fitted on it); half[1]: the held-out half. The reverse
  // fit (on the held-out half, predicting the fit half) checks that the split is not a lucky one.
  std::vector<serve::ServingBenchmark> half[2];
  for (const auto& r : *rows) half[serve::InFitSet(r.id) ? 0 : 1].push_back(r);
  for (int k = 0; k < 2; ++k) {
    const serve::ServingCalibration c = Fit(*catalog, half[k], serve::DefaultServingCalibration());
    std::printf(
        "fit on the %s half (%zu rows): gemm_scale %.2f iteration_overhead %.1f ms "
        "all_reduce_overhead %.0f us kernel_overhead %.0f us\n",
        k == 0 ? "fit" : "held-out", half[k].size(), c.gemm_scale,
        c.iteration_overhead.value() * 1e3, c.all_reduce_overhead.value() * 1e6,
        c.kernel_overhead.value() * 1e6);
    for (int j = 0; j < 2; ++j) {
      auto p = serve::PredictAll(*catalog, half[j], &c);
      ASSERT_TRUE(p.ok());
      const serve::ServingErrorMedians m = serve::MedianErrors(*p);
      std::printf("  %s half (%s): throughput %.1f%% (%d rows), latency %.1f%% (%d rows)\n",
                  j == 0 ? "fit" : "held-out", j == k ? "in-sample" : "outside the fit",
                  100 * m.throughput, m.throughput_rows, 100 * m.latency, m.latency_rows);
    }
  }
}

}  // namespace
}  // namespace aif::config
