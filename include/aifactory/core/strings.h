// Small string helpers shared by the parsers: edit distance for "did you mean" suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aif {

// Levenshtein distance between a and b (insertions, deletions, substitutions).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" when there is a close candidate, else "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace aif
