// SPDX-License-Identifier: MIT
#include "room_key_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"
#include "lanparty/ctrl/base64url.hpp"

namespace lanparty::gateway {
namespace {

Result<quic::RoomKey> read_key(const std::filesystem::path& path) {
  // The key is one short line; more than this is not a key file.
  constexpr std::size_t kMaxKeyFileBytes = 1024;
  auto read = read_private_file(path, kMaxKeyFileBytes);
  if (!read && read.error().code == make_error_code(Errc::kInvalidArgument)) {
    // Whoever reads the key owns the room: say so beside the fix read_private_file gives.
    return fail(Errc::kInvalidArgument,
                fmt::format("room key: {} (point --room-key at the real file; whoever can "
                            "read or replace it owns your room)",
                            read.error().context));
  }
  if (!read && read.error().code != make_error_code(Errc::kTooLarge)) {
    return fail(read.error().code, fmt::format("room key: {}", read.error().context));
  }
  // A file too large to be a key is reported below as not being a key line.
  std::string_view text = read ? std::string_view(*read) : std::string_view();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const std::string prefix = fmt::format("{} ", quic::kRoomKeyFileTag);
  auto seed =
      text.starts_with(prefix)
          ? ctrl::base64url_decode_array<quic::kEd25519SeedBytes>(text.substr(prefix.size()))
          : tl::unexpected(ctrl::Base64UrlError::kBadLength);
  if (!text.starts_with(prefix) || !seed) {
    return fail(Errc::kCorruptFile,
                fmt::format("room key {} is not a \"{} <key>\" line; restore it from a backup "
                            "(a new key makes a new room owner: players need new invites)",
                            path.string(), quic::kRoomKeyFileTag));
  }
  return quic::RoomKey::from_seed(*seed);
}

}  // namespace

Status ensure_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(dir, ec))) {
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail_errno(errno, fmt::format("create state directory {}", dir.string()));
    }
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return fail_errno(errno, fmt::format("stat {}", dir.string()));
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("state directory {} is not a plain directory (a symbolic link or "
                            "a file); give --state-dir a real directory",
                            dir.string()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fail(Errc::kInvalidArgument,
                fmt::format("state directory {} can be written by others (mode {:o}); run: "
                            "chmod 700 {}",
                            dir.string(), st.st_mode & 07777, dir.string()));
  }
  return ok();
}

Result<quic::RoomKey> load_or_create_room_key(const std::filesystem::path& path, bool* created) {
  if (created != nullptr) *created = false;
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (std::filesystem::exists(status)) return read_key(path);

  auto key = quic::RoomKey::generate();
  if (!key) return tl::unexpected(key.error());
  const std::string line =
      fmt::format("{} {}\n", quic::kRoomKeyFileTag, ctrl::base64url_encode(key->seed()));
  // kKeep: linked into place, never renamed over, so of two gateways racing on a first start
  // the loser reads the winner's key instead of replacing it.
  auto written = write_file_atomically(path, line, FileAccess::kPrivate, IfExists::kKeep);
  if (!written) {
    if (written.error().code == std::errc::file_exists) return read_key(path);
    return fail(written.error().code, fmt::format("create room key: {}", written.error().context));
  }
  if (created != nullptr) *created = true;
  return key;
}

}  // namespace lanparty::gateway
