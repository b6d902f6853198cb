// Kernel cost on one accelerator: a roofline (compute peak vs HBM bandwidth) scaled by the
// accelerator's calibrated efficiency for each kernel class.
#pragma once

#include "aifactory/catalog/hardware.h"
#include "aifactory/core/units.h"

namespace aif::perf {

// One accelerator and its calibration, as the kernel cost functions need them.
struct Device {
  const catalog::Accelerator* accelerator = nullptr;
  const catalog::KernelEfficiency* efficiency = nullptr;
};

// How much longer than its roofline a GEMM of this shape runs, where the accelerator has kernels
// measured by shape (catalog::KernelShapes; else 1): the measured time over the larger of the
// best shape's compute time and the streaming time of its bytes, on the measured machine, at
// least 1. Large GEMMs lose only the gap to the best shape; small ones also their few tiles.
double ShapePenalty(const catalog::KernelEfficiency& e, catalog::Precision p, double m, double n, double k);

// C[m,n] = A[m,k] B[k,n] in precision `p`, `count` times (grouped GEMMs: one per expert).
// Time is the roofline of 2mnk FLOPs against the operand and output bytes, with the calibrated
// (best-shape) efficiency of the precision's GEMM class and a tile-quantization loss on dimensions
// that are not multiples of the 128-wide tensor-core tile, times the shape's ShapePenalty.
Seconds GemmTime(const Device& d, double m, double n, double k, catalog::Precision p, double count = 1);

// Grouped GEMM (one GEMM per local expert, `count` of them): GemmTime at the calibrated
// grouped-GEMM efficiency.
Seconds GroupedGemmTime(const Device& d, double m, double n, double k, catalog::Precision p, double count);

// Fused (flash) attention: `flops` of QK^T and AV matmuls run at the 16-bit peak times the
// calibrated attention efficiency (FP8 training recipes keep attention in BF16), and, where the
// accelerator's kernels were measured by shape and `seq` is given, the measured efficiency of
// that length relative to the best measured: `seq` tokens of causal attention, or, unmasked
// (`causal` false), `seq` keys per query.
Seconds AttentionTime(const Device& d, Flops flops, double seq = 0, bool causal = true);

// Streaming (elementwise, normalization, casting, optimizer) kernels moving `bytes` of HBM traffic.
Seconds MemoryTime(const Device& d, Bytes bytes);

// FLOPs of one GEMM.
inline Flops GemmFlops(double m, double n, double k) { return Flops(2.0 * m * n * k); }

}  // namespace aif::perf
