// SPDX-License-Identifier: MIT
// The one RAII owner of a change to OS state (STYLE.md section 3): it holds the undo of a
// change that was made, runs it on every exit path, and keeps it when it fails, so a later
// call or the destructor retries. The named guards (interface metric and MTU, host route pin,
// TAP media status, the gateway's GRO setting) are this plus their apply() and their events.
#pragma once

#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

#include "lanparty/base/result.hpp"

namespace lanparty {

// What ScopedUndo holds: undo() puts the OS back (ok() only once it is back; it then logs
// what it did), on_undo_failed() reports a failure the destructor cannot return.
template <class U>
concept Undo = std::movable<U> && requires(U& undo, const U& held, const Error& error) {
  { undo.undo() } -> std::same_as<Status>;
  { held.on_undo_failed(error) }
  noexcept;
};

template <Undo U>
class ScopedUndo {
 public:
  // Nothing to undo (the change was not needed, or was someone else's).
  ScopedUndo() noexcept = default;
  // Owns the undo of a change that was just made.
  explicit ScopedUndo(U undo) noexcept(std::is_nothrow_move_constructible_v<U>)
      : undo_(std::move(undo)) {}

  ScopedUndo(ScopedUndo&& other) noexcept : undo_(std::exchange(other.undo_, std::nullopt)) {}
  // Undoes what this one holds (reporting a failure), then takes over `other`'s undo.
  ScopedUndo& operator=(ScopedUndo&& other) noexcept {
    if (this != &other) {
      run_or_report();
      undo_ = std::exchange(other.undo_, std::nullopt);
    }
    return *this;
  }
  ScopedUndo(const ScopedUndo&) = delete;
  ScopedUndo& operator=(const ScopedUndo&) = delete;
  // Runs the undo once more if it is still held; a failure goes to on_undo_failed().
  ~ScopedUndo() { run_or_report(); }

  // Runs the undo. Idempotent: after a success there is nothing left to do. On error the undo
  // is kept, so a later run() (or the destructor) retries.
  [[nodiscard]] Status run() {
    if (!undo_) return ok();
    if (auto undone = undo_->undo(); !undone) return undone;
    undo_.reset();
    return ok();
  }
  // Keeps the change: nothing will be undone.
  void dismiss() noexcept { undo_.reset(); }

  // True while there is something to undo.
  [[nodiscard]] bool armed() const noexcept { return undo_.has_value(); }
  // The held undo, or null.
  [[nodiscard]] const U* get() const noexcept { return undo_ ? &*undo_ : nullptr; }

 private:
  void run_or_report() noexcept {
    if (!undo_) return;
    if (auto undone = run(); !undone) undo_->on_undo_failed(undone.error());
  }

  std::optional<U> undo_;
};

}  // namespace lanparty
