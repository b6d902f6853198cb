// CHECK: for broken invariants (programmer errors), never for bad input. Bad input gets a Status.
#pragma once

namespace aif::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition, const char* message);
}  // namespace aif::internal

#define AIF_CHECK(condition)                                                   \
  do {                                                                         \
    if (!(condition)) ::aif::internal::CheckFailed(__FILE__, __LINE__, #condition, ""); \
  } while (0)

#define AIF_CHECK_MSG(condition, message)                                              \
  do {                                                                                 \
    if (!(condition)) ::aif::internal::CheckFailed(__FILE__, __LINE__, #condition, message); \
  } while (0)
