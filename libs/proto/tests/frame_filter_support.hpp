// SPDX-License-Identifier: MIT
// Test helper shared by frame_filter_test.cpp and frame_filter_property_test.cpp: the room MTU
// and sender-role shorthands their check_frame calls use.
#pragma once

#include <cstddef>

#include "lanparty/proto/frame_filter.hpp"

namespace lanparty::proto::testing {

// The default room MTU of PROTOCOL.md section 4 (kDefaultMaxMtu), what most rows run under.
inline constexpr std::size_t kMtu = 1380;

inline constexpr auto kClient = SenderRole::kClient;
inline constexpr auto kGateway = SenderRole::kGateway;

}  // namespace lanparty::proto::testing
