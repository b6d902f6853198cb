// Test support for the command line: runs aifactory's Main in-process and keeps what it printed.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "commands.h"

namespace aif::cli {

struct Output {
  int code = 0;
  std::string out, err;
};

// Runs `aifactory args...` and returns its exit code, standard output and standard error.
inline Output Aifactory(std::vector<std::string> args) {
  args.insert(args.begin(), "aifactory");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  Output o;
  o.code = Main(static_cast<int>(argv.size()), argv.data(), out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

}  // namespace aif::cli
