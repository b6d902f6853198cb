// Numeric formats of training math.
#pragma once

#include <string_view>

#include "aifactory/core/status.h"

namespace aif::catalog {

enum class Precision { kFp32, kBf16, kFp16, kFp8, kMxfp8, kNvfp4 };

// The tensor-core peak a format's GEMMs run at.
enum class MathClass { k16Bit, k8Bit, k4Bit };

MathClass MathClassOf(Precision p);
const char* PrecisionName(Precision p);
// "bf16", "fp16", "fp8", "mxfp8", "nvfp4", "fp32".
Result<Precision> ParsePrecision(std::string_view name);
// Bytes of one GEMM operand element as stored for the math (bf16: 2, fp8: 1, nvfp4: 0.5 plus
// block scales: 1 byte per 16 elements).
double OperandBytes(Precision p);

// Bytes per parameter of a weight quantized for training in format `p` (0 for 16-bit formats):
// the forward reads it row-wise and the backward's data gradient column-wise. Block-scaled formats
// (MXFP8, NVFP4) scale along the reduced dimension, so each direction is its own quantized copy
// with its own scales; per-tensor FP8 needs a second, transposed copy only where FP8 GEMMs take
// the TN layout alone (`fp8_gemm_tn_only`, Accelerator). Transformer Engine keeps both usages of a
// weight with columnwise usage while gradients are enabled (NVIDIA/TransformerEngine
// transformer_engine/pytorch/module/base.py, quantizer.set_usage(rowwise=True,
// columnwise=torch.is_grad_enabled()) @ d0067d0da; csrc/quantizer.cpp, Float8 quantizers'
// with_transpose = columnwise_usage && !is_non_tn_fp8_gemm_supported).
double TrainingWeightBytes(Precision p, bool fp8_gemm_tn_only);

// What Transformer Engine's dynamic quantization of one GEMM input element costs in a training
// step, as HBM bytes at the memory bandwidth (0 for 16-bit formats): the element is read, its
// scales computed (an extra amax pass for per-tensor and NVFP4 scaling), and rowwise and
// columnwise low-precision copies written (with a Hadamard transform of the weight-gradient
// operands for NVFP4). Measured, not derived from the formats' sizes: see precision.cc.
// The step model counts the forward GEMMs' input elements and charges the backward twice theirs.
// `delayed_scaling`: per-tensor FP8 scaled from an amax history (no amax pass); other formats ignore it.
double QuantizeBytesPerElement(Precision p, bool delayed_scaling = false);

// Time of a GEMM in format `p` relative to a per-tensor-scaled GEMM of its class at the class's
// calibrated efficiency: MXFP8's block-scaled GEMMs against per-tensor FP8 (the 8-bit efficiency is
// measured and fitted on both); 1 for the other formats. Measured, see precision.cc.
double GemmTimeRelative(Precision p);

}  // namespace aif::catalog
