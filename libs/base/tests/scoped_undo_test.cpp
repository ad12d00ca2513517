// SPDX-License-Identifier: MIT
// ScopedUndo: the undo runs once on every exit path, a failure keeps it for a retry, moves
// hand it over.
#include "lanparty/base/scoped_undo.hpp"

#include <gtest/gtest.h>

#include <string>
#include <system_error>
#include <vector>

#include "lanparty/base/errc.hpp"

namespace lanparty {
namespace {

// A pretend OS setting and its undo, failing the first `failures` attempts.
struct World {
  int setting = 0;
  int failures = 0;
  int attempts = 0;
  std::vector<std::string> reported;
};

struct RestoreSetting {
  World* world;
  int original;
  Status undo() {
    ++world->attempts;
    if (world->failures > 0) {
      --world->failures;
      return fail(Errc::kInternal, "set setting");
    }
    world->setting = original;
    return ok();
  }
  void on_undo_failed(const Error& error) const noexcept {
    world->reported.push_back(error.context);
  }
};

ScopedUndo<RestoreSetting> change(World& world, int value) {
  const int original = world.setting;
  world.setting = value;
  return ScopedUndo<RestoreSetting>(RestoreSetting{&world, original});
}

TEST(ScopedUndo, UndoesOnDestructionOnce) {
  World world;
  {
    auto guard = change(world, 5);
    EXPECT_TRUE(guard.armed());
    EXPECT_EQ(world.setting, 5);
  }
  EXPECT_EQ(world.setting, 0);
  EXPECT_EQ(world.attempts, 1);
  EXPECT_TRUE(world.reported.empty());
}

TEST(ScopedUndo, AnExplicitRunIsIdempotent) {
  World world;
  auto guard = change(world, 5);
  ASSERT_TRUE(guard.run());
  EXPECT_FALSE(guard.armed());
  ASSERT_TRUE(guard.run());
  EXPECT_EQ(world.attempts, 1);
}

TEST(ScopedUndo, AFailedRunStaysArmedAndTheNextRunRetries) {
  World world;
  world.failures = 1;
  auto guard = change(world, 5);
  EXPECT_FALSE(guard.run());
  EXPECT_TRUE(guard.armed());
  EXPECT_EQ(world.setting, 5);
  ASSERT_TRUE(guard.run());
  EXPECT_EQ(world.setting, 0);
  EXPECT_EQ(world.attempts, 2);
}

TEST(ScopedUndo, TheDestructorRetriesAFailedRunAndReportsAFailureOfItsOwn) {
  World world;
  world.failures = 2;
  {
    auto guard = change(world, 5);
    EXPECT_FALSE(guard.run());
  }
  EXPECT_EQ(world.attempts, 2);
  ASSERT_EQ(world.reported.size(), 1u);
  EXPECT_EQ(world.reported[0], "set setting");
  EXPECT_EQ(world.setting, 5);  // left for a repair at the next start
}

TEST(ScopedUndo, DismissKeepsTheChange) {
  World world;
  {
    auto guard = change(world, 5);
    guard.dismiss();
    EXPECT_FALSE(guard.armed());
  }
  EXPECT_EQ(world.setting, 5);
  EXPECT_EQ(world.attempts, 0);
}

TEST(ScopedUndo, AMoveHandsTheUndoOver) {
  World world;
  auto first = change(world, 5);
  ScopedUndo<RestoreSetting> second(std::move(first));
  EXPECT_FALSE(first.armed());  // NOLINT(bugprone-use-after-move): moved-from is disarmed
  EXPECT_TRUE(second.armed());
  ASSERT_NE(second.get(), nullptr);
  EXPECT_EQ(second.get()->original, 0);
  ASSERT_TRUE(second.run());
  EXPECT_EQ(world.attempts, 1);
}

TEST(ScopedUndo, MoveAssignmentUndoesWhatTheTargetHeldFirst) {
  World a;
  World b;
  auto target = change(a, 5);
  auto source = change(b, 7);
  target = std::move(source);
  EXPECT_EQ(a.setting, 0);  // undone at the assignment
  EXPECT_EQ(b.setting, 7);  // still held, by target now
  ASSERT_TRUE(target.run());
  EXPECT_EQ(b.setting, 0);
}

TEST(ScopedUndo, ADefaultOneHoldsNothing) {
  ScopedUndo<RestoreSetting> none;
  EXPECT_FALSE(none.armed());
  EXPECT_EQ(none.get(), nullptr);
  EXPECT_TRUE(none.run());
}

}  // namespace
}  // namespace lanparty
