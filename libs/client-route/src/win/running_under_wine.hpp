// SPDX-License-Identifier: MIT
// Whether this Windows process runs under wine, which keeps no ACLs and lacks some IP Helper
// exports: the journal store and the Windows tests adapt to it.
#pragma once

namespace lanparty::client_route::detail {

bool running_under_wine();

}  // namespace lanparty::client_route::detail
