// SPDX-License-Identifier: MIT
#include "lanparty/client_core/identity.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"

namespace lanparty::client_core {

Result<proto::MacAddress> read_identity(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(Errc::kNotFound, fmt::format("identity file {}", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::kCorruptFile, fmt::format("cannot read {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, false);
  const auto corrupt = [&](std::string_view what) {
    return fail(Errc::kCorruptFile,
                fmt::format("{}: {}; fix it, or delete it to get a new virtual MAC (the LAN "
                            "will see a new device)",
                            path.string(), what));
  };
  if (json.is_discarded()) return corrupt("not valid JSON");
  if (!json.is_object()) return corrupt("not a JSON object");
  const auto mac_it = json.find("mac");
  if (mac_it == json.end() || !mac_it->is_string()) return corrupt("no \"mac\" string");
  auto mac = proto::MacAddress::parse(mac_it->get<std::string>());
  if (!mac) return corrupt(mac.error().describe());
  if (!mac->is_unicast() || mac->is_zero()) return corrupt("\"mac\" is not a unicast address");
  return *mac;
}

Status write_identity(const std::filesystem::path& path, const proto::MacAddress& mac) {
  const nlohmann::json json = {{"mac", mac.to_string()}};
  // Private (0600) from its first byte, through no link, replaced whole: see private_file.hpp.
  return write_private_file(path, json.dump(2) + "\n");
}

Result<proto::MacAddress> load_or_create_identity(const std::filesystem::path& path,
                                                  const proto::MacAddress& fresh) {
  auto existing = read_identity(path);
  if (existing) return existing;
  if (existing.error().code != Errc::kNotFound) return existing;
  if (auto st = write_identity(path, fresh); !st) return tl::unexpected(st.error());
  return fresh;
}

}  // namespace lanparty::client_core
