// The catalog from YAML: the built-in data compiled into the binary, or user files that add to it.
#pragma once

#include <string>
#include <string_view>

#include "aifactory/catalog/catalog.h"
#include "aifactory/config/yaml_reader.h"

namespace aif::config {

// Reads one catalog file's text (any of the top-level keys accelerators, systems, fabrics,
// models, calibration) into `catalog`. Every value must carry a source.
Status LoadCatalogText(std::string_view text, const std::string& file, catalog::Catalog* catalog);

// One model entry (the `models:` schema of data/catalog/models.yaml), e.g. a shape given inline
// in a scenario. Every value needs its source, as in the catalog.
Result<catalog::Model> ParseModel(const YamlDocument& doc, const YAML::Node& node, const std::string& path);

// A precision name at `node` (bf16, fp16, fp8, mxfp8, nvfp4); an error there names `path`.
Result<catalog::Precision> ReadPrecision(const YamlDocument& doc, const YAML::Node& node, const std::string& path);

// The built-in catalog (data/catalog/*.yaml, embedded at build time), cross-checked.
Result<catalog::Catalog> LoadBuiltinCatalog();

// Text of an embedded data file by its repository path ("data/scenarios/default.yaml").
Result<std::string_view> BuiltinFile(std::string_view path);

}  // namespace aif::config
