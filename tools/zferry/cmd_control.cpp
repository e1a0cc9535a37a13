// The client commands that talk to a running daemon over its control socket
// (`global.control.sockpath` of the configuration): `zferry status`, `zferry signal`, and
// `zferry version --show daemon`.
#include "tools/zferry/commands.hpp"

#include "daemon/config/config_loader.hpp"
#include "daemon/control/control_server.hpp"
#include "tools/zferry/status_live.hpp"
#include "tools/zferry/status_text.hpp"

#include <boost/json.hpp>

#include <iostream>

namespace zferry::cli {
namespace {

// The control socket of the configuration; empty after printing why there is none.
std::string sockpath(const std::string& cmd_config, const GlobalOptions& global, const char* cmd) {
    const std::string path = !cmd_config.empty()      ? cmd_config
                             : !global.config.empty() ? global.config
                                                      : config::default_config_path();
    auto cfg = config::load_config(path);
    if (!cfg) {
        std::cerr << "zferry " << cmd << ": " << cfg.error().message() << "\n";
        return {};
    }
    return cfg->global.control_sockpath;
}

}  // namespace

void register_control_clients(CLI::App& app, ExitCode& rc, const GlobalOptions& global) {
    struct StatusOptions {
        std::string config, job, mode;
        bool json = false;
    };
    auto so = std::make_shared<StatusOptions>();
    auto* status = app.add_subcommand(
        "status",
        "show the daemon's jobs: per job its state; per filesystem a progress bar with bytes replicated of "
        "expected, rate, ETA and the current step; snapshotting and pruning; errors with their times. On a "
        "terminal the view refreshes every second until q or Ctrl-C (it keeps retrying while the daemon is "
        "not reachable); when the output is not a terminal it is printed once (--mode dump)");
    status->add_option("--config", so->config, "the configuration file (its control socket is asked)");
    status->add_option("--job", so->job, "only this job");
    status->add_flag("--json", so->json,
                     "print the daemon's status JSON as it is (zrepl's field names); = --mode raw");
    status
        ->add_option("--mode", so->mode,
                     "interactive: the live view (the default on a terminal); dump: the text view once (the "
                     "default when the output is not a terminal); raw: the daemon's JSON (zrepl's modes)")
        ->check(CLI::IsMember({"dump", "raw", "interactive"}));
    status->callback([so, &rc, &global] {
        if (so->mode.empty()) so->mode = stdout_is_terminal() ? "interactive" : "dump";
        if (so->mode == "interactive" && !stdout_is_terminal()) {
            std::cerr
                << "zferry status: --mode interactive needs a terminal on standard output; use --mode dump "
                   "or --mode raw\n";
            rc.value = 2;
            return;
        }
        if (so->mode == "raw") so->json = true;
        auto sock = sockpath(so->config, global, "status");
        if (sock.empty()) {
            rc.value = 1;
            return;
        }
        if (so->mode == "interactive" && !so->json) {
            rc.value = run_live_status(sock, so->job);
            return;
        }
        auto body = daemon::control_request(sock, "/status", "{}");
        if (!body) {
            std::cerr << "zferry status: " << body.error().message() << "\n";
            rc.value = 1;
            return;
        }
        if (so->json) {
            std::cout << *body;
            rc.value = 0;
            return;
        }
        boost::system::error_code ec;
        auto v = boost::json::parse(*body, ec);
        if (ec) {
            std::cerr << "zferry status: the daemon's answer is not JSON: " << ec.message() << "\n";
            rc.value = 1;
            return;
        }
        std::cout << render_status(v, so->job);
        rc.value = 0;
    });

    struct SignalOptions {
        std::string config, op, job;
    };
    auto sg = std::make_shared<SignalOptions>();
    auto* sig =
        app.add_subcommand("signal",
                           "wakeup: start a job's replication (or a snap job's pruning) now; reset: cancel "
                           "its running invocation (steps stop in a resumable state)");
    sig->add_option("--config", sg->config, "the configuration file (its control socket is asked)");
    sig->add_option("OP", sg->op, "wakeup or reset")->required()->check(CLI::IsMember({"wakeup", "reset"}));
    sig->add_option("JOB", sg->job, "the job's name")->required();
    sig->callback([sg, &rc, &global] {
        auto sock = sockpath(sg->config, global, "signal");
        if (sock.empty()) {
            rc.value = 1;
            return;
        }
        boost::json::object req;
        req["Name"] = sg->job;
        req["Op"] = sg->op;
        auto r = daemon::control_request(sock, "/signal", boost::json::serialize(req));
        if (!r) {
            std::cerr << "zferry signal: " << r.error().context() << "\n";
            rc.value = 1;
            return;
        }
        rc.value = 0;
    });
}

void register_version(CLI::App& app, ExitCode& rc, const GlobalOptions& global) {
    auto show = std::make_shared<std::string>("client");
    auto config = std::make_shared<std::string>();
    auto* cmd =
        app.add_subcommand("version", "print the zferry version (--show daemon: the running daemon's)");
    cmd->add_option("--show", *show, "client (this binary) or daemon (asks the control socket)")
        ->check(CLI::IsMember({"client", "daemon"}))
        ->capture_default_str();
    cmd->add_option("--config", *config, "the configuration file (its control socket is asked)");
    cmd->callback([show, config, &rc, &global] {
        if (*show == "client") {
            std::cout << "zferry version " << ZFERRY_VERSION << "\n";
            rc.value = 0;
            return;
        }
        auto sock = sockpath(*config, global, "version");
        if (sock.empty()) {
            rc.value = 1;
            return;
        }
        auto body = daemon::control_request(sock, "/version", "{}");
        boost::system::error_code ec;
        auto v = body ? boost::json::parse(*body, ec) : boost::json::value();
        if (!body || ec || !v.is_object() || !v.as_object().contains("Version")) {
            std::cerr << "zferry version: "
                      << (body ? std::string("the daemon's answer has no Version") : body.error().message())
                      << "\n";
            rc.value = 1;
            return;
        }
        std::cout << "daemon: zferry version " << boost::json::value_to<std::string>(v.at("Version")) << "\n";
        rc.value = 0;
    });
}

}  // namespace zferry::cli
