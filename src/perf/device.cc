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

// Bytes a GEMM moves through HBM: its operands in their format, its output in BF16.
double GemmBytes(double m, double n, double k, catalog::Precision p) {
  return (m * k + k * n) * catalog::OperandBytes(p) + m * n * 2.0;
}

}  // namespace

double ShapePenalty(const catalog::KernelEfficiency& e, catalog::Precision p, double m, double n, double k) {
  const catalog::KernelShapes* t = e.kernel_shapes.get();
  if (!t || m <= 0 || n <= 0 || k <= 0) return 1;
  const catalog::MathClass c = catalog::MathClassOf(p);
  const double peak = (c == catalog::MathClass::k8Bit ? t->peak_8bit : t->peak_16bit).value();
  const double best = c == catalog::MathClass::k8Bit ? t->best_8bit : t->best_16bit;
  if (peak <= 0 || best <= 0 || t->bandwidth.value() <= 0) return 1;
  // The grid's points are whole tiles from 128 up: a dimension between them runs as the GEMM
  // padded to whole tiles (whose loss the tile fill charges). Below 128 the grid holds the loss.
  auto padded = [](double dim) { return dim >= 128 ? dim / TileFill(dim) : dim; };
  const double pm = padded(m), pn = padded(n);
  const double rel = t->GemmRelative(c, pm, pn, k);
  if (rel <= 0) return 1;
  const double flops = 2.0 * pm * pn * k;
  const double measured = flops / (peak * best * rel);
  const double roofline = std::max(flops / (peak * best), GemmBytes(pm, pn, k, p) / t->bandwidth.value());
  return std::max(1.0, measured / roofline);
}

Seconds GemmTime(const Device& d, double m, double n, double k, catalog::Precision p, double count) {
  AIF_CHECK(d.accelerator && d.efficiency);
  if (m <= 0 || n <= 0 || k <= 0 || count <= 0) return Seconds(0);
  auto peak = d.accelerator->Peak(p);
  // An accelerator without the format's peak runs it at its 16-bit rate.
  double rate = peak.ok() ? peak->value() : d.accelerator->peak_bf16.value();
  double eff = peak.ok() ? GemmEfficiency(*d.efficiency, p) : d.efficiency->gemm_16bit;
  double fill = TileFill(m) * TileFill(n);
  double compute = 2.0 * m * n * k / (rate * eff * fill) * (peak.ok() ? catalog::GemmTimeRelative(p) : 1.0);
  double memory = GemmBytes(m, n, k, p) / (d.accelerator->hbm_bandwidth.value() * d.efficiency->memory);
  return Seconds(std::max(compute, memory) * ShapePenalty(*d.efficiency, p, m, n, k) * count);
}

Seconds GroupedGemmTime(const Device& d, double m, double n, double k, catalog::Precision p, double count) {
  return GemmTime(d, m, n, k, p, count) / d.efficiency->grouped_gemm;
}

Seconds AttentionTime(const Device& d, Flops flops, double seq, bool causal) {
  AIF_CHECK(d.accelerator && d.efficiency);
  double rel = d.efficiency->kernel_shapes && seq > 0 ? d.efficiency->kernel_shapes->AttentionRelative(seq, causal) : 0.0;
  if (rel <= 0) rel = 1;
  return Seconds(flops.value() / (d.accelerator->peak_bf16.value() * d.efficiency->attention * rel));
}

Seconds MemoryTime(const Device& d, Bytes bytes) {
  AIF_CHECK(d.accelerator && d.efficiency);
  return Seconds(bytes.value() / (d.accelerator->hbm_bandwidth.value() * d.efficiency->memory));
}

}  // namespace aif::perf
