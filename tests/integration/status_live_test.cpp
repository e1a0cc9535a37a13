// `zferry status` in a real terminal, as a person would run it: a daemon on zfs-sim replicates
// 6 MiB under a 1 MiB/s send limit while the live view runs in an 80x24 tmux pane (a private
// tmux server on a socket in the test's directory). The test reads the pane with capture-pane
// and types with send-keys: the job, the filesystem and a moving progress bar appear, the view
// updates to the finished step, is drawn again for a resized pane (SIGWINCH), says the daemon is
// not reachable once it stops, and `q` (and in a second run Ctrl-C) ends it with the shell
// prompt back and the terminal settings as before; Ctrl-Z stops it with the terminal restored
// and `fg` brings it back.
// Every wait polls the pane with a deadline; the tmux server and the daemon are stopped here.
#include "tests/integration/daemon_process.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using zferry::test::CmdResult;
using zferry::test::DaemonProcess;
using zferry::test::wait_for;

class StatusLiveTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        char tmpl[] = "/tmp/zferry-status-live-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        fs::create_directory(dir_ / "run");
        fs::permissions(dir_ / "run", fs::perms::owner_all, fs::perm_options::replace);
        state_ = (dir_ / "zfs").string();
        zfs("sim-create-pool p && $Z create p/a && $Z sim-create-pool q && $Z create q/sink");
        daemon_ = std::make_unique<DaemonProcess>(ZFERRY_BINARY, ZFS_SIM_BIN, dir_,
                                                  (dir_ / "run" / "control").string());
    }
    void TearDown() override {
        tmux("kill-server");
        daemon_.reset();
        int st = 0;
        while (::waitpid(-1, &st, 0) > 0) {
        }
        fs::remove_all(dir_);
    }

    void zfs(const std::string& cmds, const std::string& input = {}) {
        const std::string cmd =
            input + "ZFS_SIM_STATE=" + state_ + " Z=" ZFS_SIM_BIN " bash -c '$Z " + cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }
    CmdResult tmux(const std::string& args) {
        return zferry::test::shell("tmux -S " + (dir_ / "tmux.sock").string() + " " + args,
                                   dir_ / "tmux.err");
    }
    std::string screen() { return tmux("capture-pane -p -t live").out; }
    // What runs in the pane now ("bash" at the prompt) and whether the alternate screen is on.
    std::string pane() {
        return tmux("display-message -p -t live '#{pane_current_command} #{alternate_on}'").out;
    }
    bool screen_shows(const std::regex& re, std::string& seen, std::chrono::milliseconds bound) {
        return wait_for([&] { return std::regex_search(seen = screen(), re); }, bound);
    }
    // The last line with text is the shell's prompt (capture-pane drops trailing blanks).
    static bool at_prompt(const std::string& screen) {
        auto end = screen.find_last_not_of(" \n");
        if (end == std::string::npos) return false;
        const auto start = screen.rfind('\n', end);
        return screen.substr(start == std::string::npos ? 0 : start + 1,
                             end + 1 - (start == std::string::npos ? 0 : start + 1)) == "zf$";
    }
    bool shows_prompt(std::string& seen, std::chrono::milliseconds bound) {
        return wait_for([&] { return at_prompt(seen = screen()); }, bound);
    }

    void write_config() {
        std::ofstream(daemon_->config())
            << "global:\n"
               "  logging:\n    - {type: stdout, level: info, format: human}\n"
               "  control:\n    sockpath: "
            << daemon_->sockpath()
            << "\n"
               "jobs:\n"
               "  - name: push1\n"
               "    type: push\n"
               "    connect: {type: local, listener_name: backup, client_identity: "
               "host1}\n"
               "    filesystems: {\"p/a<\": true}\n"
               "    send:\n"
               "      bandwidth_limit: {max: 1 MiB}\n"
               "    snapshotting: {type: manual}\n"
               "    pruning:\n"
               "      keep_sender: [{type: not_replicated}]\n"
               "      keep_receiver: [{type: last_n, count: 10}]\n"
               "  - name: sink1\n"
               "    type: sink\n"
               "    root_fs: q/sink\n"
               "    recv: {placeholder: {encryption: inherit}}\n"
               "    serve: {type: local, listener_name: backup}\n";
    }
    // A shell in an 80x24 pane with a known prompt; "zf$ " shows when it waits for input.
    void start_terminal() {
        auto r = tmux(
            "-f /dev/null new-session -d -x 80 -y 24 -s live \"env PS1='zf$ ' "
            "bash --norc --noprofile\"");
        ASSERT_EQ(r.rc, 0) << r.err;
        std::string seen;
        ASSERT_TRUE(shows_prompt(seen, 10s)) << seen;
    }
    // Types `line` and Enter in the pane.
    void type(const std::string& line) {
        ASSERT_EQ(tmux("send-keys -t live -l '" + line + "'").rc, 0);
        ASSERT_EQ(tmux("send-keys -t live Enter").rc, 0);
    }

    // Runs `zferry status` in the pane after saving the terminal's settings; true once the
    // view is up (alternate screen on).
    bool run_status(const std::string& name) {
        type("stty -g > " + (dir_ / (name + ".before")).string() + "; " ZFERRY_BINARY " status --config " +
             daemon_->config().string() + "; stty -g > " + (dir_ / (name + ".after")).string());
        return wait_for([&] { return pane().find(" 1") != std::string::npos; }, 10s);
    }
    // After the view ended: the shell prompt back, the main screen, the settings unchanged.
    void expect_restored(const std::string& name) {
        const auto after = dir_ / (name + ".after");
        ASSERT_TRUE(wait_for([&] { return fs::exists(after) && fs::file_size(after) > 0; }, 10s))
            << "the view did not end\n"
            << screen();
        std::string seen;
        EXPECT_TRUE(shows_prompt(seen, 5s)) << seen;
        EXPECT_EQ(pane(), "bash 0\n") << "back at the prompt, on the main screen";
        EXPECT_EQ(zferry::test::read_file(after), zferry::test::read_file(dir_ / (name + ".before")))
            << "the terminal settings (echo, canonical mode) are as before";
        EXPECT_EQ(seen.find("Job push1"), std::string::npos) << "the view's screen is gone:\n" << seen;
    }

    fs::path dir_;
    std::string state_;
    std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(StatusLiveTest, ShowsProgressInAnEightyByTwentyFourTerminalAndQuitsOnQ) {
    zfs("sim-write p/a /dev/stdin; $Z snapshot p/a@s1", "head -c 6291456 /dev/urandom | ");
    write_config();
    ASSERT_TRUE(daemon_->start({"ZFS_SIM_STATE=" + state_})) << daemon_->log();
    start_terminal();
    ASSERT_TRUE(run_status("q")) << pane() << screen();

    std::string seen;
    ASSERT_TRUE(screen_shows(std::regex("Job push1 \\(push\\): waiting"), seen, 10s)) << seen;
    EXPECT_NE(seen.find("Job sink1 (sink): serving"), std::string::npos) << seen;
    EXPECT_NE(seen.find("(q: quit)"), std::string::npos) << seen;

    ASSERT_EQ(daemon_->cli("signal wakeup push1").rc, 0);
    // Part of the way: the filesystem stepping with a partly filled bar, a rate and an ETA.
    static const std::regex moving(
        "p/a +stepping +step 1/1  full -> @s1\n +\\[#+\\.+\\] +[0-9]+%  [0-9.]+ [KM]iB / [0-9.]+ MiB  "
        "[0-9.]+ "
        "[KM]iB/s  ETA [0-9]+s");
    ASSERT_TRUE(screen_shows(moving, seen, 30s)) << seen << daemon_->log();
    std::cout << "the pane while replicating:\n" << seen << "\n";  // the README's screen
    // The same view, later: the step done, the bar full.
    static const std::regex done("p/a +done +step 1/1\n +\\[#+\\] 100%  [0-9.]+ MiB / [0-9.]+ MiB");
    ASSERT_TRUE(screen_shows(done, seen, 30s)) << seen << daemon_->log();
    for (std::size_t start = 0, end; (end = seen.find('\n', start)) != std::string::npos; start = end + 1) {
        std::size_t columns = 0;  // code points: "…" is one column, three bytes
        for (std::size_t i = start; i < end; ++i)
            columns += (static_cast<unsigned char>(seen[i]) & 0xC0) != 0x80;
        EXPECT_LE(columns, 80u) << seen;
    }

    // A smaller terminal (SIGWINCH): the view is drawn again for 60 columns, the bar shorter.
    ASSERT_EQ(tmux("resize-window -t live -x 60 -y 20").rc, 0);
    ASSERT_TRUE(screen_shows(std::regex("\n +\\[#{28}\\] 100%"), seen, 10s)) << seen;

    // The daemon goes away: the view says so and keeps trying.
    EXPECT_EQ(daemon_->stop(SIGTERM), 0) << daemon_->log();
    ASSERT_TRUE(screen_shows(std::regex("daemon not reachable: .*"), seen, 10s)) << seen;
    EXPECT_EQ(pane(), "zferry 1\n");

    ASSERT_EQ(tmux("send-keys -t live q").rc, 0);
    expect_restored("q");

    // Ctrl-C ends it the same way.
    ASSERT_TRUE(run_status("c")) << pane() << screen();
    ASSERT_TRUE(screen_shows(std::regex("daemon not reachable"), seen, 10s)) << seen;
    ASSERT_EQ(tmux("send-keys -t live C-c").rc, 0);
    expect_restored("c");
}

// Ctrl-Z gives the shell its terminal back as it was (main screen, echo and line editing on)
// before the view stops; `fg` brings the view back, drawn again and in raw mode (a bare `q`
// without Enter still ends it).
TEST_F(StatusLiveTest, CtrlZRestoresTheTerminalAndFgBringsTheViewBack) {
    write_config();
    ASSERT_TRUE(daemon_->start({"ZFS_SIM_STATE=" + state_})) << daemon_->log();
    start_terminal();
    const auto before = dir_ / "z.before", stopped = dir_ / "z.stopped", after = dir_ / "z.after";
    type("stty -g > " + before.string());
    ASSERT_TRUE(wait_for([&] { return fs::exists(before) && fs::file_size(before) > 0; }, 10s)) << screen();
    type(ZFERRY_BINARY " status --config " + daemon_->config().string());
    std::string seen;
    ASSERT_TRUE(screen_shows(std::regex("Job push1 \\(push\\): waiting"), seen, 10s)) << seen;

    ASSERT_EQ(tmux("send-keys -t live C-z").rc, 0);
    ASSERT_TRUE(shows_prompt(seen, 10s)) << seen;
    EXPECT_NE(seen.find("Stopped"), std::string::npos) << "bash reports the stopped job:\n" << seen;
    EXPECT_EQ(seen.find("Job push1"), std::string::npos) << "the view's screen is gone:\n" << seen;
    EXPECT_EQ(pane(), "bash 0\n") << "at the prompt, on the main screen";
    type("stty -g > " + stopped.string());
    ASSERT_TRUE(wait_for([&] { return fs::exists(stopped) && fs::file_size(stopped) > 0; }, 10s)) << screen();
    EXPECT_EQ(zferry::test::read_file(stopped), zferry::test::read_file(before))
        << "the terminal settings while the view is stopped are the shell's own";

    type("fg");
    ASSERT_TRUE(wait_for([&] { return pane() == "zferry 1\n"; }, 10s)) << pane() << screen();
    ASSERT_TRUE(screen_shows(std::regex("Job push1 \\(push\\): waiting"), seen, 10s))
        << "the view is drawn again:\n"
        << seen;
    ASSERT_EQ(tmux("send-keys -t live q").rc, 0);  // no Enter: raw mode is back
    ASSERT_TRUE(shows_prompt(seen, 10s)) << seen;
    EXPECT_EQ(pane(), "bash 0\n");
    type("stty -g > " + after.string());
    ASSERT_TRUE(wait_for([&] { return fs::exists(after) && fs::file_size(after) > 0; }, 10s)) << screen();
    EXPECT_EQ(zferry::test::read_file(after), zferry::test::read_file(before));
    EXPECT_EQ(daemon_->stop(SIGTERM), 0) << daemon_->log();
}

}  // namespace
