// SPDX-License-Identifier: MIT
// The config file of lanparty-gateway and lanparty-client, through the real binaries (the
// relay's own tests are apps/relay/tests/relay_config_test.cpp): the file sets flags, a flag
// on the command line wins, an unknown key names its line, --print-config reads back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "run_process.hpp"

namespace lanparty::apps::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One binary, and a key only it has with two values to tell file from flag.
struct Binary {
  const char* name;
  const char* path;
  const char* shipped;       // packaging/etc/*.toml
  const char* key;           // a key only this binary has
  const char* file_value;    // as written in the file
  const char* flag_value;    // as given on the command line
  const char* printed_file;  // each as --print-config prints it
  const char* printed_flag;
};

std::ostream& operator<<(std::ostream& out, const Binary& binary) { return out << binary.name; }

class ConfigFile : public ::testing::TestWithParam<Binary> {
 protected:
  ProcessResult run(std::vector<std::string> args) {
    return run_process(GetParam().path, std::move(args));
  }
  ScratchDir dir_;
};

TEST_P(ConfigFile, FileValuesApplyAndFlagsOverrideThem) {
  const Binary& b = GetParam();
  const auto config = dir_.write("a.toml", std::string("# comment\nroom = \"FROMFILE\"\n") + b.key +
                                               " = " + b.file_value + "\n");
  const auto result =
      run({"--config", config.string(), std::string("--") + b.key, b.flag_value, "--print-config"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(std::string(b.key) + "=" + b.printed_flag));  // flag wins
  EXPECT_THAT(result.output, HasSubstr("room=\"FROMFILE\""));   // from the file
  EXPECT_THAT(result.output, HasSubstr("log-level=\"info\""));  // defaults are listed too
  EXPECT_THAT(result.output, Not(HasSubstr("print-config")));
  // No subcommand keys (invite.room=..., join.link=...): they are not the daemon's.
  EXPECT_THAT(result.output, Not(HasSubstr("invite.")));
  EXPECT_THAT(result.output, Not(HasSubstr("join.")));
}

TEST_P(ConfigFile, WithoutTheFlagTheFileValueIsUsed) {
  const Binary& b = GetParam();
  const auto config = dir_.write("a.toml", std::string(b.key) + " = " + b.file_value + "\n");
  const auto result = run({"--config", config.string(), "--print-config"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(std::string(b.key) + "=" + b.printed_file));
}

TEST_P(ConfigFile, PrintedConfigReadsBackAsAConfigFile) {
  const Binary& b = GetParam();
  const auto first = run({"--config", "", "--room", "ROOM7", std::string("--") + b.key,
                          b.flag_value, "--log-format", "json", "--print-config"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto config = dir_.write("printed.toml", first.output);
  const auto second = run({"--config", config.string(), "--print-config"});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output, first.output);
}

TEST_P(ConfigFile, AnUnknownKeyIsAnErrorNamingFileLineAndKey) {
  const auto config = dir_.write("a.toml", "room = \"ROOM1\"\n\n# comment\nromo = \"x\"\n");
  const auto result = run({"--config", config.string(), "--print-config"});
  ASSERT_TRUE(result.exit_code) << result.output;
  EXPECT_NE(*result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr(config.string() + ": line 4: unknown key 'romo'"));
}

TEST_P(ConfigFile, AnUnknownKeyAlsoStopsTheDaemon) {
  // Not only --print-config: a typo must not be ignored by the real run either.
  const auto config = dir_.write("a.toml", "relay-addres = \"x:1\"\n");
  const auto result = run({"--config", config.string()});
  ASSERT_TRUE(result.exit_code) << result.output;
  EXPECT_NE(*result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("line 1: unknown key 'relay-addres'"));
}

TEST_P(ConfigFile, ABadValueInTheFileNamesTheOptionAndTheFile) {
  const auto config = dir_.write("a.toml", "log-level = \"loud\"\n");
  const auto result = run({"--config", config.string(), "--print-config"});
  ASSERT_TRUE(result.exit_code) << result.output;
  EXPECT_NE(*result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("--log-level"));
  EXPECT_THAT(result.output, HasSubstr(config.string()));
}

TEST_P(ConfigFile, AMissingConfigFileGivenByFlagIsAnError) {
  const auto missing = dir_.path() / "nonexistent.toml";
  const auto result = run({"--config", missing.string(), "--print-config"});
  ASSERT_TRUE(result.exit_code) << result.output;
  EXPECT_NE(*result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr(missing.string()));
}

TEST_P(ConfigFile, TheShippedConfigFileParses) {
  const auto result = run({"--config", GetParam().shipped, "--print-config"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("log-level=\"info\""));
}

INSTANTIATE_TEST_SUITE_P(
    Binaries, ConfigFile,
    ::testing::Values(Binary{"gateway", LANPARTY_GATEWAY_BINARY,
                             LANPARTY_SOURCE_DIR "/packaging/etc/gateway.toml", "cam-refresh", "10",
                             "20", "10", "20"},
                      Binary{"client", LANPARTY_CLIENT_BINARY,
                             LANPARTY_SOURCE_DIR "/packaging/etc/client.toml", "tap",
                             "\"fromfile0\"", "fromflag0", "\"fromfile0\"", "\"fromflag0\""}),
    [](const ::testing::TestParamInfo<Binary>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace lanparty::apps::testing
