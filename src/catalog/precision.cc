#include "aifactory/catalog/precision.h"

#include <string>

namespace aif::catalog {

MathClass MathClassOf(Precision p) {
  switch (p) {
    case Precision::kFp8:
    case Precision::kMxfp8: return MathClass::k8Bit;
    case Precision::kNvfp4: return MathClass::k4Bit;
    default: return MathClass::k16Bit;
  }
}

const char* PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kFp16: return "fp16";
    case Precision::kFp8: return "fp8";
    case Precision::kMxfp8: return "mxfp8";
    case Precision::kNvfp4: return "nvfp4";
  }
  return "?";
}

Result<Precision> ParsePrecision(std::string_view name) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kFp16, Precision::kFp8,
                      Precision::kMxfp8, Precision::kNvfp4}) {
    if (name == PrecisionName(p)) return p;
  }
  return InvalidArgument("unknown precision '" + std::string(name) +
                         "', expected one of bf16, fp16, fp8, mxfp8, nvfp4, fp32");
}

double OperandBytes(Precision p) {
  switch (p) {
    case Precision::kFp32: return 4;
    case Precision::kBf16:
    case Precision::kFp16: return 2;
    case Precision::kFp8: return 1;
    case Precision::kMxfp8: return 1 + 1.0 / 32;  // one E8M0 scale per 32 elements (OCP MX spec)
    case Precision::kNvfp4: return 0.5 + 1.0 / 16;  // one E4M3 scale per 16 elements (NVFP4)
  }
  return 2;
}

}  // namespace aif::catalog
