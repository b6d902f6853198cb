// Accelerators, scale-out fabrics and systems (nodes or racks), each value with its source.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aifactory/catalog/precision.h"
#include "aifactory/core/units.h"

namespace aif::catalog {

// Where each value came from: dotted key ("peak.bf16") -> citation.
using Sources = std::map<std::string, std::string>;

struct Accelerator {
  std::string id;
  std::string name;
  std::string vendor;
  // Dense tensor-core peaks (no sparsity). Zero where unknown.
  FlopsPerSecond peak_bf16, peak_fp16, peak_fp8, peak_fp4;
  Bytes hbm_capacity;
  BytesPerSecond hbm_bandwidth;
  // Per GPU, per direction.
  BytesPerSecond scale_up_bandwidth;
  Watts tdp;
  // The format published training recipes use on this accelerator, for inputs that do not say.
  Precision usual_training_precision = Precision::kBf16;
  // Where one framework's published recipes use another format on this accelerator: framework
  // name (matched as a substring of a run's framework text) and its format, in catalog order.
  std::vector<std::pair<std::string, Precision>> usual_training_precision_in;
  Sources sources;

  // The usual training format of a run made with `framework` (free text; may be empty).
  Precision UsualTrainingPrecision(std::string_view framework) const;

  // The dense peak a GEMM in this precision runs at; an error names what is missing.
  Result<FlopsPerSecond> Peak(Precision p) const;
};

struct Fabric {
  std::string id;
  std::string name;
  std::string kind;  // infiniband | roce | ethernet
  BytesPerSecond port_bandwidth;
  Seconds latency;
  bool in_network_reduction = false;
  Sources sources;
};

struct System {
  std::string id;
  std::string name;
  std::string accelerator;  // Accelerator id
  int gpus_per_node = 8;
  int nvlink_domain = 8;    // GPUs sharing one scale-up (NVLink) domain
  std::string scale_out_fabric;
  int nics_per_gpu = 1;
  // Each GPU's link to host memory, per direction (PCIe or NVLink-C2C); 0 when not given. What
  // activation offloading moves activations over.
  BytesPerSecond host_link_bandwidth;
  Sources sources;
};

// Calibrated kernel efficiencies of one accelerator: the fraction of a peak that a kernel class
// reaches on large shapes. Fitted per accelerator and kernel class only (docs/validation.md).
struct KernelEfficiency {
  std::string accelerator;
  double gemm_16bit = 0;   // bf16/fp16 GEMM, fraction of the 16-bit peak
  double gemm_8bit = 0;    // fp8/mxfp8 GEMM, fraction of the 8-bit peak
  double gemm_4bit = 0;    // nvfp4 GEMM, fraction of the 4-bit peak
  double grouped_gemm = 1; // MoE expert (grouped) GEMMs, relative to the dense GEMM of the format
  double attention = 0;    // fused attention, fraction of the 16-bit peak
  double memory = 0;       // streaming kernels, fraction of HBM bandwidth
  double scale_up = 0;     // collective bus bandwidth, fraction of NVLink per-direction peak
  double scale_out = 0;    // collective bus bandwidth, fraction of NIC line rate
  Seconds scale_up_latency;  // per collective step inside an NVLink domain
  // Host (CPU) time per kernel that an eager framework launches: the runtime launch plus the
  // framework's dispatch. The GPU waits for it when its kernels are shorter.
  Seconds host_kernel;
  // Slowdown of compute while a collective runs beside it (its kernels take SMs and memory
  // bandwidth): the overlapped part of the compute takes (1 + overlap_slowdown) times as long.
  double overlap_slowdown = 0;
  Sources sources;         // per field: what it was fitted on or measured by
};

}  // namespace aif::catalog
