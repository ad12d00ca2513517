// SPDX-License-Identifier: MIT
// The config file every Linux binary reads (`--config FILE`, TOML through CLI11's own config
// support): each key is a long flag without its --, flags given on the command line win over
// the file, an unknown key is an error that names its line, and `--print-config` prints the
// effective set as a file that reads back the same.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace lanparty::apps {

struct ConfigFileFlags {
  std::string file;
  bool print = false;
};

// Adds --config FILE (default `default_path`, read only if it exists; --config '' reads none)
// and --print-config. `example` is one key = value line for the help text.
void add_config_file(CLI::App& app, ConfigFileFlags& flags, std::string default_path,
                     std::string_view example);

// Parses the command line and the config file. nullopt: go on. Otherwise the process's exit
// code: 0 after --help, non-zero after a usage or config error (printed as
// "program: message", naming the file and, for an unknown key, its line).
[[nodiscard]] std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                                    std::string_view program);

// The effective configuration as a config file: every option of the top-level command that a
// file may set, with its value or default. Unset options (no default) are left out, so the
// output reads back as a config file.
[[nodiscard]] std::string effective_config(const CLI::App& app);

// CLI11 names only the key it could not place; this finds its line in `config_file` too.
[[nodiscard]] std::string config_error_message(const CLI::ConfigError& e,
                                               const std::string& config_file);

}  // namespace lanparty::apps
