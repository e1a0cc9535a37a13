// The zferry subcommands. Each registers itself on the CLI11 app and runs from its own
// file, so main.cpp only wires them together.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace zferry::cli {

// Options given before the subcommand, as zrepl's persistent flags: `zferry --config PATH CMD`.
struct GlobalOptions {
    std::string config;  // empty: config::default_config_path()
};

// Every register_* function adds a subcommand whose callback stores the exit code here.
struct ExitCode {
    int value = 0;
};

// `zferry version [--show client|daemon]`.
void register_version(CLI::App& app, ExitCode& rc, const GlobalOptions& global);
// `zferry run --dry-run JOB`.
void register_run(CLI::App& app, ExitCode& rc, const GlobalOptions& global);
// `zferry daemon`.
void register_daemon(CLI::App& app, ExitCode& rc, const GlobalOptions& global);
// `zferry status` and `zferry signal wakeup|reset JOB` (the control socket's clients).
void register_control_clients(CLI::App& app, ExitCode& rc, const GlobalOptions& global);
// `zferry test filesystems|placeholder|decoderesumetoken ...`.
void register_test(CLI::App& app, ExitCode& rc, const GlobalOptions& global);
// `zferry zfs-abstraction list|release-all|release-stale` and the alias `zferry holds list`.
void register_zfs_abstraction(CLI::App& app, ExitCode& rc);
// `zferry migrate replication-cursor:v1-v2`.
void register_migrate(CLI::App& app, ExitCode& rc);
// `zferry configcheck [--config PATH] [--format ...] [--what ...] [--skip-cert-check]`.
void register_configcheck(CLI::App& app, ExitCode& rc, const GlobalOptions& global);

// `zferry stdinserver CLIENT_IDENTITY` (ssh's forced command for ssh+stdinserver).
void register_stdinserver(CLI::App& app, ExitCode& rc, const GlobalOptions& global);

}  // namespace zferry::cli
