// SPDX-License-Identifier: MIT
// An open TAP-Windows6 device: the TapDeviceApi seam (CreateFile, DeviceIoControl, overlapped
// ReadFile/WriteFile), the IOCTL helpers built on it, and the guard that owns media status.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/base/scoped_undo.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::client_tap {

// A Win32 HANDLE, opaque outside src/win/.
using NativeHandle = void*;

// Owns a device (or pipe) handle opened for overlapped I/O and the two events its reads and
// writes wait on, so a frame costs no kernel object creation. Move-only; `closer` releases each
// non-null handle on destruction (CloseHandle on Windows; fakes pass a no-op).
class TapHandle {
 public:
  using Closer = void (*)(NativeHandle) noexcept;

  TapHandle() = default;
  TapHandle(NativeHandle handle, NativeHandle read_event, NativeHandle write_event,
            Closer closer) noexcept
      : handle_(handle), read_event_(read_event), write_event_(write_event), closer_(closer) {}
  TapHandle(TapHandle&& other) noexcept { swap(other); }
  TapHandle& operator=(TapHandle&& other) noexcept {
    TapHandle(std::move(other)).swap(*this);
    return *this;
  }
  TapHandle(const TapHandle&) = delete;
  TapHandle& operator=(const TapHandle&) = delete;
  ~TapHandle() { reset(); }

  void reset() noexcept;
  [[nodiscard]] bool valid() const noexcept { return handle_ != nullptr; }
  [[nodiscard]] NativeHandle native() const noexcept { return handle_; }
  [[nodiscard]] NativeHandle read_event() const noexcept { return read_event_; }
  [[nodiscard]] NativeHandle write_event() const noexcept { return write_event_; }

 private:
  void swap(TapHandle& other) noexcept;

  NativeHandle handle_ = nullptr;
  NativeHandle read_event_ = nullptr;
  NativeHandle write_event_ = nullptr;
  Closer closer_ = nullptr;
};

// The device seam: one method per Win32 call, no policy. Not thread-safe per method, but one
// thread may read while another writes (each direction has its own event).
// Errors: kTimedOut (nothing within `timeout`; the I/O was cancelled), kTooLarge (a frame is
// larger than `buffer`), kClosed (the other end went away), kNotFound (no such device),
// otherwise the Win32 code (std::system_category) with context.
class TapDeviceApi {
 public:
  virtual ~TapDeviceApi() = default;
  // CreateFile(path, read+write, FILE_FLAG_OVERLAPPED) plus the two I/O events.
  [[nodiscard]] virtual Result<TapHandle> create_file(std::string_view path) = 0;
  // DeviceIoControl(code, in, out): the number of bytes written to `out`.
  [[nodiscard]] virtual Result<std::size_t> device_io_control(TapHandle& handle, std::uint32_t code,
                                                              std::span<const std::uint8_t> in,
                                                              std::span<std::uint8_t> out) = 0;
  // One overlapped ReadFile of one frame into `buffer`: its length.
  [[nodiscard]] virtual Result<std::size_t> read_file(TapHandle& handle,
                                                      std::span<std::uint8_t> buffer,
                                                      std::chrono::milliseconds timeout) = 0;
  // One overlapped WriteFile of one frame: the bytes written.
  [[nodiscard]] virtual Result<std::size_t> write_file(TapHandle& handle,
                                                       std::span<const std::uint8_t> frame,
                                                       std::chrono::milliseconds timeout) = 0;
};

// The Win32 implementation; kUnsupportedPlatform elsewhere.
[[nodiscard]] Result<std::unique_ptr<TapDeviceApi>> make_tap_device_api();
// Takes ownership of an already open overlapped HANDLE (a named pipe end in tests) and
// creates its I/O events. kUnsupportedPlatform off Windows.
[[nodiscard]] Result<TapHandle> adopt_overlapped_handle(NativeHandle handle);

// Opens \\.\Global\{guid}.tap. kNotFound when no such adapter is present.
[[nodiscard]] Result<TapHandle> open_tap(TapDeviceApi& api, std::string_view guid);
// TAP_WIN_IOCTL_GET_MAC. kProtocolViolation if the driver returns fewer than 6 bytes.
[[nodiscard]] Result<proto::MacAddress> get_mac(TapDeviceApi& api, TapHandle& handle);
// TAP_WIN_IOCTL_GET_MTU. kProtocolViolation if the driver returns fewer than 4 bytes.
[[nodiscard]] Result<std::uint32_t> get_mtu(TapDeviceApi& api, TapHandle& handle);
// TAP_WIN_IOCTL_SET_MEDIA_STATUS.
[[nodiscard]] Status set_media_status(TapDeviceApi& api, TapHandle& handle, bool connected);

// Owns "media connected": sets it on apply, sets disconnected on destruction, so Windows
// never shows a live link for an adapter nobody bridges. `api` and `handle` must outlive it.
class MediaConnectedGuard {
 public:
  [[nodiscard]] static Result<MediaConnectedGuard> apply(TapDeviceApi& api, TapHandle& handle,
                                                         obs::Logger log = {});
  MediaConnectedGuard(MediaConnectedGuard&& other) noexcept = default;  // disarms `other`
  // Disconnects what this guard holds (logging a failure), then takes over `other`.
  MediaConnectedGuard& operator=(MediaConnectedGuard&& other) noexcept = default;
  // Disconnects (ScopedUndo); a failure is logged (tap.media_restore_failed).
  ~MediaConnectedGuard() = default;

  // Sets media disconnected. Idempotent; on error stays armed.
  [[nodiscard]] Status restore() { return disconnect_.run(); }
  [[nodiscard]] bool armed() const noexcept { return disconnect_.armed(); }

 private:
  struct Disconnect {
    TapDeviceApi* api;
    TapHandle* handle;
    obs::Logger log;
    Status undo();
    void on_undo_failed(const Error& error) const noexcept;
  };
  explicit MediaConnectedGuard(Disconnect disconnect) noexcept
      : disconnect_(std::move(disconnect)) {}

  ScopedUndo<Disconnect> disconnect_;
};

}  // namespace lanparty::client_tap
