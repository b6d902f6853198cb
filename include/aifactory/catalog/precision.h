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

}  // namespace aif::catalog
