// SPDX-License-Identifier: MIT
// IOCTL buffers of TAP-Windows6 (little-endian ULONGs, a 6-byte MAC) built and checked on our
// side of the seam, and the media-status guard.
#include "lanparty/client_tap/tap_device.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_tap/tap_windows.hpp"

namespace lanparty::client_tap {
namespace {

std::uint32_t load_le32(std::span<const std::uint8_t, 4> b) noexcept {
  return std::uint32_t{b[0]} | (std::uint32_t{b[1]} << 8) | (std::uint32_t{b[2]} << 16) |
         (std::uint32_t{b[3]} << 24);
}

std::array<std::uint8_t, 4> store_le32(std::uint32_t v) noexcept {
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)};
}

tl::unexpected<Error> rewrap(const Error& e, std::string_view doing) {
  return fail(e.code, fmt::format("{}: {}", doing, e.context));
}

}  // namespace

void TapHandle::reset() noexcept {
  if (closer_ != nullptr) {
    for (NativeHandle* h : {&write_event_, &read_event_, &handle_}) {
      if (*h != nullptr) closer_(*h);
    }
  }
  handle_ = read_event_ = write_event_ = nullptr;
  closer_ = nullptr;
}

void TapHandle::swap(TapHandle& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(read_event_, other.read_event_);
  std::swap(write_event_, other.write_event_);
  std::swap(closer_, other.closer_);
}

Result<TapHandle> open_tap(TapDeviceApi& api, std::string_view guid) {
  auto path = tap_device_path(guid);
  if (!path) return fail(path.error().code, path.error().context);
  auto handle = api.create_file(*path);
  if (!handle) return rewrap(handle.error(), fmt::format("open TAP adapter {}", guid));
  return handle;
}

Result<proto::MacAddress> get_mac(TapDeviceApi& api, TapHandle& handle) {
  std::array<std::uint8_t, proto::MacAddress::kSize> out{};
  auto got = api.device_io_control(handle, kIoctlGetMac, {}, out);
  if (!got) return rewrap(got.error(), "TAP_WIN_IOCTL_GET_MAC");
  if (*got < out.size()) {
    return fail(Errc::kProtocolViolation,
                fmt::format("TAP_WIN_IOCTL_GET_MAC returned {} bytes, not 6", *got));
  }
  return proto::MacAddress(out);
}

Result<std::uint32_t> get_mtu(TapDeviceApi& api, TapHandle& handle) {
  std::array<std::uint8_t, 4> out{};
  auto got = api.device_io_control(handle, kIoctlGetMtu, {}, out);
  if (!got) return rewrap(got.error(), "TAP_WIN_IOCTL_GET_MTU");
  if (*got < out.size()) {
    return fail(Errc::kProtocolViolation,
                fmt::format("TAP_WIN_IOCTL_GET_MTU returned {} bytes, not 4", *got));
  }
  return load_le32(out);
}

Status set_media_status(TapDeviceApi& api, TapHandle& handle, bool connected) {
  const auto in = store_le32(connected ? 1 : 0);
  std::array<std::uint8_t, 4> out{};  // the driver echoes the status back
  auto done = api.device_io_control(handle, kIoctlSetMediaStatus, in, out);
  if (!done) {
    return rewrap(done.error(), fmt::format("TAP_WIN_IOCTL_SET_MEDIA_STATUS({})",
                                            connected ? "connected" : "disconnected"));
  }
  return ok();
}

Result<MediaConnectedGuard> MediaConnectedGuard::apply(TapDeviceApi& api, TapHandle& handle,
                                                       obs::Logger log) {
  if (auto set = set_media_status(api, handle, true); !set) {
    return fail(set.error().code, set.error().context);
  }
  log.info("tap.media_connected");
  return MediaConnectedGuard(Disconnect{&api, &handle, log});
}

void MediaConnectedGuard::Disconnect::on_undo_failed(const Error& error) const noexcept {
  log.error("tap.media_restore_failed", {{"error", error.describe()}});
}

Status MediaConnectedGuard::Disconnect::undo() {
  if (auto set = set_media_status(*api, *handle, false); !set) return set;
  log.info("tap.media_disconnected");
  return ok();
}

}  // namespace lanparty::client_tap
