// Accelerators, scale-out fabrics and systems (nodes or racks), each value with its source.
#pragma once

#include <map>
#include <memory>
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
  // What one NCCL channel (one CTA) moves over NVLink in NCCL's own topology model: the
  // per-channel speed its ring search settles on, after it doubles the channels (src/graph/search.cc
  // ncclTopoCompute, ncclTopoDupChannels). It bounds a communicator whose CTAs are capped
  // (train::NcclCtaCaps). Zero where unknown.
  BytesPerSecond nccl_channel_bandwidth;
  Watts tdp;
  // FP8 GEMMs on this accelerator take their operands only in the TN layout (cuBLASLt on compute
  // capability 9.x: Hopper), so a per-tensor-scaled FP8 weight used by the backward pass is kept
  // transposed as well, a second copy; later parts (10.x) read either layout from one copy.
  bool fp8_gemm_tn_only = false;
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
  // Host (CPU) memory of one node, without the GPUs' own memory; 0 when not given. What offloaded
  // activations must fit in, shared by the node's GPUs.
  Bytes host_memory;
  Sources sources;
};

// Kernel efficiency measured by shape on one accelerator (tools/gpu/measure_kernels.py): dense
// GEMM efficiency over an (m, n, k) grid per format, and fused attention's (forward + backward)
// over sequence lengths, each a fraction of the format's peak. The step model takes from it how
// much longer than its roofline a GEMM of each shape runs (perf::ShapePenalty) and how an
// attention kernel's length compares with the best measured; the calibration keeps the level.
struct KernelShapes {
  std::string id;
  std::vector<double> m, n, k;                // GEMM grid axes, ascending
  std::vector<double> gemm_16bit, gemm_8bit;  // m.size() x n.size() x k.size(), m-major; empty: not measured
  // Attention efficiency by sequence length (ascending), causal and unmasked (every query over
  // every key, as in a context-parallel ring step or a sliding window's band).
  std::vector<double> causal_seq, causal;
  std::vector<double> full_seq, full;
  double best_16bit = 0, best_8bit = 0, best_attention = 0;  // the grids' maxima (Catalog::Add sets them)
  // The measured machine: its peaks and the streaming bandwidth measured beside the kernels, the
  // roofline the measured times are held against.
  FlopsPerSecond peak_16bit, peak_8bit;
  BytesPerSecond bandwidth;
  Sources sources;

  // Efficiency at the shape over the best of the format's grid (at most 1), or 0 where the format
  // has no measurement. Between grid points: linear in log2 of each dimension; beyond the largest
  // point: the edge's efficiency; below the smallest: the edge's time (a kernel that small is no
  // faster than the smallest measured one).
  double GemmRelative(MathClass c, double m, double n, double k) const;
  // Attention efficiency at `seq` tokens (causal) or keys per query (unmasked) over the best
  // measured of both, or 0 where that kind was not measured.
  double AttentionRelative(double seq, bool causal) const;
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
  // The kernels measured by shape on this accelerator (or one of its die), by id; resolved by
  // the catalog. Without it, GEMMs lose only the unfilled part of their edge tiles.
  std::string kernel_shapes_id;
  std::shared_ptr<const KernelShapes> kernel_shapes;
  Sources sources;         // per field: what it was fitted on or measured by
};

}  // namespace aif::catalog
