#include <iostream>

#include "commands.h"

int main(int argc, char** argv) { return aif::cli::Main(argc, argv, std::cout, std::cerr); }
