// SPDX-License-Identifier: MIT
#include "lanparty/client_core/relay_choice.hpp"

#include <utility>

#include <fmt/format.h>

#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::client_core {

RelayChoice::RelayChoice(std::vector<ctrl::RelayAddress> relays) : relays_(std::move(relays)) {
  LANPARTY_CHECK(!relays_.empty());
}

const ctrl::RelayAddress& RelayChoice::target() const noexcept {
  return redirect_ ? *redirect_ : relays_[current_];
}

std::string RelayChoice::target_text() const { return ctrl::format_relay_address(target()); }

Status RelayChoice::on_redirect(std::string_view relay) {
  const std::string from = target_text();
  if (hops_ >= 1) {
    // A second redirect in a row: the relays disagree on the room's home (a lease being
    // moved). Following on could go round in circles; start over from the list.
    on_failed();
    return fail(Errc::kProtocolViolation,
                fmt::format("relay {} sent us on to {}, but a redirect had just led us to it: "
                            "the relays of this cluster disagree about where the room lives; "
                            "trying again from the next relay of the link",
                            from, relay));
  }
  auto address = ctrl::parse_relay_address(relay);
  if (!address) {
    on_failed();
    return fail(Errc::kProtocolViolation,
                fmt::format("relay {} redirected us to an invalid address: {}", from,
                            address.error().context));
  }
  redirect_ = std::move(*address);
  hops_ = 1;
  redirect_pending_ = true;
  return {};
}

void RelayChoice::on_failed() noexcept {
  const ctrl::RelayAddress failed = target();
  redirect_.reset();
  hops_ = 0;
  redirect_pending_ = false;
  current_ = (current_ + 1) % relays_.size();
  // The room's relay that just died may be next on the list too: not at once again.
  if (relays_.size() > 1 && relays_[current_] == failed) current_ = (current_ + 1) % relays_.size();
}

}  // namespace lanparty::client_core
