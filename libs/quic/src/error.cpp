// SPDX-License-Identifier: MIT
// The "quic" error category over ngtcp2_strerror.
#include "lanparty/quic/error.hpp"

#include <ngtcp2/ngtcp2.h>

#include <string>

namespace lanparty::quic {
namespace {

class QuicCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "quic"; }
  std::string message(int value) const override { return ngtcp2_strerror(value); }
};

}  // namespace

const std::error_category& quic_category() noexcept {
  static const QuicCategory category;
  return category;
}

}  // namespace lanparty::quic
