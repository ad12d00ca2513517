// SPDX-License-Identifier: MIT
#include "lanparty/client_core/relay_choice.hpp"

#include <gtest/gtest.h>

namespace lanparty::client_core {
namespace {

const ctrl::RelayAddress kA{.host = "relay-a.example", .port = 4433};
const ctrl::RelayAddress kB{.host = "10.0.0.2", .port = 4433};
const ctrl::RelayAddress kC{.host = "2001:db8::3", .port = 443};

TEST(RelayChoice, OneRelayIsAlwaysTheTarget) {
  RelayChoice choice({kA});
  EXPECT_EQ(choice.target(), kA);
  choice.on_failed();
  EXPECT_EQ(choice.target(), kA);
  EXPECT_FALSE(choice.take_redirect());
}

TEST(RelayChoice, EachFailureMovesOnToTheNextRelayOfTheList) {
  RelayChoice choice({kA, kB, kC});
  EXPECT_EQ(choice.target_text(), "relay-a.example:4433");
  choice.on_failed();
  EXPECT_EQ(choice.target(), kB);
  choice.on_failed();
  EXPECT_EQ(choice.target_text(), "[2001:db8::3]:443");
  choice.on_failed();
  EXPECT_EQ(choice.target(), kA);
}

TEST(RelayChoice, ARedirectIsFollowedAtOnceAndKeptOnceJoined) {
  RelayChoice choice({kA, kB});
  ASSERT_TRUE(choice.on_redirect("[2001:db8::3]:443"));
  EXPECT_EQ(choice.target(), kC);
  EXPECT_TRUE(choice.take_redirect());
  EXPECT_FALSE(choice.take_redirect());  // once
  choice.on_joined();
  EXPECT_EQ(choice.target(), kC);
  // The home relay is lost: the next attempt goes to the list's next relay, not back to it.
  choice.on_failed();
  EXPECT_EQ(choice.target(), kB);
  // After a join, a later redirect is a first one again.
  ASSERT_TRUE(choice.on_redirect("relay-a.example:4433"));
  EXPECT_EQ(choice.target(), kA);
}

TEST(RelayChoice, TheRelayALostRedirectLedToIsNotTriedAgainAtOnce) {
  RelayChoice choice({kA, kB, kC});
  ASSERT_TRUE(choice.on_redirect("10.0.0.2:4433"));  // A sent us to B, the room's relay
  (void)choice.take_redirect();
  choice.on_joined();
  choice.on_failed();  // B died: the list's next is B itself, so C
  EXPECT_EQ(choice.target(), kC);
}

TEST(RelayChoice, ASecondRedirectInARowIsAnErrorNamingBothRelays) {
  RelayChoice choice({kA, kB});
  ASSERT_TRUE(choice.on_redirect("[2001:db8::3]:443"));
  (void)choice.take_redirect();
  const auto second = choice.on_redirect("relay-a.example:4433");
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().context.find("[2001:db8::3]:443"), std::string::npos)
      << second.error().context;
  EXPECT_NE(second.error().context.find("disagree"), std::string::npos);
  // Not followed: the next attempt, after the usual backoff, is the list's next relay.
  EXPECT_FALSE(choice.take_redirect());
  EXPECT_EQ(choice.target(), kB);
}

TEST(RelayChoice, ARedirectToNoAddressIsAnError) {
  RelayChoice choice({kA, kB});
  const auto bad = choice.on_redirect("");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().context.find("invalid address"), std::string::npos);
  EXPECT_FALSE(choice.take_redirect());
  EXPECT_EQ(choice.target(), kB);
}

}  // namespace
}  // namespace lanparty::client_core
