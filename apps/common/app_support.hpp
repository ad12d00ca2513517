// SPDX-License-Identifier: MIT
// What the Linux client and the gateway share on top of client-core: the common flags, the
// logger, the signal-driven shutdown, and the event loop run.
#pragma once

#include <memory>
#include <random>
#include <string>

#include <CLI/CLI.hpp>

#include "lanparty/client_core/runner.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/obs/sinks.hpp"
#include "lanparty/quic/event_loop.hpp"

namespace lanparty::apps {

struct RelayFlags {
  std::string relay;          // HOST:PORT
  std::string server_name;    // SNI and name checked with --ca-file
  std::string relay_ca_cert;  // DER certificate to pin
  std::string ca_file;        // or: PEM CA bundle to validate the relay's chain
  std::string room;
  std::string log_level = "info";
  std::string log_format = "text";
};

// Adds --relay --server-name --relay-ca-cert --ca-file --room --log-level --log-format.
void add_relay_flags(CLI::App& app, RelayFlags& flags);

// Checks the flags and builds the QUIC client config; the error says which flag and how to fix.
[[nodiscard]] Result<quic::ClientConfig> make_quic_config(const RelayFlags& flags);

struct Logging {
  std::unique_ptr<obs::Sink> sink;
  obs::Logger logger;
};
[[nodiscard]] Logging make_logging(const RelayFlags& flags);

// Runs the loop until SIGINT/SIGTERM, then stops the runner (disconnect, close) and waits for
// the close to go out, at most ~1 s. A second signal ends at once.
[[nodiscard]] Status run_until_signal(quic::EventLoop& loop, client_core::Runner& runner);

// Uniform [0, 1) for backoff jitter.
[[nodiscard]] std::function<double()> make_random_unit();

}  // namespace lanparty::apps
