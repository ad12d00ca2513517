// SPDX-License-Identifier: MIT
// Which relay the next connection attempt goes to: the relays a link or the flags name (our
// multi-relay extension; one relay is the usual case) and the redirects of a cluster
// (reject `redirect`, docs/protocol.md). Policy only: the Runner asks it where to connect and
// tells it how each attempt ended.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/ctrl/invite_link.hpp"

namespace lanparty::client_core {

class RelayChoice {
 public:
  // `relays`: at least one; the first is tried first.
  explicit RelayChoice(std::vector<ctrl::RelayAddress> relays);

  // Where the next attempt connects: the redirect being followed, else the current relay of
  // the list.
  [[nodiscard]] const ctrl::RelayAddress& target() const noexcept;
  // `target()` as "HOST:PORT".
  [[nodiscard]] std::string target_text() const;

  // The relay answered reject `redirect` naming `relay`. The first redirect since the attempt
  // at a relay of the list is followed: target() becomes `relay`, and take_redirect() says to
  // connect again at once. A second one in a row fails, with a sentence naming the relays
  // that disagree, and the next attempt starts over from the next relay of the list.
  [[nodiscard]] Status on_redirect(std::string_view relay);
  // Once after a followed redirect: true (the connection that ended should be replaced at
  // once, not after a backoff).
  [[nodiscard]] bool take_redirect() noexcept { return std::exchange(redirect_pending_, false); }
  // Joined: the target is good (a redirect's target stays it until it fails).
  void on_joined() noexcept { hops_ = 0; }
  // An attempt ended without a welcome, or a joined connection was lost: the next attempt
  // goes to the next relay of the list (any relay of the cluster leads to the room), skipping
  // the relay that just failed when a redirect had led there.
  void on_failed() noexcept;

  [[nodiscard]] const std::vector<ctrl::RelayAddress>& relays() const noexcept { return relays_; }

 private:
  std::vector<ctrl::RelayAddress> relays_;
  std::size_t current_ = 0;
  std::optional<ctrl::RelayAddress> redirect_;  // the target a redirect named
  int hops_ = 0;                   // redirects followed since the last attempt from the list
  bool redirect_pending_ = false;  // take_redirect()
};

}  // namespace lanparty::client_core
