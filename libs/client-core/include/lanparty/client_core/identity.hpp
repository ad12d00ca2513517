// SPDX-License-Identifier: MIT
// The client's stable virtual MAC, kept in lanparty-client-identity.json so the LAN's DHCP
// server hands the same lease back after a restart.
#pragma once

#include <filesystem>
#include <string>

#include "lanparty/base/result.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::client_core {

inline constexpr std::string_view kIdentityFileName = "lanparty-client-identity.json";

// Reads the identity file. kNotFound when it does not exist; kCorruptFile (with the path and
// what is wrong) when it exists but is not a JSON object with a valid unicast "mac". A corrupt
// file is never replaced silently: the player's DHCP lease and firewall rules hang on it.
[[nodiscard]] Result<proto::MacAddress> read_identity(const std::filesystem::path& path);

// Writes {"mac": "..."} atomically: a temporary file in the same folder, flushed, then renamed
// over the target, so a crash leaves the old file or the new one, never half of one.
[[nodiscard]] Status write_identity(const std::filesystem::path& path,
                                    const proto::MacAddress& mac);

// read_identity, or on kNotFound a new identity from `fresh` written to `path`.
[[nodiscard]] Result<proto::MacAddress> load_or_create_identity(const std::filesystem::path& path,
                                                                const proto::MacAddress& fresh);

}  // namespace lanparty::client_core
