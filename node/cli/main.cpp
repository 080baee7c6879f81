#include "node/cli/cli.hpp"

int main(int argc, char** argv) { return swarmd::node::run_cli(argc, argv); }
