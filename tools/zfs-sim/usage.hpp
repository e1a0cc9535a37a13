// OpenZFS 2.2's usage texts (capability probes grep them) and their printing.
#pragma once

#include <string>

namespace zfssim {

// "usage:\n<help for cmd>" plus the trailer OpenZFS prints after it; "" for unknown cmd.
std::string usage_text(const std::string& cmd);
// The top-level usage (no or unknown subcommand).
std::string global_usage();

}  // namespace zfssim
