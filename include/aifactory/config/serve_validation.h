// data/validation/serving.csv: published serving measurements to compare predictions with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aifactory/core/status.h"
#include "aifactory/serve/validation.h"

namespace aif::config {

// Columns: id,kind,model,accelerator,tp,precision,kv_bytes,batch,input,output,requests,measured,
// unit,source. A bad row fails with "file:line: column 'c': message".
Result<std::vector<serve::ServingBenchmark>> ParseServingBenchmarks(std::string_view text,
                                                                    const std::string& file);
Result<std::vector<serve::ServingBenchmark>> ReadServingBenchmarks(const std::string& path);

}  // namespace aif::config
