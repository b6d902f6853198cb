// One aifactory subcommand per source file: a command registers its options on the parent CLI11 app
// and returns the action to run once the command line has been parsed. Adding a command touches its
// own file, one line in the list of Main (commands.cc) and one in src/cli/CMakeLists.txt.
#pragma once

#include <functional>
#include <iosfwd>

#include <CLI/CLI.hpp>

#include "aifactory/core/status.h"

namespace aif::cli {

struct Subcommand {
  CLI::App* app = nullptr;  // owned by the parent app
  // Runs the parsed command; returns the process exit code (0 ok, 1 failed, 2 usage error).
  std::function<int(std::ostream& out, std::ostream& err)> run;
};

// Prints "error: <message>" and returns 1, the exit code of a failed command.
int Fail(std::ostream& err, const Status& s);

// `aifactory fleet` (fleet_command.cc).
Subcommand AddFleetCommand(CLI::App& app);
// `aifactory serve` (serve_command.cc).
Subcommand AddServeCommand(CLI::App& app);
// `aifactory timeline` (timeline_command.cc).
Subcommand AddTimelineCommand(CLI::App& app);

}  // namespace aif::cli
