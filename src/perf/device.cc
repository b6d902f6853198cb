#include "aifactory/perf/device.h"

#include <algorithm>
#include <cmath>

#include "aifactory/core/check.h"

namespace aif::perf {
namespace {

// Fraction of a tensor-core tile that does useful work along one dimension.
double TileFill(double dim) {
  constexpr double kTile = 128;  // CUTLASS/cuBLAS Hopper and Blackwell GEMM tiles are 128 wide
  if (dim <= 0) return 1;
  return dim / (std::ceil(dim / kTile) * kTile);
}

double GemmEfficiency(const catalog::KernelEfficiency& e, catalog::Precision p) {
  switch (catalog::MathClassOf(p)) {
    case catalog::MathClass::k16Bit: return e.gemm_16bit;
    case catalog::MathClass::k8Bit: return e.gemm_8bit;
    case catalog::MathClass::k4Bit: return e.gemm_4bit;
  }
  return e.gemm_16bit;
}

}  // namespace

Seconds GemmTime(const Device& d, double m, double n, double k, catalog::Precision p, double count) {
  AIF_CHECK(d.accelerator && d.efficiency);
  if (m <= 0 || n <= 0 || k <= 0 || count <= 0) return Seconds(0);
  auto peak = d.accelerator->Peak(p);
  // An accelerator without the format's peak runs it at its 16-bit rate.
  double rate = peak.ok() ? peak->value() : d.accelerator->peak_bf16.value();
  double eff = peak.ok() ? GemmEfficiency(*d.efficiency, p) : d.efficiency->gemm_16bit;
  double fill = TileFill(m) * TileFill(n);
  double compute = 2.0 * m * n * k / (rate * eff * fill);
  double operand = catalog::OperandBytes(p);
  double bytes = (m * k + k * n) * operand + m * n * 2.0;  // BF16 output
  double memory = bytes / (d.accelerator->hbm_bandwidth.value() * d.efficiency->memory);
  return Seconds(std::max(compute, memory) * count);
}

Seconds GroupedGemmTime(const Device& d, double m, double n, double k, catalog::Precision p, double count) {
  return GemmTime(d, m, n, k, p, count) / d.efficiency->grouped_gemm;
}

Seconds AttentionTime(const Device& d, Flops flops) {
  AIF_CHECK(d.accelerator && d.efficiency);
  return Seconds(flops.value() / (d.accelerator->peak_bf16.value() * d.efficiency->attention));
}

Seconds MemoryTime(const Device& d, Bytes bytes) {
  AIF_CHECK(d.accelerator && d.efficiency);
  return Seconds(bytes.value() / (d.accelerator->hbm_bandwidth.value() * d.efficiency->memory));
}

}  // namespace aif::perf
