// `zferry configcheck` run as a process on zrepl's sample configurations and on broken ones,
// checking what a user or a script sees: output, stderr and the exit status.
#include "tests/vectors.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Run {
    int rc = -1;
    std::string out, err;
};

// Paths come from the vectors directory and a temporary directory of ours: no spaces or quotes.
Run run(const std::string& args) {
    Run r;
    const fs::path err_file =
        fs::temp_directory_path() / ("zferry_configcheck_err_" + std::to_string(::getpid()));
    const std::string cmd = std::string(ZFERRY_BINARY) + " " + args + " 2>" + err_file.string();
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = zferry::test::read_file(err_file.string());
    fs::remove(err_file);
    return r;
}

std::string sample(const std::string& file) {
    return zferry::test::vectors_dir() + "/config_samples/" + file;
}

std::string field(const boost::json::object& o, const char* section) {
    auto it = o.find(section);
    if (it == o.end()) return "";
    return std::string(it->value().as_object().at("type").as_string());
}

std::string optional_field(const boost::json::object& o, const char* key) {
    auto it = o.find(key);
    return it == o.end() ? std::string() : std::string(it->value().as_string());
}

// Every sample: the valid ones print the index's jobs, the invalid ones fail with a message.
TEST(ConfigcheckCli, JobsAsJsonMatchTheSampleIndex) {
    const auto cases = zferry::test::load_cases("config_samples/index.json");
    ASSERT_FALSE(cases.empty());
    for (const auto& cv : cases) {
        const auto& c = cv.as_object();
        const auto file = std::string(c.at("file").as_string());
        SCOPED_TRACE(file);
        auto r = run("configcheck --skip-cert-check --what jobs --format json --config " + sample(file));
        if (!c.at("valid").as_bool()) {
            EXPECT_EQ(r.rc, 1);
            EXPECT_TRUE(r.out.empty()) << r.out;
            EXPECT_NE(r.err.find(sample(file) + ":"), std::string::npos) << r.err;
            continue;
        }
        ASSERT_EQ(r.rc, 0) << r.err;
        EXPECT_TRUE(r.err.empty()) << r.err;
        const auto jobs = boost::json::parse(r.out).as_array();
        const auto& want = c.at("jobs_after_include_expansion").as_array();
        ASSERT_EQ(jobs.size(), want.size()) << r.out;
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            const auto& j = jobs[i].as_object();
            const auto& w = want[i].as_object();
            EXPECT_EQ(j.at("name").as_string(), w.at("name").as_string());
            EXPECT_EQ(j.at("type").as_string(), w.at("type").as_string());
            EXPECT_EQ(field(j, "connect"), optional_field(w, "connect_type"));
            EXPECT_EQ(field(j, "serve"), optional_field(w, "serve_type"));
            EXPECT_EQ(field(j, "snapshotting"), optional_field(w, "snapshotting_type"));
        }
    }
}

class TempDir {
public:
    TempDir() : path_(fs::temp_directory_path() / ("zferry_configcheck_" + std::to_string(::getpid()))) {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path_ / name) << text;
        return (path_ / name).string();
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

TEST(ConfigcheckCli, InvalidConfigExitsNonZeroWithFileLineJobAndKey) {
    TempDir dir;
    const auto path = dir.write("zrepl.yml",
                                "jobs:\n"
                                "- name: snapjob\n"
                                "  type: snap\n"
                                "  filesystems: {\"tank<\": true}\n"
                                "  snapshotting: {type: periodic, prefix: zrepl_, interval: 10 minutes}\n"
                                "  pruning: {keep: [{type: last_n, count: 1}]}\n");
    auto r = run("configcheck --config " + path);
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(path + ":5:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("job \"snapjob\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("key \"snapshotting.interval\""), std::string::npos) << r.err;
}

TEST(ConfigcheckCli, CertificatesAreCheckedUnlessSkipped) {
    TempDir dir;
    const std::string job =
        "jobs:\n- name: s\n  type: sink\n  root_fs: pool/sink\n"
        "  serve: {type: tls, listen: ':8888', ca: CA, cert: CERT, key: KEY, client_cns: [prod]}\n";
    auto with = [&](const std::string& ca) {
        std::string text = job;
        text.replace(text.find("CA"), 2, ca);
        text.replace(text.find("CERT"), 4, dir.write("cert.pem", "x"));
        text.replace(text.find("KEY"), 3, dir.write("key.pem", "x"));
        return dir.write("zrepl.yml", text);
    };
    const auto missing = with((dir.path() / "missing.pem").string());
    auto r = run("configcheck --what jobs --config " + missing);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("key \"serve.ca\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("missing.pem"), std::string::npos) << r.err;
    r = run("configcheck --what jobs --skip-cert-check --config " + missing);
    EXPECT_EQ(r.rc, 0) << r.err;

    const auto present = with(dir.write("ca.pem", "x"));
    r = run("configcheck --what jobs --config " + present);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("serve=tls"), std::string::npos) << r.out;
}

TEST(ConfigcheckCli, FormatsAndSections) {
    const auto path = sample("local.yml");
    auto yaml = run("configcheck --what jobs --format yaml --config " + path);
    ASSERT_EQ(yaml.rc, 0) << yaml.err;
    EXPECT_NE(yaml.out.find("name: local_sink"), std::string::npos) << yaml.out;
    EXPECT_NE(yaml.out.find("listener_name: localsink"), std::string::npos) << yaml.out;

    auto logging = run("configcheck --what logging --format json --config " + path);
    ASSERT_EQ(logging.rc, 0) << logging.err;
    const auto outlets = boost::json::parse(logging.out).as_array();
    ASSERT_EQ(outlets.size(), 1u);
    EXPECT_EQ(outlets[0].at("type").as_string(), "stdout");
    EXPECT_EQ(outlets[0].at("level").as_string(), "warn");

    auto config = run("configcheck --what config --format json --config " + path);
    ASSERT_EQ(config.rc, 0) << config.err;
    const auto c = boost::json::parse(config.out).as_object();
    EXPECT_EQ(c.at("global").at("control").at("sockpath").as_string(), "/var/run/zrepl/control");
    EXPECT_EQ(c.at("jobs").as_array().size(), 2u);
    const auto& push = c.at("jobs").as_array()[1].as_object();
    EXPECT_EQ(push.at("replication").at("coalesce").as_bool(), true);

    auto all = run("configcheck --config " + path);
    ASSERT_EQ(all.rc, 0) << all.err;
    EXPECT_NE(all.out.find("is valid"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("backup_system"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("connect=local"), std::string::npos) << all.out;

    auto bad = run("configcheck --format xml --config " + path);
    EXPECT_NE(bad.rc, 0);
}

TEST(ConfigcheckCli, ConfigBeforeTheSubcommandAsZrepl) {
    auto r = run("--config " + sample("snap.yml") + " configcheck --what jobs --format json");
    ASSERT_EQ(r.rc, 0) << r.err;
    const auto jobs = boost::json::parse(r.out).as_array();
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].at("name").as_string(), "snapjob");
}

TEST(ConfigcheckCli, MissingFileIsAnError) {
    auto r = run("configcheck --config /nonexistent/zrepl.yml");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("/nonexistent/zrepl.yml"), std::string::npos) << r.err;
}

}  // namespace
