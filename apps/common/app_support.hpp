// SPDX-License-Identifier: MIT
// What the clients and the gateway share on top of client-core: the common flags, the logger,
// the device port, and (Linux, linux/) the signal-driven shutdown and the event loop run.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lanparty/client_core/runner.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/invite_link.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/sinks.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::apps {

struct RelayFlags {
  std::string relay;          // HOST:PORT
  std::string server_name;    // SNI and name checked with --ca-file
  std::string relay_ca_cert;  // DER certificate to pin
  std::string ca_file;        // or: PEM CA bundle to validate the relay's chain
  std::string room;
  std::string log_level = "info";
  std::string log_format = "text";
  // An invite link (PROTOCOL.md section 7) instead of the five flags above; apply_invite_link
  // fills them from it.
  std::string invite_link;
  std::string join_link;  // `join LINK`: wins over an --invite (or invite = ...) from the file
  std::optional<std::array<std::uint8_t, 32>> pin_sha256;  // from the link
  std::optional<std::string> invite_token;                 // from the link
  std::string more_relays_text;  // --more-relays HOST:PORT,HOST:PORT (no link)
  unsigned relay_timeout_s = 6;  // --relay-timeout: QUIC idle timeout (quic::ClientConfig)
  // The link's relays= or --more-relays (our extension): the cluster's further relays, for
  // RunnerConfig::more_relays.
  std::vector<ctrl::RelayAddress> more_relays;
};

// Adds --relay --server-name --relay-ca-cert --ca-file --room --log-level --log-format, and
// (with_invite) --invite LINK plus the `join LINK` subcommand: a player's whole set-up is
// one pasted link.
void add_relay_flags(CLI::App& app, RelayFlags& flags, bool with_invite = false);

// With a link: parses it into relay, server name, room, pin and token, and refuses the flags
// it replaces. Without: nothing. The error is a sentence for the person who pasted it.
[[nodiscard]] Status apply_invite_link(RelayFlags& flags);

// Checks the flags (room name included) and builds the QUIC client config; the error says
// which flag and how to fix it.
[[nodiscard]] Result<quic::ClientConfig> make_quic_config(const RelayFlags& flags);

struct Logging {
  std::unique_ptr<obs::Sink> sink;
  obs::Logger logger;
};
[[nodiscard]] Logging make_logging(const RelayFlags& flags);

// The part of a LocalPort both apps share: the runner it feeds, frames read from a
// non-blocking device into a buffer with room for the overlay header in front (so nothing is
// copied), and the fatal-reject flag.
class DevicePort : public client_core::LocalPort {
 public:
  DevicePort(std::string program, obs::Logger log);
  void attach(client_core::Runner& runner) noexcept { runner_ = &runner; }
  // The device's fd is readable: drain() it.
  virtual void on_readable() = 0;
  // Prints "program: sentence", remembers that retrying cannot help, and runs the stop
  // action (run_device stops the loop: the process then exits 1 instead of idling).
  void on_fatal(std::string_view sentence) override;
  void set_stop_on_fatal(std::function<void()> stop) { stop_on_fatal_ = std::move(stop); }
  [[nodiscard]] bool fatal() const noexcept { return fatal_; }

 protected:
  // Reads up to 256 frames (so the relay side gets its turn) with read(span) -> Result<size_t>
  // (0 = nothing waiting); each frame for which wanted(frame) holds goes to the runner.
  template <class Read, class Wanted>
  void drain(Read&& read, Wanted&& wanted, std::string_view error_event) {
    for (int i = 0; i < 256; ++i) {
      auto payload = std::span(buffer_).subspan(proto::kOverlayHeaderSize);
      auto n = read(payload);
      if (!n) {
        log_.warn(error_event, {{"error", n.error().describe()}});
        return;
      }
      if (*n == 0) return;
      if (!wanted(payload.first(*n))) continue;
      runner_->send_frame(std::span(buffer_).first(proto::kOverlayHeaderSize + *n));
    }
  }

  client_core::Runner* runner_ = nullptr;
  obs::Logger log_;

 private:
  std::string program_;
  std::vector<std::uint8_t> buffer_;
  bool fatal_ = false;
  std::function<void()> stop_on_fatal_;
};

// Linux: run_until_signal and run_device are in linux/run_linux.hpp.

// Prints "program: message" to stderr; returns the exit code for a usage or set-up error.
[[nodiscard]] int fail_with(std::string_view program, std::string_view message);

// "[connected] Connected: you are on the LAN party." on stdout, flushed: the player's view.
void print_state_line(obs::ConnectionState state, std::string_view sentence);

// Uniform [0, 1) for backoff jitter.
[[nodiscard]] std::function<double()> make_random_unit();

}  // namespace lanparty::apps
