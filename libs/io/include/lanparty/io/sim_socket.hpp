// SPDX-License-Identifier: MIT
// The UdpSocket of a simulated host (sim_network.hpp): what Server and Client open instead of
// an OS socket when their config names a SimHost.
#pragma once

#include <memory>

#include "lanparty/base/result.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"
#include "lanparty/io/udp_socket.hpp"

namespace lanparty::io {

// A socket on host bound to local's port (0: an ephemeral one; the address part is ignored,
// the host has one). connect_to, if valid, makes it accept datagrams from that peer only.
// Fails when loop is not simulated on host's network, the port is taken, or the host is down.
[[nodiscard]] Result<std::unique_ptr<UdpSocket>> open_sim_socket(EventLoop& loop, SimHost& host,
                                                                 const SocketAddress& local,
                                                                 const SocketAddress& connect_to);

}  // namespace lanparty::io
