// A training job's settings as JSON keys, shared by the report writers (internal to the report module).
#pragma once

#include <nlohmann/json.hpp>

#include "aifactory/train/job.h"

namespace aif::report {

// Precision and the settings that go with it, sequence length and global batch, in this order; the
// MoE dispatcher and capacity factor (0: dropless) for MoE models, FP8's scaling for per-tensor FP8;
// NCCL's per-communicator CTA caps where any is set.
inline void AddJobSettings(const train::TrainingJob& job, nlohmann::ordered_json& j) {
  j["precision"] = catalog::PrecisionName(job.precision);
  j["low_precision_weights"] = job.low_precision_weights;
  if (job.model.moe) {
    j["moe_dispatcher"] = train::MoeDispatcherName(job.moe_dispatcher);
    j["moe_capacity_factor"] = job.moe_capacity_factor;
  }
  if (job.precision == catalog::Precision::kFp8) j["fp8_scaling"] = train::Fp8ScalingName(job.fp8_scaling);
  j["seq_len"] = job.seq_len;
  j["global_batch"] = job.global_batch;
  if (job.nccl_max_ctas.Any()) {
    nlohmann::ordered_json caps;
    for (auto [field, name] : train::kNcclCtaCapFields) {
      if (job.nccl_max_ctas.*field > 0) caps[name] = job.nccl_max_ctas.*field;
    }
    j["nccl_max_ctas"] = caps;
  }
}

}  // namespace aif::report
