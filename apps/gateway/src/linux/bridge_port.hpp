// SPDX-License-Identifier: MIT
// When --interface is a Linux bridge (a router's br-lan, a hypervisor's or Docker's bridge),
// the gateway plugs into it as one more switch port: a veth pair whose one end is a port of
// the bridge and whose other end the packet socket uses. A packet socket on the bridge device
// itself could not reach the bridge host's own services (what it sends leaves through the
// ports and never comes up the host's stack), so the DHCP server or game server of the
// gateway's own host would stay out of the party. The owner object removes the pair.
#pragma once

#include <optional>
#include <string>

#include "lanparty/base/result.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::gateway {

// True when `interface` is a Linux bridge (/sys/class/net/IF/bridge exists).
[[nodiscard]] bool is_bridge(const std::string& interface);

class BridgePort {
 public:
  // Creates lpgwN (the gateway's end, IPv6 off, no address) and lpgwNb (the bridge's port),
  // both with the bridge's MTU, up. Needs CAP_NET_ADMIN.
  [[nodiscard]] static Result<BridgePort> attach(const std::string& bridge, obs::Logger log);
  BridgePort(BridgePort&& other) noexcept;
  BridgePort& operator=(BridgePort&&) = delete;
  BridgePort(const BridgePort&) = delete;
  ~BridgePort();
  // Deletes the pair (explicit, idempotent).
  Status remove();

  // The interface the packet socket opens.
  [[nodiscard]] const std::string& gateway_end() const noexcept { return gateway_end_; }
  // The bridge device's MAC: CAM refresh frames go to it, so the bridge learns the remote
  // MACs on our port and hands the frame to its own (silent) stack instead of flooding it.
  [[nodiscard]] const proto::MacAddress& bridge_mac() const noexcept { return bridge_mac_; }

 private:
  BridgePort(std::string bridge, std::string gateway_end, proto::MacAddress bridge_mac,
             obs::Logger log)
      : bridge_(std::move(bridge)),
        gateway_end_(std::move(gateway_end)),
        bridge_mac_(bridge_mac),
        log_(log) {}
  std::string bridge_;
  std::string gateway_end_;  // empty == nothing to undo
  proto::MacAddress bridge_mac_;
  obs::Logger log_;
};

}  // namespace lanparty::gateway
