#include <gtest/gtest.h>

#include "aifactory/core/random.h"
#include "aifactory/core/status.h"
#include "aifactory/core/strings.h"
#include "aifactory/core/units.h"

namespace aif {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  AIF_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Status, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd");
  EXPECT_EQ(r.status().ToString(), "InvalidArgument: odd");
}

TEST(Units, ParsesBitsAndBytes) {
  EXPECT_DOUBLE_EQ(*ParseQuantity("400 Gb/s", Dimension::kBytesPerSecond), 50e9);
  EXPECT_DOUBLE_EQ(*ParseQuantity("900 GB/s", Dimension::kBytesPerSecond), 900e9);
  EXPECT_DOUBLE_EQ(*ParseQuantity("80 GiB", Dimension::kBytes), 80.0 * 1073741824.0);
  EXPECT_DOUBLE_EQ(*ParseQuantity("989 TFLOP/s", Dimension::kFlopsPerSecond), 989e12);
  EXPECT_DOUBLE_EQ(*ParseQuantity("1.2 kW", Dimension::kWatts), 1200);
  EXPECT_DOUBLE_EQ(*ParseQuantity("1.5 us", Dimension::kSeconds), 1.5e-6);
  EXPECT_DOUBLE_EQ(*ParseQuantity("$2.5", Dimension::kDollars), 2.5);
}

TEST(Units, RejectsMissingOrWrongUnit) {
  auto bare = ParseQuantity("900", Dimension::kBytesPerSecond);
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("unit is missing"), std::string::npos);
  EXPECT_FALSE(ParseQuantity("900 W", Dimension::kBytesPerSecond).ok());
  EXPECT_FALSE(ParseQuantity("fast", Dimension::kBytesPerSecond).ok());
  EXPECT_FALSE(ParseQuantity("", Dimension::kBytes).ok());
  EXPECT_FALSE(ParseQuantity("inf GB", Dimension::kBytes).ok());
}

TEST(Units, TypedArithmetic) {
  Seconds t = Flops(2e15) / FlopsPerSecond(1e15);
  EXPECT_DOUBLE_EQ(t.value(), 2.0);
  Joules e = Watts(700) * Seconds(10);
  EXPECT_DOUBLE_EQ(e.value(), 7000);
  EXPECT_EQ(FormatSi(1.5e12, "FLOP/s"), "1.5 TFLOP/s");
}

TEST(Strings, DidYouMean) {
  std::vector<std::string> ids = {"h100-sxm", "h200", "b200", "gb200"};
  EXPECT_EQ(ClosestMatch("h100-sx", ids), "h100-sxm");
  EXPECT_EQ(ClosestMatch("tpu-v9-ultra", ids), "");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(Random, DeterministicAndInRange) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = a.Below(7);
    EXPECT_EQ(x, b.Below(7));
    EXPECT_LT(x, 7u);
    double u = a.Uniform();
    b.Uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace aif
