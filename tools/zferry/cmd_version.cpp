#include "tools/zferry/commands.hpp"

#include <iostream>

namespace zferry::cli {

void register_version(CLI::App& app, ExitCode& rc) {
    auto* cmd = app.add_subcommand("version", "print the zferry version");
    cmd->callback([&rc] {
        std::cout << "zferry version " << ZFERRY_VERSION << "\n";
        rc.value = 0;
    });
}

}  // namespace zferry::cli
