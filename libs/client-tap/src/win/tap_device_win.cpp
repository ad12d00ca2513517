// SPDX-License-Identifier: MIT
// TapDeviceApi over kernel32: CreateFileW, DeviceIoControl and overlapped ReadFile/WriteFile,
// each direction waiting on its own event owned by the TapHandle.
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <windows.h>

#include "lanparty/client_tap/tap_device.hpp"
#include "win/win_util.hpp"

namespace lanparty::client_tap {
namespace {

void close_native(NativeHandle handle) noexcept { ::CloseHandle(static_cast<HANDLE>(handle)); }

HANDLE h(NativeHandle handle) noexcept { return static_cast<HANDLE>(handle); }

DWORD to_wait_ms(std::chrono::milliseconds timeout) noexcept {
  if (timeout.count() < 0) return 0;
  // INFINITE is 0xFFFFFFFF; clamp just below so a long timeout never turns into "forever".
  return timeout.count() >= 0xFFFFFFFELL ? 0xFFFFFFFEu : static_cast<DWORD>(timeout.count());
}

// Manual-reset events, unsignaled: ReadFile/WriteFile reset them at the start of each I/O.
Result<TapHandle> with_events(HANDLE handle, const char* what) {
  HANDLE read_event = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  HANDLE write_event = read_event ? ::CreateEventW(nullptr, TRUE, FALSE, nullptr) : nullptr;
  if (write_event == nullptr) {
    const DWORD code = ::GetLastError();
    if (read_event) ::CloseHandle(read_event);
    ::CloseHandle(handle);
    return win::error(code, fmt::format("CreateEvent for {}", what));
  }
  return TapHandle(handle, read_event, write_event, &close_native);
}

// Waits for an overlapped I/O started on `handle`; on timeout cancels it and waits for the
// cancellation, so `ov` (on the caller's stack) is never written after we return. An I/O that
// completed in the race with the cancel still counts.
Result<std::size_t> finish_overlapped(HANDLE handle, HANDLE event, OVERLAPPED& ov,
                                      std::chrono::milliseconds timeout, const char* what) {
  const DWORD waited = ::WaitForSingleObject(event, to_wait_ms(timeout));
  DWORD transferred = 0;
  if (waited == WAIT_TIMEOUT) {
    ::CancelIoEx(handle, &ov);
    if (::GetOverlappedResult(handle, &ov, &transferred, TRUE)) return transferred;
    const DWORD code = ::GetLastError();
    if (code == ERROR_OPERATION_ABORTED) {
      return fail(Errc::kTimedOut, fmt::format("{}: nothing within {} ms", what, timeout.count()));
    }
    return win::error(code, what);
  }
  if (waited != WAIT_OBJECT_0) {
    const DWORD code = ::GetLastError();
    ::CancelIoEx(handle, &ov);
    ::GetOverlappedResult(handle, &ov, &transferred, TRUE);
    return win::error(code, fmt::format("{}: WaitForSingleObject", what));
  }
  if (!::GetOverlappedResult(handle, &ov, &transferred, FALSE)) {
    return win::error(::GetLastError(), what);
  }
  return transferred;
}

class WinTapDevice final : public TapDeviceApi {
 public:
  Result<TapHandle> create_file(std::string_view path) override {
    // FILE_ATTRIBUTE_SYSTEM as tap-windows6's own clients pass it; OVERLAPPED so a read can
    // wait with a timeout and be cancelled.
    HANDLE handle =
        ::CreateFileW(win::widen(path).c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                      OPEN_EXISTING, FILE_ATTRIBUTE_SYSTEM | FILE_FLAG_OVERLAPPED, nullptr);
    if (handle == INVALID_HANDLE_VALUE) {
      return win::error(::GetLastError(), fmt::format("CreateFile({})", path));
    }
    return with_events(handle, "TAP device");
  }

  Result<std::size_t> device_io_control(TapHandle& handle, std::uint32_t code,
                                        std::span<const std::uint8_t> in,
                                        std::span<std::uint8_t> out) override {
    // The handle is overlapped, so even an IOCTL needs an OVERLAPPED; it reuses the write
    // event (IOCTLs and writes come from the same thread in the client).
    OVERLAPPED ov;
    std::memset(&ov, 0, sizeof(ov));
    ov.hEvent = h(handle.write_event());
    DWORD returned = 0;
    const std::string what = fmt::format("DeviceIoControl(0x{:08X})", code);
    if (::DeviceIoControl(h(handle.native()), code, const_cast<std::uint8_t*>(in.data()),
                          static_cast<DWORD>(in.size()), out.data(), static_cast<DWORD>(out.size()),
                          &returned, &ov)) {
      return returned;
    }
    const DWORD error = ::GetLastError();
    if (error != ERROR_IO_PENDING) return win::error(error, what);
    return finish_overlapped(h(handle.native()), h(handle.write_event()), ov,
                             std::chrono::seconds(5), what.c_str());
  }

  Result<std::size_t> read_file(TapHandle& handle, std::span<std::uint8_t> buffer,
                                std::chrono::milliseconds timeout) override {
    OVERLAPPED ov;
    std::memset(&ov, 0, sizeof(ov));
    ov.hEvent = h(handle.read_event());
    DWORD got = 0;
    if (::ReadFile(h(handle.native()), buffer.data(), static_cast<DWORD>(buffer.size()), &got,
                   &ov)) {
      return got;
    }
    const DWORD error = ::GetLastError();
    if (error != ERROR_IO_PENDING) return win::error(error, "ReadFile(frame)");
    return finish_overlapped(h(handle.native()), h(handle.read_event()), ov, timeout,
                             "ReadFile(frame)");
  }

  Result<std::size_t> write_file(TapHandle& handle, std::span<const std::uint8_t> frame,
                                 std::chrono::milliseconds timeout) override {
    OVERLAPPED ov;
    std::memset(&ov, 0, sizeof(ov));
    ov.hEvent = h(handle.write_event());
    DWORD put = 0;
    if (::WriteFile(h(handle.native()), frame.data(), static_cast<DWORD>(frame.size()), &put,
                    &ov)) {
      return put;
    }
    const DWORD error = ::GetLastError();
    if (error != ERROR_IO_PENDING) return win::error(error, "WriteFile(frame)");
    return finish_overlapped(h(handle.native()), h(handle.write_event()), ov, timeout,
                             "WriteFile(frame)");
  }
};

}  // namespace

Result<std::unique_ptr<TapDeviceApi>> make_tap_device_api() {
  return std::unique_ptr<TapDeviceApi>(std::make_unique<WinTapDevice>());
}

Result<TapHandle> adopt_overlapped_handle(NativeHandle handle) {
  if (handle == nullptr || h(handle) == INVALID_HANDLE_VALUE) {
    return fail(Errc::kInvalidArgument, "adopt_overlapped_handle: not an open handle");
  }
  return with_events(h(handle), "adopted handle");
}

}  // namespace lanparty::client_tap
