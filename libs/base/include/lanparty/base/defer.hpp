// SPDX-License-Identifier: MIT
// Local one-off cleanup (ngtcp2 examples/template.h). Anything that outlives the
// function gets a named guard instead.
#pragma once

#include <utility>

namespace lanparty {

template <class F>
class [[nodiscard]] Defer {
 public:
  explicit Defer(F f) : f_(std::move(f)) {}
  Defer(const Defer&) = delete;
  Defer& operator=(const Defer&) = delete;
  ~Defer() { f_(); }

 private:
  F f_;
};

}  // namespace lanparty
