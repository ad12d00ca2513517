// SPDX-License-Identifier: MIT
// Fakes for client-tap: FakeRegistry (a map of key paths to subkeys and string values) and
// FakeTapDevice (two frame queues plus scripted IOCTL answers, wireguard-go's ChannelTUN idea).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_tap/tap_device.hpp"
#include "lanparty/client_tap/tap_windows.hpp"

namespace lanparty::client_tap::testing {

class FakeRegistry final : public RegistryApi {
 public:
  // Creates `path` (and registers it as a subkey of its parent).
  void add_key(const std::string& path) {
    keys_[path];
    const auto slash = path.rfind('\\');
    if (slash != std::string::npos) {
      auto& siblings = keys_[path.substr(0, slash)].subkeys;
      const std::string name = path.substr(slash + 1);
      if (std::find(siblings.begin(), siblings.end(), name) == siblings.end()) {
        siblings.push_back(name);
      }
    }
  }
  void set_string(const std::string& path, const std::string& name, const std::string& value) {
    add_key(path);
    keys_[path].values[name] = value;
  }
  // Reads of `path` fail with access denied, as Windows does for "Properties".
  void deny(const std::string& path) { keys_[path].denied = true; }

  Result<std::vector<std::string>> enum_subkeys(RegistryRoot, std::string_view path) override {
    const auto it = keys_.find(std::string(path));
    if (it == keys_.end()) return fail(Errc::kNotFound, std::string(path));
    if (it->second.denied) return denied(path);
    return it->second.subkeys;
  }
  Result<std::string> read_string(RegistryRoot, std::string_view path,
                                  std::string_view value) override {
    const auto it = keys_.find(std::string(path));
    if (it == keys_.end()) return fail(Errc::kNotFound, std::string(path));
    if (it->second.denied) return denied(path);
    const auto v = it->second.values.find(std::string(value));
    if (v == it->second.values.end()) return fail(Errc::kNotFound, std::string(value));
    return v->second;
  }

 private:
  static tl::unexpected<Error> denied(std::string_view path) {
    return fail(std::make_error_code(std::errc::permission_denied), std::string(path));
  }
  struct Key {
    std::vector<std::string> subkeys;
    std::map<std::string, std::string> values;
    bool denied = false;
  };
  std::map<std::string, Key> keys_;
};

class FakeTapDevice final : public TapDeviceApi {
 public:
  struct Ioctl {
    std::uint32_t code;
    std::vector<std::uint8_t> in;
  };

  std::vector<std::string> opened;                             // paths create_file was asked for
  std::vector<std::string> present;                            // paths that exist
  std::vector<Ioctl> ioctls;                                   // every IOCTL, in order
  std::map<std::uint32_t, std::vector<std::uint8_t>> answers;  // IOCTL code -> out bytes
  std::optional<std::error_code> ioctl_error;                  // when set, every IOCTL fails
  std::deque<std::vector<std::uint8_t>> to_host;     // frames the "driver" hands to read_file
  std::vector<std::vector<std::uint8_t>> from_host;  // frames write_file delivered

  Result<TapHandle> create_file(std::string_view path) override {
    opened.emplace_back(path);
    if (std::find(present.begin(), present.end(), path) == present.end()) {
      return fail(Errc::kNotFound, std::string(path));
    }
    return TapHandle(reinterpret_cast<NativeHandle>(std::uintptr_t{1}), nullptr, nullptr, nullptr);
  }
  Result<std::size_t> device_io_control(TapHandle&, std::uint32_t code,
                                        std::span<const std::uint8_t> in,
                                        std::span<std::uint8_t> out) override {
    ioctls.push_back(Ioctl{code, {in.begin(), in.end()}});
    if (ioctl_error) return fail(*ioctl_error, "fake DeviceIoControl");
    const auto it = answers.find(code);
    if (it == answers.end()) return std::size_t{0};
    const std::size_t n = std::min(out.size(), it->second.size());
    std::copy_n(it->second.begin(), n, out.begin());
    return n;
  }
  Result<std::size_t> read_file(TapHandle&, std::span<std::uint8_t> buffer,
                                std::chrono::milliseconds) override {
    if (to_host.empty()) return fail(Errc::kTimedOut, "fake ReadFile");
    const auto frame = to_host.front();
    if (frame.size() > buffer.size()) return fail(Errc::kTooLarge, "fake ReadFile");
    to_host.pop_front();
    std::copy(frame.begin(), frame.end(), buffer.begin());
    return frame.size();
  }
  Result<std::size_t> write_file(TapHandle&, std::span<const std::uint8_t> frame,
                                 std::chrono::milliseconds) override {
    from_host.emplace_back(frame.begin(), frame.end());
    return frame.size();
  }
};

}  // namespace lanparty::client_tap::testing
