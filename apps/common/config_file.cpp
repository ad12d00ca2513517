// SPDX-License-Identifier: MIT
// --config/--print-config over CLI11's config support, with errors that name file and line.
#include "config_file.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace lanparty::apps {

void add_config_file(CLI::App& app, ConfigFileFlags& flags, std::string default_path,
                     std::string_view example) {
  flags.file = default_path;
  app.set_config("--config", std::move(default_path),
                 fmt::format("TOML file of flags ({}); flags given here override it; the "
                             "default is read only if it exists; --config '' reads none",
                             example));
  app.allow_config_extras(false);
  app.add_flag("--print-config", flags.print,
               "print the effective configuration as a config file, then exit")
      ->configurable(false);
}

std::string config_error_message(const CLI::ConfigError& e, const std::string& config_file) {
  static constexpr std::string_view kUnknown = "INI was not able to parse ";
  std::string what = e.what();
  if (what.rfind(kUnknown, 0) != 0) return fmt::format("--config {}: {}", config_file, what);
  const std::string key = what.substr(kUnknown.size());
  std::ifstream in(config_file);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line.compare(start, key.size(), key) != 0) continue;
    // The whole key, not a longer one that starts with it.
    const auto after = line.find_first_not_of(" \t", start + key.size());
    if (after != std::string::npos && line[after] != '=' && line[after] != ':') continue;
    return fmt::format(
        "--config {}: line {}: unknown key '{}' (keys are the long flags without --; "
        "--print-config lists them)",
        config_file, number, key);
  }
  return fmt::format(
      "--config {}: unknown key '{}' (keys are the long flags without --; --print-config "
      "lists them)",
      config_file, key);
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      std::string_view program) {
  const auto config_file = [&app] { return app.get_config_ptr()->as<std::string>(); };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
                 config_error_message(e, config_file()).c_str());
    return 2;
  } catch (const CLI::ParseError& e) {
    const bool help = e.get_name() == "CallForHelp" || e.get_name() == "CallForAllHelp" ||
                      e.get_name() == "CallForVersion";
    if (app.get_config_ptr()->count() > 0 && !help) {
      // A bad value may come from the file; say which file was read.
      std::fprintf(stderr, "%.*s: (with --config %s)\n", static_cast<int>(program.size()),
                   program.data(), config_file().c_str());
    }
    return app.exit(e);
  }
  return std::nullopt;
}

std::string effective_config(const CLI::App& app) {
  std::istringstream lines(app.config_to_str(/*default_also=*/true, /*write_description=*/false));
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    if (line.ends_with("=\"\"")) continue;  // unset: key="" would read back as a value
    const auto equals = line.find('=');
    // Subcommands' options (invite.room=...) are not the daemon's configuration.
    if (equals == std::string::npos || line.substr(0, equals).find('.') != std::string::npos) {
      continue;
    }
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace lanparty::apps
