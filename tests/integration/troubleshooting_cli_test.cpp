// `zferry test filesystems`, `zferry test placeholder` and the bash and zsh completions, as a
// user runs them: the binary on a zfs-sim host and a configuration file, the completion sourced
// in bash, found by zsh's compinit.
#include "tests/integration/shell.hpp"
#include "zfs/properties.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

using Outcome = zferry::test::CmdResult;

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

class TroubleshootingCli : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zferry-troubleshooting-cli-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        config_ = dir_ / "zrepl.yml";
        ::setenv("ZFS_SIM_STATE", (dir_ / "state").c_str(), 1);
        // p/sink/client is what a sink makes for a client's nested filesystem: a placeholder
        // whose child inherits the flag (and so is no placeholder).
        ASSERT_EQ(
            sh("$Z sim-create-pool p && $Z create p/home && $Z create p/home/tmp && $Z create p/sink && "
               "$Z create -o zrepl:placeholder=on p/sink/client && $Z create p/sink/client/fs && "
               "$Z create -o zrepl:placeholder=off p/sink/old && $Z sim-create-pool q")
                .rc,
            0);
        std::ofstream(config_)
            << "jobs:\n"
               "  - name: push1\n"
               "    type: push\n"
               "    connect: {type: tcp, address: \"127.0.0.1:8888\"}\n"
               "    filesystems: {\"p/home<\": true, \"p/home/tmp\": false, \"q\": true}\n"
               "    snapshotting: {type: manual}\n"
               "    pruning:\n"
               "      keep_sender: [{type: last_n, count: 1}]\n"
               "      keep_receiver: [{type: last_n, count: 1}]\n"
               "  - name: sink1\n"
               "    type: sink\n"
               "    serve: {type: tcp, listen: \"127.0.0.1:8888\", clients: {\"127.0.0.1\": c}}\n"
               "    root_fs: p/sink\n"
               "  - name: snap_hourly\n"
               "    type: snap\n"
               "    filesystems: {\"<\": true, \"p/sink<\": false}\n"
               "    snapshotting: {type: periodic, interval: 1h, prefix: zf_}\n"
               "    pruning: {keep: [{type: last_n, count: 24}]}\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    Outcome sh(const std::string& script) { return exec("Z=" ZFS_SIM_BIN "; " + script); }
    Outcome zferry(const std::string& args) { return exec(std::string(ZFERRY_BINARY) + " " + args); }
    Outcome exec(const std::string& script) {
        const auto file = dir_ / "script.sh";
        std::ofstream(file) << script << "\n";
        return zferry::test::shell("bash " + file.string(), dir_ / "stderr");
    }

    // COMPREPLY after <TAB> at the end of `line` (the words after "zferry"), one reply a line.
    std::vector<std::string> complete(const std::string& line) {
        const std::string full = std::string(ZFERRY_BINARY) + " " + line;
        std::ofstream(dir_ / "line") << full;
        auto r = exec("source " ZFERRY_SOURCE_DIR
                      "/dist/zferry.bash-completion\n"
                      "COMP_LINE=$(<" +
                      (dir_ / "line").string() +
                      ")\n"
                      "COMP_POINT=${#COMP_LINE}\n"
                      "_zferry\n"
                      "printf '%s\\n' \"${COMPREPLY[@]}\"");
        EXPECT_EQ(r.rc, 0) << r.err;
        auto out = lines(r.out);
        if (out == std::vector<std::string>{""}) out.clear();
        std::sort(out.begin(), out.end());
        return out;
    }

    // What zsh offers after <TAB> at the end of `line` (the words after "zferry"), one a line:
    // compinit finds dist/_zferry through $fpath, and the completion runs with compadd (a
    // builtin only a completion widget may call) replaced by a function that prints what it
    // is given and the current word matches, and _files by a marker.
    std::vector<std::string> complete_zsh(const std::string& line) {
        const std::string full = std::string(ZFERRY_BINARY) + " " + line;
        std::ofstream(dir_ / "line") << full;
        std::ofstream(dir_ / "complete.zsh") << R"(fpath=()" ZFERRY_SOURCE_DIR R"(/dist $fpath)
autoload -Uz compinit && compinit -u -d ${0:h}/zcompdump
[[ $_comps[zferry] == _zferry ]] || { print -u2 "compinit did not register _zferry: $_comps[zferry]"; exit 3 }
compadd() {
  while [[ $1 == -* && $1 != -- ]]; do shift; done
  [[ $1 == -- ]] && shift
  local w
  for w in "$@"; do [[ $w == ${PREFIX}* ]] && print -r -- "$w"; done
  return 0
}
_files() { print -r -- "<files>" }
local line=$(<$1)
words=(${(z)line})
[[ $line == *' ' ]] && words+=("")
CURRENT=${#words}
PREFIX=${words[CURRENT]}
_zferry
exit 0
)";
        auto r = exec("zsh -f " + (dir_ / "complete.zsh").string() + " " + (dir_ / "line").string());
        EXPECT_NE(r.rc, 127) << "zsh is missing (Debian package zsh; tools/dev/deps.sh installs it)";
        EXPECT_EQ(r.rc, 0) << r.err;
        auto out = lines(r.out);
        std::sort(out.begin(), out.end());
        return out;
    }

    fs::path dir_;
    fs::path config_;
};

TEST_F(TroubleshootingCli, FilesystemsAllPrintsZreplsVerdictForEveryDatasetOfTheHost) {
    auto r =
        zferry("--config " + config_.string() + " test filesystems --job push1 --all --zfs " ZFS_SIM_BIN);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out,
              "REJECT\tp\t\n"
              "ACCEPT\tp/home\t\n"
              "REJECT\tp/home/tmp\t\n"
              "REJECT\tp/sink\t\n"
              "REJECT\tp/sink/client\t\n"
              "REJECT\tp/sink/client/fs\t\n"
              "REJECT\tp/sink/old\t\n"
              "ACCEPT\tq\t\n");
    EXPECT_EQ(r.err, "") << "no log lines between the verdicts and the user";

    r = zferry("test filesystems --config " + config_.string() +
               " --job snap_hourly --all --zfs " ZFS_SIM_BIN);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(
        r.out,
        "ACCEPT\tp\t\nACCEPT\tp/home\t\nACCEPT\tp/home/tmp\t\nREJECT\tp/sink\t\nREJECT\tp/sink/client\t\n"
        "REJECT\tp/sink/client/fs\t\nREJECT\tp/sink/old\t\nACCEPT\tq\t\n");
}

TEST_F(TroubleshootingCli, FilesystemsInputTestsOneNameThatNeedNotExist) {
    const std::string job = "--config " + config_.string() + " test filesystems --job push1 --input ";
    auto r = zferry(job + "p/home/new/deep");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "ACCEPT\tp/home/new/deep\t\n");
    r = zferry(job + "p/home/tmp");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "REJECT\tp/home/tmp\t\n");
    r = zferry("--config " + config_.string() + " test filesystems --job snap_hourly --input p/sink/x");
    EXPECT_EQ(r.out, "REJECT\tp/sink/x\t\n");
}

struct ErrorCase {
    std::string args;
    int rc;
    std::string err;
};

TEST_F(TroubleshootingCli, FilesystemsErrorsSayWhatIsWrong) {
    const std::string c = "--config " + config_.string() + " test filesystems ";
    const std::vector<ErrorCase> cases = {
        {c + "--job nope --all", 2,
         "zferry test filesystems: job \"nope\" is not defined in " + config_.string() +
             " (jobs: push1, sink1, snap_hourly)\n"},
        {c + "--job sink1 --all", 2,
         "zferry test filesystems: job \"sink1\" is a sink job and has no filesystems filter: it receives "
         "what "
         "its clients push, below root_fs \"p/sink\"; test the filter of the push job that sends to it\n"},
        {c + "--job push1 --input p/home@snap", 2,
         "zferry test filesystems: --input: dataset path 'p/home@snap' contains forbidden character '@' (a "
         "filesystem or volume name is expected)\n"},
        {c + "--job push1", 2,
         "zferry test filesystems: give one of --all (every filesystem and volume of this host) or --input "
         "FS\n"},
        {"test filesystems --config " + (dir_ / "missing.yml").string() + " --job push1 --all", 1,
         "zferry test filesystems: "},
        {c + "--job push1 --all --zfs " + (dir_ / "no-zfs").string(), 1,
         "zferry test filesystems: could not list this host's filesystems: "},
    };
    for (const auto& t : cases) {
        auto r = zferry(t.args);
        EXPECT_EQ(r.rc, t.rc) << t.args << "\n" << r.err;
        EXPECT_EQ(r.out, "") << t.args;
        if (t.rc == 2)
            EXPECT_EQ(r.err, t.err) << t.args;
        else
            EXPECT_TRUE(r.err.starts_with(t.err)) << t.args << "\n" << r.err;
    }
    auto missing =
        zferry("test filesystems --config " + (dir_ / "missing.yml").string() + " --job push1 --all");
    EXPECT_NE(missing.err.find((dir_ / "missing.yml").string()), std::string::npos) << missing.err;
    auto both = zferry(c + "--job push1 --all --input p");
    EXPECT_NE(both.rc, 0);
    EXPECT_NE(both.err.find("--all excludes --input"), std::string::npos) << both.err;
}

TEST_F(TroubleshootingCli, PlaceholderAllShowsEveryFilesystemWithItsLocalValue) {
    auto r = zferry("test placeholder --all --zfs " ZFS_SIM_BIN);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out,
              "IS_PLACEHOLDER\tDATASET\tzrepl:placeholder\n"
              "no\tp\t\n"
              "no\tp/home\t\n"
              "no\tp/home/tmp\t\n"
              "no\tp/sink\t\n"
              "yes\tp/sink/client\ton\n"
              "no\tp/sink/client/fs\t\n"
              "no\tp/sink/old\toff\n"
              "no\tq\t\n")
        << "an inherited flag does not make p/sink/client/fs a placeholder";
    EXPECT_EQ(r.err, "");
}

TEST_F(TroubleshootingCli, PlaceholderDatasetRecognisesZrepl00xHashValues) {
    const std::string legacy = zferry::zfs::legacy_placeholder_value("p/home/tmp");
    ASSERT_EQ(sh("$Z set zrepl:placeholder=" + legacy + " p/home/tmp").rc, 0);
    auto r = zferry("test placeholder --dataset p/home/tmp --zfs " ZFS_SIM_BIN);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "IS_PLACEHOLDER\tDATASET\tzrepl:placeholder\nyes\tp/home/tmp\t" + legacy + "\n");
    // The same value on another dataset is no placeholder: the hash is of the dataset's own name.
    ASSERT_EQ(sh("$Z set zrepl:placeholder=" + legacy + " p/home").rc, 0);
    r = zferry("test placeholder --dataset p/home --zfs " ZFS_SIM_BIN);
    EXPECT_EQ(r.out, "IS_PLACEHOLDER\tDATASET\tzrepl:placeholder\nno\tp/home\t" + legacy + "\n");
}

TEST_F(TroubleshootingCli, PlaceholderErrorsSayWhatIsWrong) {
    const std::vector<ErrorCase> cases = {
        {"test placeholder --dataset p/nope --zfs " ZFS_SIM_BIN, 1,
         "zferry test placeholder: filesystem \"p/nope\" does not exist\n"},
        {"test placeholder --dataset p/home@s --zfs " ZFS_SIM_BIN, 2,
         "zferry test placeholder: --dataset: filesystem name 'p/home@s' must not contain '@' (a filesystem "
         "or "
         "volume name is expected)\n"},
        {"test placeholder --zfs " ZFS_SIM_BIN, 2,
         "zferry test placeholder: give one of --all (every filesystem and volume of this host) or --dataset "
         "FS\n"},
    };
    for (const auto& t : cases) {
        auto r = zferry(t.args);
        EXPECT_EQ(r.rc, t.rc) << t.args;
        EXPECT_EQ(r.out, "") << t.args;
        EXPECT_EQ(r.err, t.err) << t.args;
    }
    auto r = zferry("test placeholder --all --zfs " + (dir_ / "no-zfs").string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("zferry test placeholder: cannot get the placeholder state: ", 0), 0u) << r.err;
}

using Replies = std::vector<std::string>;

TEST_F(TroubleshootingCli, CompletionCompletesSubcommandsOptionsAndValues) {
    EXPECT_EQ(complete("sig"), Replies{"signal"});
    EXPECT_EQ(complete("s"), (Replies{"signal", "status", "stdinserver"}));
    EXPECT_EQ(complete("test "), (Replies{"decoderesumetoken", "filesystems", "placeholder"}));
    EXPECT_EQ(complete("test placeholder --"), (Replies{"--all", "--dataset", "--help", "--zfs"}));
    EXPECT_EQ(complete("configcheck --format "), (Replies{"json", "pretty", "yaml"}));
    EXPECT_EQ(complete("status --mode d"), Replies{"dump"});
    EXPECT_EQ(complete("signal "), (Replies{"reset", "wakeup"}));
    EXPECT_EQ(complete("zfs-abstraction release-stale --d"), Replies{"--dry-run"});
    EXPECT_EQ(complete("migrate repl"), Replies{"replication-cursor:v1-v2"});
    // bash splits the word at ':' and replaces only what follows it.
    EXPECT_EQ(complete("migrate replication-cursor:"), Replies{"v1-v2"});
    EXPECT_EQ(complete("daemon --stop-timeout "), Replies{}) << "a number nothing can guess";
    EXPECT_EQ(complete("test decoderesumetoken --token "), Replies{});
}

TEST_F(TroubleshootingCli, ZshCompletionCompletesSubcommandsOptionsValuesJobsAndDatasets) {
    EXPECT_EQ(complete_zsh("sig"), Replies{"signal"});
    EXPECT_EQ(complete_zsh("s"), (Replies{"signal", "status", "stdinserver"}));
    EXPECT_EQ(complete_zsh("test "), (Replies{"decoderesumetoken", "filesystems", "placeholder"}));
    EXPECT_EQ(complete_zsh("test placeholder --"), (Replies{"--all", "--dataset", "--help", "--zfs"}));
    EXPECT_EQ(complete_zsh("configcheck --format "), (Replies{"json", "pretty", "yaml"}));
    EXPECT_EQ(complete_zsh("status --mode d"), Replies{"dump"});
    EXPECT_EQ(complete_zsh("signal "), (Replies{"reset", "wakeup"}));
    EXPECT_EQ(complete_zsh("zfs-abstraction release-stale --d"), Replies{"--dry-run"});
    EXPECT_EQ(complete_zsh("migrate replication-cursor:"), Replies{"replication-cursor:v1-v2"});
    EXPECT_EQ(complete_zsh("daemon --stop-timeout "), Replies{}) << "a number nothing can guess";
    EXPECT_EQ(complete_zsh("--config "), Replies{"<files>"});
    const std::string c = config_.string();
    EXPECT_EQ(complete_zsh("--config " + c + " signal wakeup "), (Replies{"push1", "sink1", "snap_hourly"}));
    EXPECT_EQ(complete_zsh("run --config=" + c + " --dry-run p"), Replies{"push1"});
    EXPECT_EQ(complete_zsh("signal --config " + c + " wakeup push1 "), Replies{})
        << "JOB is the last argument";
    EXPECT_EQ(complete_zsh("test placeholder --zfs " ZFS_SIM_BIN " --dataset p/s"),
              (Replies{"p/sink", "p/sink/client", "p/sink/client/fs", "p/sink/old"}));
    // The same offers as the bash completion, for every line above and a few more.
    for (const std::string& line : std::vector<std::string>{
             "", "test placeholder --", "holds ", "holds list --", "zfs-abstraction list --type ",
             "version --show ", "status --", "configcheck --what ", "signal --config " + c + " reset s"})
        EXPECT_EQ(complete_zsh(line), complete(line)) << "zferry " << line;
}

TEST_F(TroubleshootingCli, CompletionListsTheJobsOfTheConfigurationOnTheLine) {
    const std::string c = config_.string();
    EXPECT_EQ(complete("--config " + c + " signal wakeup "), (Replies{"push1", "sink1", "snap_hourly"}));
    EXPECT_EQ(complete("signal --config " + c + " reset s"), (Replies{"sink1", "snap_hourly"}));
    EXPECT_EQ(complete("run --config=" + c + " --dry-run p"), Replies{"push1"});
    EXPECT_EQ(complete("test filesystems --config " + c + " --job "),
              (Replies{"push1", "sink1", "snap_hourly"}));
    EXPECT_EQ(complete("signal --config " + c + " wakeup push1 "), Replies{}) << "JOB is the last argument";
    EXPECT_EQ(complete("--config " + (dir_ / "missing.yml").string() + " signal wakeup "), Replies{})
        << "an invalid configuration completes nothing (and prints nothing)";
}

TEST_F(TroubleshootingCli, CompletionListsDatasetsFromTheZfsOnTheLine) {
    EXPECT_EQ(complete("test placeholder --zfs " ZFS_SIM_BIN " --dataset p/s"),
              (Replies{"p/sink", "p/sink/client", "p/sink/client/fs", "p/sink/old"}));
    EXPECT_EQ(complete("test filesystems --job push1 --zfs " ZFS_SIM_BIN " --input p/h"),
              (Replies{"p/home", "p/home/tmp"}));
}

// The command tree: subcommands, value options and flags per command path, as zferry's --help
// prints them (CLI11), so the completion script cannot drift from the binary.
struct HelpTree {
    std::set<std::string> subcommands, values, flags;
};

HelpTree parse_help(const std::string& help) {
    HelpTree t;
    enum { none, options, subcommands } section = none;
    static const std::regex option(R"(^  (?:-[a-zA-Z],)?(--[a-z0-9-]+)(?: ([A-Za-z]+)(:|=| |$))?)");
    static const std::regex subcommand(R"(^  ([a-z][a-z0-9-]*)(?: |$))");
    for (const auto& l : lines(help)) {
        if (l == "Options:")
            section = options;
        else if (l == "Subcommands:")
            section = subcommands;
        else if (l == "Positionals:")
            section = none;
        std::smatch m;
        if (section == options && std::regex_search(l, m, option)) {
            if (m[1] == "--help") continue;
            const std::string word = m[2];
            const bool value = !word.empty() && std::all_of(word.begin(), word.end(), ::isupper);
            (value ? t.values : t.flags).insert(m[1]);
        } else if (section == subcommands && std::regex_search(l, m, subcommand)) {
            t.subcommands.insert(m[1]);
        }
    }
    return t;
}

TEST_F(TroubleshootingCli, CompletionKnowsEveryCommandAndOptionOfTheBinary) {
    auto words = [](const std::string& s) {
        std::set<std::string> out;
        std::istringstream in(s);
        for (std::string w; in >> w;) out.insert(w);
        return out;
    };
    std::vector<std::string> paths = {""};
    int checked = 0;
    while (!paths.empty()) {
        const std::string path = paths.back();
        paths.pop_back();
        auto help = zferry(path + " --help");
        ASSERT_EQ(help.rc, 0) << path;
        const auto tree = parse_help(help.out);
        auto script = exec("source " ZFERRY_SOURCE_DIR
                           "/dist/zferry.bash-completion\n"
                           "echo \"$(_zferry_subcommands '" +
                           path +
                           "')\"\n"
                           "echo \"$(_zferry_value_options '" +
                           path +
                           "')\"\n"
                           "echo \"$(_zferry_flag_options '" +
                           path + "')\"\n");
        ASSERT_EQ(script.rc, 0) << script.err;
        const auto got = lines(script.out);
        ASSERT_EQ(got.size(), 3u) << script.out;
        EXPECT_EQ(words(got[0]), tree.subcommands) << "subcommands of '" << path << "'";
        EXPECT_EQ(words(got[1]), tree.values) << "options with a value of '" << path << "'";
        EXPECT_EQ(words(got[2]), tree.flags) << "flags of '" << path << "'";
        for (const auto& s : tree.subcommands) paths.push_back(path.empty() ? s : path + " " + s);
        ++checked;
    }
    EXPECT_EQ(checked, 19) << "zferry, its 11 subcommands, 3 of test, 3 of zfs-abstraction, 1 of holds";
}

// The zsh completion's command tree against every command's --help, as for bash above.
TEST_F(TroubleshootingCli, ZshCompletionKnowsEveryCommandAndOptionOfTheBinary) {
    auto words = [](const std::string& s) {
        std::set<std::string> out;
        std::istringstream in(s);
        for (std::string w; in >> w;) out.insert(w);
        return out;
    };
    std::vector<std::string> paths = {""};
    int checked = 0;
    while (!paths.empty()) {
        const std::string path = paths.back();
        paths.pop_back();
        auto help = zferry(path + " --help");
        ASSERT_EQ(help.rc, 0) << path;
        const auto tree = parse_help(help.out);
        // Sourced (not autoloaded), the file defines its functions and registers with compdef.
        std::ofstream(dir_ / "tree.zsh") << "autoload -Uz compinit && compinit -u -d ${0:h}/zcompdump\n"
                                            "source " ZFERRY_SOURCE_DIR
                                            "/dist/_zferry\n"
                                            "print -r -- \"$(_zferry_subcommands \"$1\")\"\n"
                                            "print -r -- \"$(_zferry_value_options \"$1\")\"\n"
                                            "print -r -- \"$(_zferry_flag_options \"$1\")\"\n";
        auto script = exec("zsh -f " + (dir_ / "tree.zsh").string() + " '" + path + "'");
        ASSERT_EQ(script.rc, 0) << script.err;
        const auto got = lines(script.out);
        ASSERT_EQ(got.size(), 3u) << script.out;
        EXPECT_EQ(words(got[0]), tree.subcommands) << "subcommands of '" << path << "'";
        EXPECT_EQ(words(got[1]), tree.values) << "options with a value of '" << path << "'";
        EXPECT_EQ(words(got[2]), tree.flags) << "flags of '" << path << "'";
        for (const auto& s : tree.subcommands) paths.push_back(path.empty() ? s : path + " " + s);
        ++checked;
    }
    EXPECT_EQ(checked, 19) << "zferry, its 11 subcommands, 3 of test, 3 of zfs-abstraction, 1 of holds";
}

TEST_F(TroubleshootingCli, CmakeInstallPutsTheCompletionWhereBashCompletionLoadsIt) {
    const auto prefix = dir_ / "prefix";
    auto r = exec("cmake --install " ZFERRY_BUILD_DIR " --prefix " + prefix.string() + " >/dev/null");
    ASSERT_EQ(r.rc, 0) << r.err;
    const auto installed = prefix / "share/bash-completion/completions/zferry";
    ASSERT_TRUE(fs::exists(installed));
    auto same = exec("cmp " + installed.string() + " " ZFERRY_SOURCE_DIR "/dist/zferry.bash-completion");
    EXPECT_EQ(same.rc, 0) << same.out;
    auto registered = exec("source " + installed.string() + " && complete -p zferry");
    EXPECT_EQ(registered.out, "complete -F _zferry zferry\n");

    // zsh: in vendor-completions, which Debian's zsh has in $fpath, where compinit finds it.
    const auto zsh_installed = prefix / "share/zsh/vendor-completions/_zferry";
    ASSERT_TRUE(fs::exists(zsh_installed));
    EXPECT_EQ(exec("cmp " + zsh_installed.string() + " " ZFERRY_SOURCE_DIR "/dist/_zferry").rc, 0);
    std::ofstream(dir_ / "found.zsh")
        << "fpath=(" << zsh_installed.parent_path().string()
        << " $fpath)\nautoload -Uz compinit && compinit -u -d ${0:h}/zcompdump\n"
           "print -r -- $_comps[zferry]\n";
    EXPECT_EQ(exec("zsh -f " + (dir_ / "found.zsh").string()).out, "_zferry\n");
}

}  // namespace
