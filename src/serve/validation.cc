#include "aifactory/serve/validation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

#include "aifactory/serve/engine_model.h"
#include "aifactory/serve/simulator.h"

namespace aif::serve {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The output-1 decode steps of `batch` sequences after prompts of `input` tokens.
double DecodeStepsSeconds(const EngineModel& m, int batch, int input, int output) {
  double t = 0;
  for (int k = 1; k < output; ++k) {
    IterationShape s;
    s.decode_sequences = batch;
    s.decode_context = static_cast<double>(batch) * (input + k);
    s.logits = batch;
    t += m.IterationTime(s).value();
  }
  return t;
}

// A static batch: prefill of every prompt (in token-budget chunks), then output-1 decode steps.
double StaticBatchSeconds(const EngineModel& m, int batch, int input, int output) {
  double t = 0;
  long long left = static_cast<long long>(batch) * input;
  const int budget = m.options().max_batch_tokens;
  long long done = 0;
  while (left > 0) {
    IterationShape s;
    s.prefill_tokens = static_cast<int>(std::min<long long>(left, budget));
    // Chunks of whole prompts: each token attends to the earlier tokens of its own prompt.
    s.prefill_attention = s.prefill_tokens * (input / 2.0);
    left -= s.prefill_tokens;
    done += s.prefill_tokens;
    s.logits = left == 0 ? batch : 0;
    t += m.IterationTime(s).value();
  }
  return t + DecodeStepsSeconds(m, batch, input, output);
}

// The mean decode step of `batch` sequences from context input+1 to input+output-1.
double MeanDecodeStepSeconds(const EngineModel& m, int batch, int input, int output) {
  if (output < 2) output = 2;
  return DecodeStepsSeconds(m, batch, input, output) / (output - 1);
}

}  // namespace

bool InFitSet(const std::string& id) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a offset basis
  for (char c : id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;  // FNV prime
  return h % 2 == 0;
}

bool IsThroughputKind(const std::string& kind) {
  return kind == "static_throughput" || kind == "offline_throughput";
}

Result<double> PredictBenchmark(const catalog::Catalog& catalog, const ServingBenchmark& row,
                                const ServingCalibration* calibration) {
  AIF_ASSIGN_OR_RETURN(const catalog::Model* model, catalog.FindModel(row.model));
  AIF_ASSIGN_OR_RETURN(const catalog::Accelerator* acc, catalog.FindAccelerator(row.accelerator));
  AIF_ASSIGN_OR_RETURN(const catalog::KernelEfficiency* eff,
                       catalog.FindEfficiency(row.accelerator));
  AIF_ASSIGN_OR_RETURN(catalog::Precision precision, catalog::ParsePrecision(row.precision));
  EngineOptions options;
  options.weight_precision = precision;
  options.kv_bytes_per_element = row.kv_bytes;
  if (calibration) options.calibration = *calibration;
  InstancePlan plan;
  plan.tp = row.tp;
  if (row.kind == "static_throughput" || row.kind == "static_latency" || row.kind == "ttft" ||
      row.kind == "itl") {
    // Static engines (TensorRT-LLM's gptSessionBenchmark, vLLM's latency benchmark) run the batch's
    // prompts in one context phase; a single request (ttft, itl at batch 1) is the same.
    options.max_batch_sequences = std::max(row.batch, 1);
    options.max_batch_tokens = std::max(8192, row.batch * row.input);
    AIF_ASSIGN_OR_RETURN(EngineModel m, EngineModel::Make(*model, *acc, *eff, plan, options));
    if (row.kind == "ttft") return StaticBatchSeconds(m, 1, row.input, 1) * 1e3;
    if (row.kind == "itl") return MeanDecodeStepSeconds(m, row.batch, row.input, row.output) * 1e3;
    const double t = StaticBatchSeconds(m, row.batch, row.input, row.output);
    if (row.kind == "static_latency") return t * 1e3;
    return static_cast<double>(row.batch) * row.output / t / plan.gpus();
  }
  if (row.kind == "offline_throughput") {
    options.max_batch_sequences = row.batch;
    options.max_batch_tokens = 8192;  // TensorRT-LLM LLM API default max_num_tokens
    options.memory_fraction = 0.9;    // trtllm-bench kv_cache_free_gpu_mem_fraction default
    AIF_ASSIGN_OR_RETURN(EngineModel m, EngineModel::Make(*model, *acc, *eff, plan, options));
    ServeScenario s;
    LlmPool pool;
    pool.name = "engine";
    pool.engine = std::make_shared<EngineModel>(std::move(m));
    s.pools.push_back(pool);
    TaskClass t;
    t.name = "offline";
    t.backends = {"engine"};
    s.tasks.push_back(t);
    for (int i = 0; i < row.requests; ++i) {
      Request q;
      q.prompt_tokens = row.input;
      q.output_tokens = row.output;
      s.requests.push_back(q);
    }
    AIF_ASSIGN_OR_RETURN(ServeResult r, Simulate(s));
    return r.output_tokens_per_s;
  }
  return InvalidArgument(fmt::format("line {}: unknown kind '{}'", row.line, row.kind));
}

Result<std::vector<ServingPrediction>> PredictAll(const catalog::Catalog& catalog,
                                                  const std::vector<ServingBenchmark>& rows,
                                                  const ServingCalibration* calibration) {
  std::vector<ServingPrediction> out;
  for (const ServingBenchmark& row : rows) {
    auto p = PredictBenchmark(catalog, row, calibration);
    if (!p.ok()) return p.status().WithContext(fmt::format("row {} ({})", row.id, row.line));
    ServingPrediction sp;
    sp.row = row;
    sp.predicted = *p;
    sp.error = (*p - row.measured) / row.measured;
    out.push_back(sp);
  }
  return out;
}

ServingErrorMedians MedianErrors(const std::vector<ServingPrediction>& predictions) {
  std::vector<double> tput, lat;
  for (const auto& p : predictions) {
    (IsThroughputKind(p.row.kind) ? tput : lat).push_back(std::fabs(p.error));
  }
  ServingErrorMedians m;
  m.throughput_rows = static_cast<int>(tput.size());
  m.latency_rows = static_cast<int>(lat.size());
  m.throughput = Median(tput);
  m.latency = Median(lat);
  return m;
}

ServingValidationSummary Summarize(const std::vector<ServingPrediction>& predictions) {
  std::vector<ServingPrediction> fit, held_out;
  for (const auto& p : predictions) (InFitSet(p.row.id) ? fit : held_out).push_back(p);
  ServingValidationSummary s;
  s.all = MedianErrors(predictions);
  s.fit = MedianErrors(fit);
  s.held_out = MedianErrors(held_out);
  return s;
}

}  // namespace aif::serve
