// SPDX-License-Identifier: MIT
// Errors as values (STYLE.md section 2): Result<T> over tl::expected, made [[nodiscard]].
// Use only the subset std::expected shares, so moving to C++23 changes one base class.
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace lanparty {

// What failed and what was being attempted ("bind(0.0.0.0:4433)"), for people and logs.
struct Error {
  std::error_code code;
  std::string context;

  // "context: message", the form every binary prints.
  [[nodiscard]] std::string describe() const;
};

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(tl::expected<T, Error> e) : tl::expected<T, Error>(std::move(e)) {}  // NOLINT
};

using Status = Result<void>;

// The sole place that builds tl::unexpected, so call sites read `return fail(...)`.
[[nodiscard]] inline tl::unexpected<Error> fail(std::error_code code, std::string context) {
  return tl::unexpected<Error>(Error{code, std::move(context)});
}

[[nodiscard]] inline Status ok() { return {}; }

}  // namespace lanparty
