// Serving predictions against published measurements (data/validation/serving.csv, described in
// docs/validation-serving.md). Four kinds of row:
//   static_throughput   a static batch: one prefill of `batch` prompts, then output-1 decode steps;
//                       output tokens per second per GPU
//   static_latency      the same batch's end-to-end time, ms
//   ttft                one prompt's prefill (batch 1), ms
//   itl                 the mean decode step (inter-token latency) of `batch` sequences generating
//                       `output` tokens after `input`-token prompts, ms
//   offline_throughput  `requests` requests queued at once on an in-flight-batching engine with up
//                       to `batch` sequences; total output tokens per second (the simulator)
#pragma once

#include <string>
#include <vector>

#include "aifactory/catalog/catalog.h"
#include "aifactory/core/status.h"
#include "aifactory/serve/engine_model.h"

namespace aif::serve {

struct ServingBenchmark {
  int line = 0;
  std::string id, kind, model, accelerator, precision, unit, source;
  int tp = 1;
  double kv_bytes = 2;
  int batch = 1, input = 0, output = 0, requests = 0;
  double measured = 0;
};

struct ServingPrediction {
  ServingBenchmark row;
  double predicted = 0;
  double error = 0;  // (predicted - measured) / measured
};

// Median absolute errors of a set of rows, throughput and latency kinds apart.
struct ServingErrorMedians {
  int throughput_rows = 0, latency_rows = 0;
  double throughput = 0;  // median |error| of the throughput rows
  double latency = 0;     // median |error| of the latency rows
};

struct ServingValidationSummary {
  ServingErrorMedians all;       // every row (in-sample for the fit half)
  ServingErrorMedians fit;       // the rows the calibration was fitted on (InFitSet)
  ServingErrorMedians held_out;  // the others: the estimate of the error on unseen measurements
};

// The fixed split of data/validation/serving.csv: a row is in the fit half when the FNV-1a hash
// (64-bit) of its id is even, and held out otherwise. A hash of the id rather than alternate rows,
// so that neither half follows the tables' order (128 then 2048 input tokens, ...), and a row keeps
// its half when rows are added.
bool InFitSet(const std::string& id);

// `calibration`: null for DefaultServingCalibration().
Result<double> PredictBenchmark(const catalog::Catalog& catalog, const ServingBenchmark& row,
                                const ServingCalibration* calibration = nullptr);
Result<std::vector<ServingPrediction>> PredictAll(const catalog::Catalog& catalog,
                                                  const std::vector<ServingBenchmark>& rows,
                                                  const ServingCalibration* calibration = nullptr);
ServingValidationSummary Summarize(const std::vector<ServingPrediction>& predictions);
ServingErrorMedians MedianErrors(const std::vector<ServingPrediction>& predictions);
bool IsThroughputKind(const std::string& kind);

}  // namespace aif::serve
