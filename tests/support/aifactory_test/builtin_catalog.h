// The built-in catalog, loaded once per test binary (for tests that link the config module).
#pragma once

#include <gtest/gtest.h>

#include "aifactory/config/catalog_loader.h"

namespace aif::testing {

inline const catalog::Catalog& BuiltinCatalog() {
  static const catalog::Catalog* const kCatalog = [] {
    Result<catalog::Catalog> c = config::LoadBuiltinCatalog();
    if (!c.ok()) {
      ADD_FAILURE() << c.status().ToString();
      return new catalog::Catalog();
    }
    return new catalog::Catalog(std::move(*c));
  }();
  return *kCatalog;
}

}  // namespace aif::testing
