// SPDX-License-Identifier: MIT
// A Linux TAP device (/dev/net/tun, IFF_TAP | IFF_NO_PI): the player's virtual network card.
// Closing it removes a device it created; interface changes it made go with the device.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "lanparty/base/result.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::client_linux {

class TapDevice {
 public:
  // Creates (or attaches to) the TAP interface `name`, non-blocking.
  [[nodiscard]] static Result<std::unique_ptr<TapDevice>> open(const std::string& name);
  ~TapDevice();
  TapDevice(const TapDevice&) = delete;
  TapDevice& operator=(const TapDevice&) = delete;

  [[nodiscard]] Status set_mac(const proto::MacAddress& mac);
  [[nodiscard]] Status set_mtu(std::size_t mtu_bytes);
  [[nodiscard]] Status set_up(bool up);

  // One frame, or 0 when none is waiting (EAGAIN); an error otherwise.
  [[nodiscard]] Result<std::size_t> read_frame(std::span<std::uint8_t> buffer);
  [[nodiscard]] Status write_frame(std::span<const std::uint8_t> frame);

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  TapDevice(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Status interface_ioctl(unsigned long request, void* ifr, const char* what);

  int fd_;
  std::string name_;
};

}  // namespace lanparty::client_linux
