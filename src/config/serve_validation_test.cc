// Serving predictions against the published measurements in data/validation/serving.csv; the
// acceptance bar of docs/validation-serving.md (median error at most 15% on throughput and on
// latency rows).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/serve_validation.h"

namespace aif::config {
namespace {

TEST(ServeValidation, MedianErrorsWithinFifteenPercent) {
  auto catalog = LoadBuiltinCatalog();
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  auto rows = ReadServingBenchmarks(std::string(AIF_SOURCE_DIR) + "/data/validation/serving.csv");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_GE(rows->size(), 20u);
  auto predictions = serve::PredictAll(*catalog, *rows);
  ASSERT_TRUE(predictions.ok()) << predictions.status().ToString();
  for (const auto& p : *predictions) {
    std::printf("%-34s %-18s measured %10.1f predicted %10.1f error %+6.1f%%\n", p.row.id.c_str(),
                p.row.kind.c_str(), p.row.measured, p.predicted, 100 * p.error);
  }
  auto summary = serve::Summarize(*predictions);
  std::printf("median |error|: throughput %.1f%% (%d rows), latency %.1f%% (%d rows)\n",
              100 * summary.median_abs_error_throughput, summary.throughput_rows,
              100 * summary.median_abs_error_latency, summary.latency_rows);
  EXPECT_LE(summary.median_abs_error_throughput, 0.15);
  EXPECT_LE(summary.median_abs_error_latency, 0.15);
}

TEST(ServeValidation, BadRowNamesFileLineAndColumn) {
  const std::string text =
      "id,kind,model,accelerator,tp,precision,kv_bytes,batch,input,output,requests,measured,unit,source\n"
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

// Fits the three constants of serve::ServingCalibration on the odd rows (1st, 3rd, ... data row)
// by coordinate descent on the mean absolute log error, and prints the errors of the even rows
// (held out). Run by hand: --gtest_also_run_disabled_tests --gtest_filter='*FitCalibration'.
TEST(ServeValidation, DISABLED_FitCalibration) {
  auto catalog = LoadBuiltinCatalog();
  ASSERT_TRUE(catalog.ok());
  auto rows = ReadServingBenchmarks(std::string(AIF_SOURCE_DIR) + "/data/validation/serving.csv");
  ASSERT_TRUE(rows.ok());
  std::vector<serve::ServingBenchmark> odd, even;
  for (size_t i = 0; i < rows->size(); ++i) (i % 2 == 0 ? odd : even).push_back((*rows)[i]);
  auto loss = [&](const serve::ServingCalibration& c, const std::vector<serve::ServingBenchmark>& set) {
    auto p = serve::PredictAll(*catalog, set, &c);
    if (!p.ok()) return 1e9;
    double sum = 0;
    for (const auto& x : *p) sum += std::fabs(std::log(x.predicted / x.row.measured));
    return sum / p->size();
  };
  serve::ServingCalibration c;
  c.gemm_scale = 1.0;
  double best = loss(c, odd);
  const double gemm_steps[] = {0.4, 0.2, 0.1, 0.05};
  const double iter_steps[] = {2e-3, 1e-3, 0.5e-3, 0.25e-3};
  const double ar_steps[] = {40e-6, 20e-6, 10e-6, 5e-6};
  for (int round = 0; round < 4; ++round) {
    for (int param = 0; param < 3; ++param) {
      for (int dir : {+1, -1}) {
        for (;;) {
          serve::ServingCalibration t = c;
          if (param == 0) t.gemm_scale += dir * gemm_steps[round];
          if (param == 1) t.iteration_overhead += Seconds(dir * iter_steps[round]);
          if (param == 2) t.all_reduce_overhead += Seconds(dir * ar_steps[round]);
          if (t.gemm_scale < 0.5 || t.iteration_overhead.value() < 0 || t.all_reduce_overhead.value() < 0) break;
          double l = loss(t, odd);
          if (l >= best) break;
          best = l;
          c = t;
        }
      }
    }
  }
  std::printf("fit on %zu odd rows: gemm_scale %.3f iteration_overhead %.3f ms all_reduce_overhead %.1f us "
              "(mean |log error| %.3f; held-out even rows %.3f)\n",
              odd.size(), c.gemm_scale, c.iteration_overhead.value() * 1e3, c.all_reduce_overhead.value() * 1e6, best,
              loss(c, even));
}

}  // namespace
}  // namespace aif::config
