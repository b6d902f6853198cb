// Serving trace reader and scenario files: real Azure trace, bad rows with file:line, scenario
// errors with file:line:col and "did you mean", a plan that does not fit, the built-in scenario.
#include <gtest/gtest.h>

#include "aifactory/config/catalog_loader.h"
#include "aifactory/config/serve_scenario.h"
#include "aifactory/config/serve_traces.h"

namespace aif::config {
namespace {

const catalog::Catalog& Cat() {
  static const catalog::Catalog cat = *LoadBuiltinCatalog();
  return cat;
}

constexpr const char* kHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

std::string ErrorOf(std::string_view text) {
  auto r = ParseAzureLlmTrace(text, "t.csv");
  return r.ok() ? "" : r.status().message();
}

TEST(AzureTrace, ReadsTheConversationTrace) {
  auto r = ReadAzureLlmTrace(std::string(AIF_SHARED_DIR) +
                             "/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 19366u);  // shared/traces/README.md
  long long in = 0, out = 0;
  for (const auto& q : *r) in += q.prompt_tokens, out += q.output_tokens;
  EXPECT_EQ(in, 22361870);
  EXPECT_EQ(out, 4088665);
  EXPECT_NEAR(r->back().arrival_s, 3501.722, 1e-3);  // span from the README
}

TEST(AzureTrace, BadRowsNameFileLineAndColumn) {
  const std::string ok = "2023-11-16 18:15:46.6805900,374,44\n";
  EXPECT_EQ(ErrorOf(std::string(kHeader) + ok), "");
  EXPECT_NE(ErrorOf(std::string(kHeader) + ok + "2023-11-16 18:15:50.0,abc,44\n")
                .find("t.csv:3: column 'ContextTokens'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kHeader) + "2023-11-16 18:15:50.0,12,0\n")
                .find("t.csv:2: column 'GeneratedTokens'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kHeader) + "2023-13-16 18:15:50.0,12,3\n")
                .find("t.csv:2: column 'TIMESTAMP'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kHeader) + ok + "2023-11-16 18:15:40.0,12,3\n").find("sorted"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kHeader) + "2023-11-16 18:15:50.0,12\n").find("t.csv:2: 2 fields"),
            std::string::npos);
  EXPECT_NE(ErrorOf("TIMESTAMP,Context,GeneratedTokens\n" + ok)
                .find("t.csv:1: missing column 'ContextTokens'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kHeader) + "2023-11-16 18:15:50.0,-5,3\n").find("tokens"),
            std::string::npos);
}

TEST(AzureTrace, TimeScaleCompressesArrivals) {
  const std::string text =
      std::string(kHeader) + "2023-11-16 18:00:00.0,10,5\n2023-11-16 18:00:10.0,10,5\n";
  ServeTraceOptions o;
  o.time_scale = 2;
  auto r = ParseAzureLlmTrace(text, "t.csv", o);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ((*r)[1].arrival_s, 5.0);
}

const char* kScenario = R"(name: test
workloads:
  - task: chat
    rate: 2
    duration: "30 s"
    prompt_tokens: 500
    output_tokens: 50
pools:
  - name: p
    model: llama3-8b
    accelerator: h100-sxm
    plan: {tp: 1}
tasks:
  - name: chat
    targets: {ttft: "1 s"}
    backends: [p]
)";

TEST(ServeScenario, ParsesAndSimulates) {
  auto s = ParseServeScenario(kScenario, "s.yaml", Cat());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_GT(s->scenario.requests.size(), 30u);
  auto r = serve::Simulate(s->scenario);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->completed, r->requests);
}

TEST(ServeScenario, ErrorsPointAtTheKey) {
  std::string text = kScenario;
  text.replace(text.find("accelerator: h100-sxm"), 21, "acelerator: h100-sxm");
  auto s = ParseServeScenario(text, "s.yaml", Cat());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("s.yaml:11:5: pools[0].acelerator"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("did you mean 'accelerator'"), std::string::npos)
      << s.status().message();

  text = kScenario;
  text.replace(text.find("backends: [p]"), 13, "backends: [q]");
  s = ParseServeScenario(text, "s.yaml", Cat());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unknown backend 'q'"), std::string::npos)
      << s.status().message();
}

TEST(ServeScenario, ModelThatDoesNotFitIsAnErrorAtThePlan) {
  std::string text = kScenario;
  text.replace(text.find("model: llama3-8b"), 16, "model: llama3-70b");
  auto s = ParseServeScenario(text, "s.yaml", Cat());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("s.yaml:12:11: pools[0].plan"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("does not fit h100-sxm"), std::string::npos)
      << s.status().message();
}

TEST(ServeScenario, BuiltinScenarioLoadsAndNeedsSources) {
  auto text = BuiltinFile("data/scenarios/serve-llama70b-h100.yaml");
  ASSERT_TRUE(text.ok());
  auto s = ParseServeScenario(*text, "serve.yaml", Cat());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->scenario.pools.size(), 1u);
  EXPECT_EQ(s->scenario.speech.size(), 1u);
  EXPECT_EQ(s->scenario.providers.size(), 1u);
  std::string bad = std::string(kScenario) +
                    "providers:\n  - name: api\n    ttft: \"1 s\"\n    output_tokens_per_s: 50\n"
                    "    price_per_m_input: \"1 USD\"\n    price_per_m_output: \"2 USD\"\n";
  auto b = ParseServeScenario(bad, "s.yaml", Cat());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("source"), std::string::npos) << b.status().message();
}

}  // namespace
}  // namespace aif::config

namespace aif::config {
namespace {

TEST(MooncakeTrace, ReadsHashesAndNamesBadLines) {
  auto r =
      ReadServeTrace(std::string(AIF_SHARED_DIR) + "/traces/mooncake/conversation_trace.jsonl");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 12031u);  // shared/traces/README.md section 2
  size_t blocks = 0;
  for (const auto& q : *r) {
    blocks += q.block_hashes.size();
    EXPECT_EQ(q.block_hashes.size(), static_cast<size_t>((q.prompt_tokens + 511) / 512));
  }
  EXPECT_EQ(blocks, 288500u);
  EXPECT_NEAR(r->back().arrival_s, 3536.999, 1e-6);

  auto bad = ParseMooncakeTrace(
      "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": [1]}\n"
      "{\"timestamp\": 5, \"input_length\": ten, \"output_length\": 5, \"hash_ids\": [1]}\n",
      "m.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("m.jsonl:2: key 'input_length'"), std::string::npos)
      << bad.status().message();
  auto unsorted = ParseMooncakeTrace(
      "{\"timestamp\": 9, \"input_length\": 10, \"output_length\": 5}\n"
      "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 5}\n",
      "m.jsonl");
  ASSERT_FALSE(unsorted.ok());
  EXPECT_NE(unsorted.status().message().find("m.jsonl:2: key 'timestamp'"), std::string::npos);
}

TEST(MooncakeTrace, PrefixCachingReusesBlocksOfTheRealTrace) {
  ServeTraceOptions o;
  o.max_requests = 2000;
  auto requests =
      ReadServeTrace(std::string(AIF_SHARED_DIR) + "/traces/mooncake/conversation_trace.jsonl", o);
  ASSERT_TRUE(requests.ok());
  std::string text = R"(workloads:
  - {task: chat, rate: 1, duration: "1 s", prompt_tokens: 10, output_tokens: 2}
pools:
  - {name: p, model: llama3-8b, accelerator: h100-sxm, instances: 1, precision: fp8, kv_cache: fp8, prefix_caching: true}
tasks:
  - {name: chat, backends: [p]}
)";
  auto s = ParseServeScenario(text, "s.yaml", *LoadBuiltinCatalog());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  s->scenario.requests = *requests;
  auto on = serve::Simulate(s->scenario);
  s->scenario.pools.front().prefix_caching = false;
  auto off = serve::Simulate(s->scenario);
  ASSERT_TRUE(on.ok() && off.ok());
  long long prompt = 0;
  for (const auto& q : *requests) prompt += q.prompt_tokens;
  const double hit = static_cast<double>(on->backends.front().prefix_hit_tokens) / prompt;
  // At most what an infinite cache would reuse on these 2,000 requests (0.294 of the prompt
  // tokens, by the README's definition of leading seen blocks); the GPU's KV cache holds ~1,800
  // blocks of 512 tokens, so conversations that come back minutes later are mostly evicted.
  EXPECT_GT(hit, 0.02);
  EXPECT_LE(hit, 0.295);
  EXPECT_LT(on->ttft.p50, off->ttft.p50);
}

}  // namespace
}  // namespace aif::config

namespace aif::config {
namespace {

// data/scenarios/serve-disaggregated.yaml against one unified pool of the same 8 GPUs: the
// decode tail improves and the first token waits longer; KV flows sharing the prefill
// instance's link take longer than on a dedicated link each, and the TPOT tail shows it.
TEST(ServeScenario, DisaggregatedScenarioShowsTheTtftTpotTrade) {
  auto s = LoadServeScenarioFile(
      std::string(AIF_SOURCE_DIR) + "/data/scenarios/serve-disaggregated.yaml",
      *LoadBuiltinCatalog(), {});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto shared = serve::Simulate(s->scenario);
  serve::SimulateOptions o;
  o.kv_dedicated_links = true;
  auto dedicated = serve::Simulate(s->scenario, o);
  serve::ServeScenario unified = s->scenario;
  unified.pools.resize(1);
  unified.pools.front().role = serve::PoolRole::kUnified;
  unified.pools.front().instances = 2;
  auto one_pool = serve::Simulate(unified);
  ASSERT_TRUE(shared.ok() && dedicated.ok() && one_pool.ok());
  EXPECT_EQ(shared->completed, shared->requests);
  EXPECT_EQ(shared->kv_transfers, dedicated->kv_transfers);
  EXPECT_DOUBLE_EQ(shared->kv_bytes, dedicated->kv_bytes);
  EXPECT_LT(shared->tpot.p90, 0.5 * one_pool->tpot.p90);
  EXPECT_GT(shared->ttft.p90, one_pool->ttft.p90);
  EXPECT_GT(shared->kv_transfer_s.p90, dedicated->kv_transfer_s.p90);
  EXPECT_GE(shared->tpot.p90, dedicated->tpot.p90);
  EXPECT_EQ(shared->ttft.p90, dedicated->ttft.p90);  // the transfer comes after the first token
  RecordProperty("disagg_ttft_p90_ms", std::to_string(shared->ttft.p90 * 1e3));
  RecordProperty("disagg_tpot_p90_ms", std::to_string(shared->tpot.p90 * 1e3));
  RecordProperty("dedicated_tpot_p90_ms", std::to_string(dedicated->tpot.p90 * 1e3));
  RecordProperty("dedicated_kv_p90_ms", std::to_string(dedicated->kv_transfer_s.p90 * 1e3));
  RecordProperty("shared_kv_p90_ms", std::to_string(shared->kv_transfer_s.p90 * 1e3));
  RecordProperty("unified_ttft_p90_ms", std::to_string(one_pool->ttft.p90 * 1e3));
  RecordProperty("unified_tpot_p90_ms", std::to_string(one_pool->tpot.p90 * 1e3));
}

TEST(ServeScenario, ExampleScenariosLoadAndRun) {
  for (const char* name : {"serve-disaggregated.yaml", "serve-mooncake-prefix.yaml"}) {
    ServeScenarioOverrides o;
    o.max_requests = 500;
    auto s = LoadServeScenarioFile(std::string(AIF_SOURCE_DIR) + "/data/scenarios/" + name,
                                   *LoadBuiltinCatalog(), o);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status().ToString();
    auto r = serve::Simulate(s->scenario);
    ASSERT_TRUE(r.ok()) << name;
    EXPECT_EQ(r->completed, r->requests) << name;
  }
}

}  // namespace
}  // namespace aif::config
