// The aifactory command line: argument parsing and printing only; the work is the library's.
#pragma once

#include <iosfwd>

namespace aif::cli {

// Runs the command line; returns the process exit code (0 ok, 1 failed, 2 usage error).
int Main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace aif::cli
