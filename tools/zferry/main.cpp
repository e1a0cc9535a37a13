// zferry: ZFS snapshot replication. main only assembles the subcommands.
#include "tools/zferry/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"zferry: ZFS snapshot replication"};
    app.require_subcommand(1);
    zferry::cli::ExitCode rc;
    zferry::cli::GlobalOptions global;
    app.add_option("--config", global.config,
                   "the configuration file (default: /etc/zferry/zferry.yml, /etc/zrepl/zrepl.yml, "
                   "/usr/local/etc/zrepl/zrepl.yml, the first that exists)");
    zferry::cli::register_version(app, rc, global);
    zferry::cli::register_daemon(app, rc, global);
    zferry::cli::register_run(app, rc, global);
    zferry::cli::register_control_clients(app, rc, global);
    zferry::cli::register_test(app, rc, global);
    zferry::cli::register_zfs_abstraction(app, rc);
    zferry::cli::register_migrate(app, rc);
    zferry::cli::register_configcheck(app, rc, global);
    zferry::cli::register_stdinserver(app, rc, global);
    CLI11_PARSE(app, argc, argv);
    return rc.value;
}
