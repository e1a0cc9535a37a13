// zferry: ZFS snapshot replication. main only assembles the subcommands.
#include "tools/zferry/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"zferry: ZFS snapshot replication"};
    app.require_subcommand(1);
    zferry::cli::ExitCode rc;
    zferry::cli::register_version(app, rc);
    zferry::cli::register_test(app, rc);
    zferry::cli::register_zfs_abstraction(app, rc);
    zferry::cli::register_migrate(app, rc);
    zferry::cli::register_configcheck(app, rc);
    CLI11_PARSE(app, argc, argv);
    return rc.value;
}
