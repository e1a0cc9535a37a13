// zfs-sim: a simulator of the OpenZFS 2.2 `zfs` command line for zferry's tests.
#include "tools/zfs-sim/commands.hpp"
#include "tools/zfs-sim/faults.hpp"
#include "tools/zfs-sim/usage.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

namespace {

using namespace zfssim;
using Handler = int (*)(Store&, const Context&);

const std::map<std::string, Handler>& handlers() {
    static const std::map<std::string, Handler> h = {
        {"create", cmd_create},
        {"set", cmd_set},
        {"inherit", cmd_inherit},
        {"snapshot", cmd_snapshot},
        {"snap", cmd_snapshot},
        {"bookmark", cmd_bookmark},
        {"rollback", cmd_rollback},
        {"hold", cmd_hold},
        {"holds", cmd_holds},
        {"release", cmd_release},
        {"destroy", cmd_destroy},
        {"list", cmd_list},
        {"get", cmd_get},
        {"send", cmd_send},
        {"recv", cmd_recv},
        {"receive", cmd_recv},
        {"sim-create-pool", cmd_sim_create_pool},
        {"sim-write", cmd_sim_write},
        {"sim-read", cmd_sim_read},
        {"sim-set-pool-size", cmd_sim_set_pool_size},
    };
    return h;
}

// ZFS_SIM_LOG: one JSON line per invocation, appended atomically (O_APPEND + flock).
void log_invocation(int argc, char** argv) {
    const char* path = std::getenv("ZFS_SIM_LOG");
    if (path == nullptr || *path == '\0') return;
    boost::json::array a;
    for (int i = 0; i < argc; ++i) a.emplace_back(argv[i]);
    boost::json::object o;
    o["argv"] = std::move(a);
    // When it started (microseconds, CLOCK_REALTIME): gaps between invocations time a caller's phases.
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    o["t_us"] = static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
    std::string line = boost::json::serialize(o) + "\n";
    int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ::flock(fd, LOCK_EX);
    write_all(fd, line);
    ::close(fd);
}

bool injected_failure(const std::string& cmd) {
    const char* v = std::getenv("ZFS_SIM_FAIL_SUBCOMMAND");
    if (v == nullptr || *v == '\0') return false;
    std::string canon = cmd == "recv" ? "receive" : cmd == "snap" ? "snapshot" : cmd;
    for (auto& x : split_commas(v)) {
        std::string cx = x == "recv" ? "receive" : x == "snap" ? "snapshot" : x;
        if (cx == canon) return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    install_signal_handlers();
    log_invocation(argc, argv);
    if (argc < 2) {
        std::fputs(global_usage().c_str(), stderr);
        return 2;
    }
    std::string cmd = argv[1];
    auto it = handlers().find(cmd);
    if (it == handlers().end()) {
        std::fprintf(stderr, "unrecognized command '%s'\n", cmd.c_str());
        std::fputs(global_usage().c_str(), stderr);
        return 2;
    }
    Context c{cmd, std::vector<std::string>(argv + 2, argv + argc)};
    try {
        if (injected_failure(cmd)) {
            std::fprintf(stderr, "zfs-sim: injected failure of '%s' (ZFS_SIM_FAIL_SUBCOMMAND)\n",
                         cmd.c_str());
            return 1;
        }
        bool usage_only =
            c.args.empty() &&
            (cmd == "send" || cmd == "recv" || cmd == "receive" || cmd == "destroy" || cmd == "hold" ||
             cmd == "release" || cmd == "holds" || cmd == "snapshot" || cmd == "bookmark" ||
             cmd == "rollback" || cmd == "create" || cmd == "set" || cmd == "inherit" || cmd == "get");
        if (usage_only) {
            // zfs prints what is missing and the usage without touching any pool.
            const char* what = cmd == "send" || cmd == "recv" || cmd == "receive" || cmd == "snapshot"
                                   ? "missing snapshot argument"
                               : cmd == "hold" || cmd == "release" ? "missing tag name"
                               : cmd == "get" || cmd == "inherit" || cmd == "set"
                                   ? "missing property argument"
                               : cmd == "create" ? "missing filesystem argument"
                                                 : "missing dataset argument";
            throw UsageError(what);
        }
        Store st;
        return it->second(st, c);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "%s\n%s", e.what(), usage_text(cmd).c_str());
        return 2;
    } catch (const SimError& e) {
        std::fputs(e.what(), stderr);
        return e.exit_code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "zfs-sim: internal error: %s\n", e.what());
        return 1;
    }
}
