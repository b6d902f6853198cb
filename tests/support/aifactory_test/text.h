// Assertions shared by the test binaries.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace aif::testing {

// Passes when `text` contains `part`; on failure prints both.
inline ::testing::AssertionResult HasText(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

}  // namespace aif::testing
