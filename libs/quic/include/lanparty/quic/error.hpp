// SPDX-License-Identifier: MIT
// The "quic" error category: ngtcp2 library error numbers (negative ints) with
// ngtcp2_strerror messages, so callers can keep the exact cause in an Error.
#pragma once

#include <system_error>

namespace lanparty::quic {

[[nodiscard]] const std::error_category& quic_category() noexcept;

// An ngtcp2 library error (NGTCP2_ERR_*) as an error_code.
[[nodiscard]] inline std::error_code make_quic_error(int ngtcp2_liberr) noexcept {
  return {ngtcp2_liberr, quic_category()};
}

}  // namespace lanparty::quic
