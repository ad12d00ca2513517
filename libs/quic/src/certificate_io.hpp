// SPDX-License-Identifier: MIT
// Shared by certificate.cpp and the backends' certificate code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "lanparty/base/result.hpp"

namespace lanparty::quic::detail {

// The whole file; kNotFound when it does not exist.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path);

// Per backend: nullopt when der parses as exactly one X.509 certificate, else why not.
[[nodiscard]] std::optional<std::string> der_certificate_problem(std::span<const std::uint8_t> der);

}  // namespace lanparty::quic::detail
