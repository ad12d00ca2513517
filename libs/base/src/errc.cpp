// SPDX-License-Identifier: MIT
#include "lanparty/base/errc.hpp"

#include <cstdio>
#include <cstdlib>

#include "lanparty/base/check.hpp"

namespace lanparty {
namespace {

class LanpartyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "lanparty"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kOk:
        return "success";
      case Errc::kInvalidArgument:
        return "invalid argument";
      case Errc::kParseError:
        return "parse error";
      case Errc::kProtocolViolation:
        return "protocol violation";
      case Errc::kRejected:
        return "rejected by the relay";
      case Errc::kTimedOut:
        return "timed out";
      case Errc::kClosed:
        return "closed";
      case Errc::kWouldBlock:
        return "would block";
      case Errc::kTooLarge:
        return "too large";
      case Errc::kCertificateMismatch:
        return "certificate does not match the pinned one";
      case Errc::kTlsError:
        return "TLS error";
      case Errc::kUnsupportedPlatform:
        return "not supported on this platform";
      case Errc::kNotFound:
        return "not found";
      case Errc::kCorruptFile:
        return "file is corrupt";
      case Errc::kInternal:
        return "internal error";
    }
    return "unknown lanparty error";
  }
};

}  // namespace

const std::error_category& lanparty_category() noexcept {
  static const LanpartyCategory category;
  return category;
}

std::string Error::describe() const {
  if (context.empty()) return code.message();
  return context + ": " + code.message();
}

namespace detail {
void check_failed(const char* expr, const char* file, int line, const char* function) noexcept {
  std::fprintf(stderr, "LANPARTY_CHECK failed: %s at %s:%d (%s)\n", expr, file, line, function);
  std::abort();
}
}  // namespace detail

}  // namespace lanparty
