// `aifactory serve` end to end through Main: the built-in scenario, the report files
// (byte-identical across runs), --capacity, --validate, and the errors of a bad trace and a plan
// that does not fit.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "commands.h"

namespace aif::cli {
namespace {

namespace fs = std::filesystem;

std::string TempDir() {
  std::string pattern = (fs::temp_directory_path() / "aif_serve_cli_XXXXXX").string();
  char* dir = mkdtemp(pattern.data());
  return dir ? std::string(dir) : std::string();
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ServeCommand, BuiltinScenarioWritesTheSameReportTwice) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  Output a = Aifactory({"serve", "--quiet", "--out", dir + "/a"});
  Output b = Aifactory({"serve", "--quiet", "--out", dir + "/b"});
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(a.out.find("TTFT  p50"), std::string::npos) << a.out;
  EXPECT_EQ(a.out, b.out);
  const std::string ja = Slurp(fs::path(dir) / "a" / "serve.json");
  EXPECT_NE(ja.find("\"goodput_rps\""), std::string::npos);
  EXPECT_EQ(ja, Slurp(fs::path(dir) / "b" / "serve.json"));
  const std::string html = Slurp(fs::path(dir) / "a" / "serve.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  fs::remove_all(dir);
}

TEST(ServeCommand, CapacityAndValidate) {
  Output c = Aifactory({"serve", "--quiet", "--capacity", "--max-requests", "400"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("capacity: "), std::string::npos) << c.out;
  Output v =
      Aifactory({"serve", "--validate", std::string(AIF_SOURCE_DIR) + "/data/validation/serving.csv"});
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("median |error|"), std::string::npos);
}

TEST(ServeCommand, BadTraceAndImpossiblePlanAreClearErrors) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  const std::string trace = dir + "/bad.csv";
  std::ofstream(trace)
      << "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n"
         "2023-11-16 18:15:47.0,12x,44\n";
  Output t = Aifactory({"serve", "--quiet", "--trace", trace});
  EXPECT_EQ(t.code, 1);
  EXPECT_NE(t.err.find(trace + ":3: column 'ContextTokens'"), std::string::npos) << t.err;

  const std::string scenario = dir + "/s.yaml";
  std::ofstream(scenario)
      << "workloads:\n  - {task: chat, rate: 1, duration: \"10 s\", prompt_tokens: 100, "
         "output_tokens: 10}\npools:\n  - name: p\n    model: llama3.1-405b\n"
         "    accelerator: h100-sxm\n    plan: {tp: 8}\ntasks:\n  - {name: chat, backends: [p]}\n";
  Output p = Aifactory({"serve", "--quiet", scenario});
  EXPECT_EQ(p.code, 1);
  EXPECT_NE(
      p.err.find(scenario + ":7:11: pools[0].plan: llama3.1-405b with plan TP8 PP1 does not fit"),
      std::string::npos)
      << p.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aif::cli
