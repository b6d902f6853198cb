// Fuzzing of the scenario reader: every built-in scenario, mutated many times, must either load
// or fail with a located message; it must never crash, hang or hand back a scenario the step
// model cannot evaluate. The dev preset runs this under ASan and UBSan.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "aifactory/config/scenario.h"
#include "aifactory/core/file.h"
#include "aifactory/core/random.h"
#include "aifactory/train/plan_search.h"
#include "aifactory/train/step_model.h"
#include "aifactory_test/builtin_catalog.h"

namespace aif::config {
namespace {

const char* const kScenarios[] = {"default.yaml", "gb300-46k-next-gen.yaml", "h100-15k-moe.yaml",
                                  "llama3-405b-16k-h100.yaml", "tens-of-trillions.yaml"};

// One mutation of YAML text at a random place: truncation, a flipped byte, a character YAML
// gives meaning to, a duplicated or deleted line, a changed digit, or a changed indentation.
void Mutate(std::string& text, Rng& rng) {
  if (text.empty()) return;
  const size_t at = rng.Below(text.size());
  auto line_bounds = [&](size_t pos) {
    size_t begin = text.rfind('\n', pos);
    begin = begin == std::string::npos ? 0 : begin + 1;
    size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    return std::pair{begin, end};
  };
  switch (rng.Below(7)) {
    case 0:
      text.resize(at);
      break;
    case 1:
      text[at] = static_cast<char>(text[at] ^ static_cast<char>(1 + rng.Below(255)));
      break;
    case 2: {
      static constexpr char kSpecial[] = {':', '-', '&', '*', '!', '[', '{', '"', '\'', '#', '|', '\n', ' ', '\t'};
      text.insert(at, 1, kSpecial[rng.Below(sizeof(kSpecial))]);
      break;
    }
    case 3: {
      auto [begin, end] = line_bounds(at);
      text.insert(end, text.substr(begin, end - begin));
      break;
    }
    case 4: {
      auto [begin, end] = line_bounds(at);
      text.erase(begin, end - begin);
      break;
    }
    case 5:
      text[at] = static_cast<char>('0' + rng.Below(10));
      break;
    default: {
      auto [begin, end] = line_bounds(at);
      text.insert(begin, std::string(1 + rng.Below(4), ' '));
      break;
    }
  }
}

TEST(ScenarioFuzz, MutatedBuiltinScenariosLoadOrFailWithALocatedMessage) {
  const catalog::Catalog& cat = ::aif::testing::BuiltinCatalog();
  Rng rng(20261203);
  int loaded = 0, refused = 0, evaluated = 0;
  for (const char* name : kScenarios) {
    const std::string path = std::string(AIF_SOURCE_DIR) + "/data/scenarios/" + name;
    Result<std::string> base = ReadFileBounded(path, 1 << 20);
    ASSERT_TRUE(base.ok()) << base.status().ToString();
    ASSERT_TRUE(ParseScenario(*base, name, cat).ok()) << name;
    for (int iteration = 0; iteration < 400; ++iteration) {
      std::string text = *base;
      const int mutations = 1 + static_cast<int>(rng.Below(3));
      for (int i = 0; i < mutations; ++i) Mutate(text, rng);
      Result<Scenario> s = ParseScenario(text, name, cat);
      if (!s.ok()) {
        ++refused;
        // Every refusal names the file it read.
        EXPECT_NE(s.status().message().find(name), std::string::npos) << s.status().message();
        continue;
      }
      ++loaded;
      EXPECT_GT(s->cluster.gpus, 0);
      EXPECT_GT(s->job.seq_len, 0);
      EXPECT_GT(s->job.global_batch, 0);
      // The step model accepts or refuses cleanly whatever values a mutant carries: the
      // scenario's plan, or plain data parallelism when it names none.
      train::ParallelPlan plan;
      plan.dp = s->cluster.gpus;
      if (s->plan) plan = *s->plan;
      {
        Result<train::StepEstimate> e = train::EstimateStep(s->job, s->cluster, plan);
        if (e.ok()) {
          ++evaluated;
          EXPECT_TRUE(std::isfinite(e->step_time.value()));
          EXPECT_GT(e->step_time.value(), 0);
        } else {
          EXPECT_FALSE(e.status().message().empty());
        }
      }
    }
  }
  // Enough mutants on both sides for the test to mean something.
  EXPECT_GT(loaded, 200);
  EXPECT_GT(refused, 400);
  RecordProperty("loaded", loaded);
  RecordProperty("refused", refused);
  RecordProperty("evaluated", evaluated);
}

// The search limits and the memory reserve, mutated: the reader refuses with a located message or
// hands the search options it accepts to a search that runs.
TEST(ScenarioFuzz, MutatedSearchLimitsLoadAndSearchOrFailWithALocatedMessage) {
  const catalog::Catalog& cat = ::aif::testing::BuiltinCatalog();
  const std::string base = R"(cluster:
  system: dgx-h100
  gpus: 64
  memory_reserve: "4 GB"
model: qwen3-30b-a3b
training: {seq_len: 4096, global_batch: 256}
search:
  micro_batches: [1, 2, 4]
  virtual_stages: [1, 2]
  context_parallel: [1, 2]
  zero_stages: [1, 3]
  recompute: [none, selective, full]
  offload: false
  max_tp: 8
  max_pp: 4
  max_ep: 8
)";
  ASSERT_TRUE(ParseScenario(base, "s.yaml", cat).ok()) << ParseScenario(base, "s.yaml", cat).status().ToString();
  Rng rng(20261204);
  int loaded = 0, refused = 0;
  for (int iteration = 0; iteration < 600; ++iteration) {
    std::string text = base;
    const int mutations = 1 + static_cast<int>(rng.Below(2));
    for (int i = 0; i < mutations; ++i) Mutate(text, rng);
    Result<Scenario> s = ParseScenario(text, "s.yaml", cat);
    if (!s.ok()) {
      ++refused;
      EXPECT_EQ(s.status().message().rfind("s.yaml:", 0), 0u) << s.status().message();
      continue;
    }
    ++loaded;
    train::SearchOptions o = s->search;
    o.top = 1;
    Result<train::SearchResult> r = train::SearchPlans(s->job, s->cluster, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& p : r->best) EXPECT_TRUE(p.estimate.fits_in_memory);
  }
  EXPECT_GT(loaded, 100);
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace aif::config
