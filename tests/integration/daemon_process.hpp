// A `zferry daemon` child process for integration tests: started with a configuration file
// and extra environment (its own zfs-sim state), logging into a file, driven through its
// control socket with the CLI, stopped with a signal and reaped. Every process it starts, it
// stops (the destructor kills what is still running).
#pragma once

#include "tests/integration/shell.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace zferry::test {

inline bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds bound) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return cond();
}

// Reading zrepl's /status of a push or pull job (`zferry status --json`, which `--mode raw` is too).

// The part of job `job` of kind `type` in a daemon's whole status (null when absent).
inline boost::json::value job_part(const boost::json::value& status, const std::string& job,
                                   const std::string& type) {
    if (!status.is_object()) return nullptr;
    const auto* jobs = status.as_object().if_contains("Jobs");
    const auto* j = jobs && jobs->is_object() ? jobs->as_object().if_contains(job) : nullptr;
    const auto* part = j && j->is_object() ? j->as_object().if_contains(type) : nullptr;
    return part ? *part : boost::json::value(nullptr);
}
// The job's latest replication has ended, done or failed (its report is final).
inline bool replication_ended(const boost::json::value& j) {
    return j.is_object() && !j.at("Replication").is_null() && !j.at("Replication").at("FinishAt").is_null();
}
// Its latest replication's last attempt is done (succeeded).
inline bool last_attempt_done(const boost::json::value& j) {
    const auto& attempts = j.at("Replication").at("Attempts").as_array();
    return !attempts.empty() && attempts.back().at("State") == "done";
}
// Invocation `n` of the job has finished: its replication ended (done or failed) and the pruning
// after it too (the job waits for its next wakeup).
inline bool invocation_finished(const boost::json::value& j, std::int64_t n) {
    return replication_ended(j) && j.at("Invocations").to_number<std::int64_t>() >= n &&
           j.at("State") == "waiting";
}

class DaemonProcess {
public:
    // `dir` holds this daemon's files: config (written by the caller), log, CLI stderr.
    DaemonProcess(std::string binary, std::string zfs_binary, std::filesystem::path dir, std::string sockpath)
        : binary_(std::move(binary)),
          zfs_(std::move(zfs_binary)),
          dir_(std::move(dir)),
          sock_(std::move(sockpath)) {}
    ~DaemonProcess() { stop(SIGKILL); }
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    std::filesystem::path config() const { return dir_ / "zferry.yml"; }
    const std::string& sockpath() const { return sock_; }
    std::string log() const { return read_file(dir_ / "daemon.log"); }
    pid_t pid() const { return pid_; }  // -1 when not running

    // Starts it with extra environment and `zferry daemon` options; true once its control
    // socket exists (within 10 s).
    bool start(const std::vector<std::string>& env_extra, const std::vector<std::string>& args_extra = {}) {
        std::vector<std::string> args = {binary_, "daemon", "--config",       config().string(),
                                         "--zfs", zfs_,     "--stop-timeout", "20"};
        args.insert(args.end(), args_extra.begin(), args_extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) env.emplace_back(*e);
        for (const auto& e : env_extra) env.push_back(e);
        std::vector<char*> envp;
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        const std::string log = (dir_ / "daemon.log").string();
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        const int rc = ::posix_spawn(&pid_, binary_.c_str(), &fa, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) return false;
        return wait_for([&] { return std::filesystem::exists(sock_) || exited(); },
                        std::chrono::seconds(10)) &&
               std::filesystem::exists(sock_);
    }
    // Sends `sig`, waits for the exit: its exit status (-1: killed by a signal, or not running).
    int stop(int sig = SIGTERM) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, sig);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    CmdResult cli(const std::string& args) const {
        return shell(binary_ + " " + args + " --config " + config().string(), dir_ / "cli.err");
    }
    // zrepl's /status as JSON (null when the daemon does not answer).
    boost::json::value status() const {
        auto r = cli("status --json");
        if (r.rc != 0) return nullptr;
        boost::system::error_code ec;
        auto v = boost::json::parse(r.out, ec);
        return ec ? boost::json::value(nullptr) : v;
    }

    // The part of job `job` of kind `type` ("push", "pull", "snap", ...) in its status (null when
    // the daemon does not answer or has no such job).
    boost::json::value job_status(const std::string& job, const std::string& type) const {
        return job_part(status(), job, type);
    }

private:
    bool exited() {
        int status = 0;
        if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
        }
        return false;
    }
    std::string binary_, zfs_;
    std::filesystem::path dir_;
    std::string sock_;
    pid_t pid_ = -1;
};

}  // namespace zferry::test
