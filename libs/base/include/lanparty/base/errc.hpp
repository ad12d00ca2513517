// SPDX-License-Identifier: MIT
// lanparty's own error codes, one category (libtorrent error_code.hpp style).
#pragma once

#include <string>
#include <system_error>

#include "lanparty/base/result.hpp"

namespace lanparty {

enum class Errc {
  kOk = 0,
  kInvalidArgument,      // a caller-supplied value (flag, address, file contents) is invalid
  kParseError,           // bytes or text did not parse
  kProtocolViolation,    // the peer broke PROTOCOL.md
  kRejected,             // the relay answered hello with reject
  kTimedOut,             // a deadline passed
  kClosed,               // the connection or stream is closed
  kWouldBlock,           // try again later (flow or congestion control)
  kTooLarge,             // larger than the current budget
  kCertificateMismatch,  // the peer's certificate is not the pinned one
  kTlsError,             // GnuTLS failed
  kUnsupportedPlatform,  // this build has no implementation on this OS
  kNotFound,             // a named thing (file, device, interface) does not exist
  kCorruptFile,          // a file exists but its contents are damaged
  kInternal,             // a bug: an invariant did not hold
};

[[nodiscard]] const std::error_category& lanparty_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), lanparty_category()};
}

// Shorthand for the common case of failing with our own code.
[[nodiscard]] inline tl::unexpected<Error> fail(Errc code, std::string context) {
  return fail(make_error_code(code), std::move(context));
}

// errno (or any system error number) with context.
[[nodiscard]] inline tl::unexpected<Error> fail_errno(int err, std::string context) {
  return fail(std::error_code(err, std::system_category()), std::move(context));
}

}  // namespace lanparty

template <>
struct std::is_error_code_enum<lanparty::Errc> : std::true_type {};
