// SPDX-License-Identifier: MIT
// Prometheus text for a relay of a cluster: the directory worker's calls and latency, the rooms
// homed here, redirects sent. Empty for a relay without a directory worker (SQLite, open).
#pragma once

#include <string>

namespace lanparty::relay {

class Relay;

[[nodiscard]] std::string render_cluster_metrics(const Relay& relay);

}  // namespace lanparty::relay
