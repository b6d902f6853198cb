// Status and Result<T>: errors are values. The library never throws across its API and never
// exits; every fallible function returns one of these.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace aif {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the input is malformed or out of range
  kNotFound,         // a named thing (id, file, key) does not exist
  kUnsupported,      // valid input the model cannot handle yet
  kOutOfMemory,      // a plan does not fit in the accelerator's memory
  kIoError,          // a file could not be read or written
  kInternal,         // a broken invariant
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: message", or "OK".
  std::string ToString() const;

  // Prefixes the message with context, e.g. "row 12: " + message.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status OutOfMemory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an OK status carries no value");
    if (status_.ok()) status_ = Internal("Result built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace aif

#define AIF_CONCAT_INNER_(a, b) a##b
#define AIF_CONCAT_(a, b) AIF_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define AIF_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::aif::Status aif_status_ = (expr);      \
    if (!aif_status_.ok()) return aif_status_; \
  } while (0)

// AIF_ASSIGN_OR_RETURN(auto x, MakeX()); declares x from a Result or returns its Status.
#define AIF_ASSIGN_OR_RETURN(lhs, expr) \
  AIF_ASSIGN_OR_RETURN_IMPL_(AIF_CONCAT_(aif_result_, __LINE__), lhs, expr)
#define AIF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
