// The configuration loader: zrepl's sample configs (vectors/config_samples), the tcp client
// map (vectors/tcp_ipmap.json), and the errors a user sees for a wrong configuration.
#include "daemon/config/config_json.hpp"
#include "daemon/config/config_loader.hpp"
#include "daemon/config/tcp_client_map.hpp"
#include "tests/unit/replication_vectors.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

// The structs and the loader's interface must not drag yaml-cpp into their users.
#ifdef YAML_H_62B23520_7C8E_11DE_8A39_0800200C9A66
#error "daemon/config headers include yaml-cpp"
#endif

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace {

using namespace zferry::config;
using zferry::test::case_name;
using zferry::test::str;
using zferry::test::VectorCase;

// ---- config_samples ----------------------------------------------------------------------

std::vector<VectorCase> sample_cases() {
    std::vector<VectorCase> out;
    for (const auto& c : zferry::test::load_cases("config_samples/index.json"))
        out.push_back({str(c.at("id")), c.as_object()});
    if (out.empty()) throw std::runtime_error("config_samples/index.json has no cases");
    return out;
}

class ConfigSample : public ::testing::TestWithParam<VectorCase> {};

std::string optional_field(const boost::json::object& o, const char* key) {
    auto it = o.find(key);
    return it == o.end() ? std::string() : str(it->value());
}

TEST_P(ConfigSample, LoadsAsIndexed) {
    const auto& c = GetParam().json;
    const auto path = zferry::test::vectors_dir() + "/config_samples/" + str(c.at("file"));
    auto loaded = load_config(path);
    if (!c.at("valid").as_bool()) {
        ASSERT_FALSE(loaded) << "loaded although invalid: " << path;
        EXPECT_EQ(to_string(loaded.error().kind), str(c.at("error_kind"))) << loaded.error().message();
        // The message points at the file and the offending job.
        EXPECT_NE(loaded.error().message().find(path + ":"), std::string::npos) << loaded.error().message();
        EXPECT_FALSE(loaded.error().job.empty());
        return;
    }
    ASSERT_TRUE(loaded) << loaded.error().message();
    const auto& want = c.at("jobs_after_include_expansion").as_array();
    ASSERT_EQ(loaded->jobs.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto& w = want[i].as_object();
        const auto& j = loaded->jobs[i];
        SCOPED_TRACE("job " + std::to_string(i) + " " + j.name);
        EXPECT_EQ(j.name, str(w.at("name")));
        EXPECT_EQ(j.type(), str(w.at("type")));
        EXPECT_EQ(j.connect() ? std::string(connect_type(*j.connect())) : "",
                  optional_field(w, "connect_type"));
        EXPECT_EQ(j.serve() ? std::string(serve_type(*j.serve())) : "", optional_field(w, "serve_type"));
        EXPECT_EQ(j.snapshotting() ? std::string(snapshotting_type(*j.snapshotting())) : "",
                  optional_field(w, "snapshotting_type"));
    }
    if (auto it = c.find("support_files"); it != c.end()) {
        EXPECT_EQ(loaded->included_files.size(), it->value().as_array().size());
    }
}

INSTANTIATE_TEST_SUITE_P(Vectors, ConfigSample, ::testing::ValuesIn(sample_cases()),
                         [](const auto& info) { return case_name(info.param); });

// ---- what the samples carry beyond the job list -------------------------------------------

const Config& sample(const std::string& file) {
    static std::map<std::string, Config> cache;
    auto it = cache.find(file);
    if (it == cache.end()) {
        auto c = load_config(zferry::test::vectors_dir() + "/config_samples/" + file);
        if (!c) throw std::runtime_error(c.error().message());
        it = cache.emplace(file, std::move(*c)).first;
    }
    return it->second;
}

TEST(ConfigSampleValues, BandwidthLimitsInBytes) {
    const auto& c = sample("bandwidth_limit.yml");
    const auto& sink = std::get<SinkJob>(c.find_job("limited_sink")->spec);
    EXPECT_EQ(sink.recv.bandwidth_limit.max_bytes_per_second, 12345.0);
    const auto& push = std::get<PushJob>(c.find_job("limited_push")->spec);
    EXPECT_EQ(push.send.bandwidth_limit.max_bytes_per_second, 54321.0);
    EXPECT_EQ(push.send.bandwidth_limit.bucket_capacity_bytes, 1024.0);
    const auto& nolimit = std::get<SinkJob>(c.find_job("nolimit_sink")->spec);
    EXPECT_FALSE(nolimit.recv.bandwidth_limit.max_bytes_per_second.has_value());
    EXPECT_EQ(nolimit.recv.bandwidth_limit.bucket_capacity_bytes, 128.0 * 1024);
}

TEST(ConfigSampleValues, PushProtectionPruningAndDefaults) {
    const auto& c = sample("quickstart_backup_to_external_disk.yml");
    const auto& push = std::get<PushJob>(c.find_job("push_to_drive")->spec);
    EXPECT_EQ(push.replication.protection_initial, zferry::replication::GuaranteeKind::resumability);
    EXPECT_EQ(push.replication.protection_incremental, zferry::replication::GuaranteeKind::incremental);
    EXPECT_TRUE(push.replication.coalesce);
    EXPECT_EQ(push.replication.concurrency_steps, 1);
    EXPECT_EQ(push.replication.concurrency_size_estimates, 4);
    EXPECT_TRUE(push.send.encrypted);
    EXPECT_EQ(push.keep_sender.size(), 1u);
    EXPECT_EQ(push.keep_receiver.size(), 2u);
    EXPECT_EQ(std::get<LocalConnect>(push.connect).client_identity, "myhostname");
    EXPECT_TRUE(push.filesystems.passes(std::string_view("system/home")).value());
    EXPECT_FALSE(push.filesystems.passes(std::string_view("other")).value());
    // No global section: zrepl's defaults.
    ASSERT_EQ(c.global.logging.size(), 1u);
    EXPECT_EQ(c.global.logging[0].type(), "stdout");
    EXPECT_EQ(c.global.logging[0].level, LogLevel::warn);
    EXPECT_EQ(c.global.control_sockpath, "/var/run/zrepl/control");
    EXPECT_EQ(c.global.stdinserver_sockdir, "/var/run/zrepl/stdinserver");
}

TEST(ConfigSampleValues, PullIntervalAndTls) {
    const auto& c = sample("pull.yml");
    const auto& pull = std::get<PullJob>(c.jobs.at(0).spec);
    EXPECT_FALSE(pull.interval_manual);
    EXPECT_EQ(pull.interval, std::chrono::minutes(10));
    EXPECT_EQ(pull.root_fs, "pool2/backup_servers");
    const auto& tls = std::get<TlsConnect>(pull.connect);
    EXPECT_EQ(tls.server_cn, "server1");
    EXPECT_EQ(tls.dial_timeout, std::chrono::seconds(10));
    EXPECT_EQ(pull.keep_sender.size(), 3u);
}

TEST(ConfigSampleValues, CronAndStdinserver) {
    const auto& cron = std::get<CronSnapshotting>(*sample("snap_cron.yml").jobs.at(0).snapshotting());
    EXPECT_EQ(cron.cron, "*/5 * * * *");
    EXPECT_EQ(cron.prefix, "zrepl_snapjob_");
    EXPECT_EQ(cron.timestamp_format, "dense");
    const auto& src = std::get<SourceJob>(sample("source_ssh.yml").jobs.at(0).spec);
    EXPECT_EQ(std::get<StdinserverServe>(src.serve).client_identities,
              (std::vector<std::string>{"client1", "client2"}));
}

// ---- tcp client map (vectors/tcp_ipmap.json) ------------------------------------------------

class TcpIpmap : public ::testing::TestWithParam<VectorCase> {};

TEST_P(TcpIpmap, MapsOrRejects) {
    const auto& c = GetParam().json;
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& [k, v] : c.at("client_map").as_object()) entries.emplace_back(std::string(k), str(v));
    auto m = TcpClientMap::make(entries);
    if (c.at("expect_config_error").as_bool()) {
        EXPECT_FALSE(m) << "accepted an invalid map";
        return;
    }
    ASSERT_TRUE(m) << m.error().message();
    auto id = m->identity(str(c.at("remote_ip")), str(c.at("remote_zone")));
    if (c.contains("expect_no_mapping")) {
        EXPECT_FALSE(id.has_value()) << "mapped to " << *id;
    } else {
        ASSERT_TRUE(id.has_value());
        EXPECT_EQ(*id, str(c.at("expect_identity")));
    }
}

INSTANTIATE_TEST_SUITE_P(Vectors, TcpIpmap, ::testing::ValuesIn(zferry::test::vector_cases("tcp_ipmap.json")),
                         [](const auto& info) { return case_name(info.param); });

// ---- errors: kind, file:line:col, job, key, what ---------------------------------------------

// In-memory includes: entry -> text.
LoadEnvironment memory_env(std::map<std::string, std::string> files) {
    auto env = LoadEnvironment::file_system();
    env.resolve_include = [files](
                              const std::string&, const std::string& entry,
                              const Mark& mark) -> ConfigResult<std::vector<LoadEnvironment::IncludedFile>> {
        auto it = files.find(entry);
        if (it == files.end())
            return ConfigError{ConfigErrc::invalid_include, mark, "", "include", "no such file"};
        return std::vector<LoadEnvironment::IncludedFile>{{it->first, it->second}};
    };
    return env;
}

ConfigResult<Config> parse(const std::string& yaml, std::map<std::string, std::string> includes = {}) {
    return parse_config(yaml, "zrepl.yml", memory_env(std::move(includes)));
}

const std::string kSnapJob =
    "jobs:\n"
    "- name: snapjob\n"
    "  type: snap\n"
    "  filesystems: {\"tank<\": true}\n"
    "  snapshotting:\n"
    "    type: periodic\n"
    "    prefix: zrepl_\n"
    "    interval: 10m\n"
    "  pruning:\n"
    "    keep:\n"
    "    - type: last_n\n"
    "      count: 10\n";

struct ErrorCase {
    const char* name;
    std::string yaml;
    ConfigErrc kind;
    int line, column;
    const char* job;
    const char* key;
    const char* what;  // a substring of the explanation
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.name; }

std::string replace(std::string s, const std::string& from, const std::string& to) {
    auto pos = s.find(from);
    if (pos == std::string::npos) throw std::runtime_error("no " + from + " in test config");
    return s.replace(pos, from.size(), to);
}

const ErrorCase kErrorCases[] = {
    {"unknown_key_in_job", replace(kSnapJob, "  type: snap\n", "  type: snap\n  colour: red\n"),
     ConfigErrc::unknown_key, 4, 3, "snapjob", "colour", "unknown key"},
    {"unknown_top_level_key", "jobs: []\nglobals: {}\n", ConfigErrc::unknown_key, 2, 1, "", "globals",
     "expected one of: global, jobs, include"},
    {"wrong_type_interval", replace(kSnapJob, "interval: 10m", "interval: [10m]"), ConfigErrc::wrong_type, 8,
     15, "snapjob", "snapshotting.interval", "expected text, got a list"},
    {"invalid_duration", replace(kSnapJob, "interval: 10m", "interval: 10x"), ConfigErrc::invalid_value, 8,
     15, "snapjob", "snapshotting.interval", "invalid duration"},
    {"missing_prefix", replace(kSnapJob, "    prefix: zrepl_\n", ""), ConfigErrc::missing_key, 6, 5,
     "snapjob", "snapshotting.prefix", "required key is missing"},
    {"prefix_without_value", replace(kSnapJob, "prefix: zrepl_", "prefix:"), ConfigErrc::missing_key, 7, 5,
     "snapjob", "snapshotting.prefix", "required key has no value"},
    {"bad_snapshotting_type", replace(kSnapJob, "type: periodic", "type: hourly"), ConfigErrc::invalid_value,
     6, 11, "snapjob", "snapshotting.type", "expected one of: periodic, cron, manual"},
    {"last_n_count_not_integer", replace(kSnapJob, "count: 10", "count: ten"), ConfigErrc::wrong_type, 12, 14,
     "snapjob", "pruning.keep[0].count", "expected an integer"},
    {"last_n_count_zero", replace(kSnapJob, "count: 10", "count: 0"), ConfigErrc::invalid_value, 11, 7,
     "snapjob", "pruning.keep[0]", "count must be positive"},
    {"not_replicated_on_snap",
     replace(kSnapJob, "    - type: last_n\n      count: 10\n", "    - type: not_replicated\n"),
     ConfigErrc::invalid_value, 11, 5, "snapjob", "pruning.keep", "not_replicated is not allowed"},
    {"bad_filter_pattern", replace(kSnapJob, "\"tank<\": true", "\"ta<nk\": true"), ConfigErrc::invalid_value,
     4, 17, "snapjob", "filesystems.ta<nk", "<"},
    {"filter_value_not_bool", replace(kSnapJob, "\"tank<\": true", "\"tank<\": maybe"),
     ConfigErrc::wrong_type, 4, 26, "snapjob", "filesystems.tank<", "expected a boolean"},
    {"bad_cron",
     replace(kSnapJob, "    type: periodic\n    prefix: zrepl_\n    interval: 10m\n",
             "    type: cron\n    prefix: zrepl_\n    cron: \"61 * * * *\"\n"),
     ConfigErrc::invalid_value, 8, 11, "snapjob", "snapshotting.cron", "cron"},
    {"bad_timestamp_location",
     replace(kSnapJob, "interval: 10m\n", "interval: 10m\n    timestamp_location: Mars/Olympus\n"),
     ConfigErrc::invalid_value, 9, 25, "snapjob", "snapshotting.timestamp_location", "Mars/Olympus"},
    {"bad_prefix", replace(kSnapJob, "prefix: zrepl_", "prefix: \"bad@prefix\""), ConfigErrc::invalid_value,
     7, 13, "snapjob", "snapshotting.prefix", "prefix"},
    {"internal_job_name", replace(kSnapJob, "name: snapjob", "name: _snapjob"), ConfigErrc::internal_job_name,
     2, 9, "_snapjob", "name", "reserved for internal jobs"},
    {"invalid_job_name", replace(kSnapJob, "name: snapjob", "name: \"snap/job\""),
     ConfigErrc::invalid_job_name, 2, 9, "snap/job", "name", ""},
    {"duplicate_key", replace(kSnapJob, "  type: snap\n", "  type: snap\n  type: push\n"),
     ConfigErrc::duplicate_key, 4, 3, "snapjob", "type", "given twice (first at line 3)"},
    {"job_without_name", replace(kSnapJob, "- name: snapjob\n  type: snap\n", "- type: snap\n"),
     ConfigErrc::missing_key, 2, 3, "jobs[0]", "name", "required key is missing"},
    {"bad_job_type", replace(kSnapJob, "type: snap", "type: bookmark"), ConfigErrc::invalid_value, 3, 9,
     "snapjob", "type", "expected one of: push, sink, pull, source, snap"},
    {"syntax_error", "jobs:\n  - name: [unterminated\n", ConfigErrc::syntax, 3, 1, "", "", "not valid YAML"},
    {"logging_level", "global:\n  logging:\n  - type: stdout\n    level: loud\n    format: human\n",
     ConfigErrc::invalid_value, 4, 12, "", "global.logging[0].level",
     "\"loud\" is not one of: debug, info, warn, error"},
    {"logging_missing_format", "global:\n  logging:\n  - type: syslog\n    level: info\n",
     ConfigErrc::missing_key, 3, 5, "", "global.logging[0].format", "human, logfmt or json"},
    {"monitoring_type", "global:\n  monitoring:\n  - type: statsd\n    listen: ':1'\n",
     ConfigErrc::invalid_value, 3, 11, "", "global.monitoring[0].type", "prometheus"},
    {"sink_root_fs_pool_root",
     "jobs:\n- name: s\n  type: sink\n  root_fs: \"\"\n  serve: {type: local, listener_name: x}\n",
     ConfigErrc::invalid_value, 4, 12, "s", "root_fs", "below the pool root"},
    {"overlapping_root_fs",
     "jobs:\n- name: a\n  type: sink\n  root_fs: pool/backup\n  serve: {type: local, listener_name: x}\n"
     "- name: b\n  type: sink\n  root_fs: pool/backup/inner\n  serve: {type: local, listener_name: y}\n",
     ConfigErrc::overlapping_root_fs, 6, 3, "b", "root_fs", "\"a\" (root_fs pool/backup) and \"b\""},
    {"tcp_clients_wildcard_on_ip",
     "jobs:\n- name: s\n  type: sink\n  root_fs: pool/b\n  serve:\n    type: tcp\n    listen: ':8888'\n"
     "    clients: {\"192.168.1.2\": \"db-*\"}\n",
     ConfigErrc::invalid_value, 8, 30, "s", "serve.clients.192.168.1.2", "must not contain '*'"},
    {"ssh_port_range",
     "jobs:\n- name: p\n  type: pull\n  root_fs: pool/b\n  interval: manual\n  connect:\n    type: "
     "ssh+stdinserver\n"
     "    host: h\n    user: root\n    port: 70000\n    identity_file: /k\n"
     "  pruning: {keep_sender: [], keep_receiver: []}\n",
     ConfigErrc::invalid_value, 10, 11, "p", "connect.port", "1 to 65535"},
    {"pull_interval",
     "jobs:\n- name: p\n  type: pull\n  root_fs: pool/b\n  interval: sometimes\n"
     "  connect: {type: tcp, address: 'h:1'}\n  pruning: {keep_sender: [], keep_receiver: []}\n",
     ConfigErrc::invalid_value, 5, 13, "p", "interval", "sometimes"},
    {"local_identity_invalid",
     "jobs:\n- name: p\n  type: push\n  connect: {type: local, listener_name: l, client_identity: \"a/b\"}\n"
     "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n  pruning: {keep_sender: [], "
     "keep_receiver: []}\n",
     ConfigErrc::invalid_value, 4, 61, "p", "connect.client_identity", "not a valid client identity"},
    {"coalesce_not_bool",
     "jobs:\n- name: p\n  type: push\n  connect: {type: tcp, address: 'h:1'}\n"
     "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n  replication: {coalesce: often}\n"
     "  pruning: {keep_sender: [], keep_receiver: []}\n",
     ConfigErrc::wrong_type, 7, 27, "p", "replication.coalesce", "expected a boolean"},
    {"concurrency_zero",
     "jobs:\n- name: p\n  type: push\n  connect: {type: tcp, address: 'h:1'}\n"
     "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n  replication: {concurrency: {steps: "
     "0}}\n"
     "  pruning: {keep_sender: [], keep_receiver: []}\n",
     ConfigErrc::invalid_value, 7, 38, "p", "replication.concurrency.steps", "from 1 to 1024"},
    {"protection_value",
     "jobs:\n- name: p\n  type: push\n  connect: {type: tcp, address: 'h:1'}\n"
     "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n"
     "  replication: {protection: {initial: guarantee_everything}}\n"
     "  pruning: {keep_sender: [], keep_receiver: []}\n",
     ConfigErrc::invalid_value, 7, 39, "p", "replication.protection.initial", "guarantee_resumability"},
    {"bandwidth_zero",
     "jobs:\n- name: s\n  type: sink\n  root_fs: pool/b\n  serve: {type: local, listener_name: x}\n"
     "  recv: {bandwidth_limit: {max: 0 B}}\n",
     ConfigErrc::invalid_value, 6, 33, "s", "recv.bandwidth_limit.max", "must not be zero"},
    {"hook_path_relative",
     replace(kSnapJob, "interval: 10m\n",
             "interval: 10m\n    hooks:\n    - type: command\n      path: hook.sh\n"),
     ConfigErrc::invalid_value, 11, 13, "snapjob", "snapshotting.hooks[0].path", "not absolute"},
    {"negative_dial_timeout",
     "jobs:\n- name: p\n  type: pull\n  root_fs: pool/b\n  interval: 1h\n"
     "  connect: {type: tcp, address: 'h:1', dial_timeout: -5s}\n  pruning: {keep_sender: [], keep_receiver: "
     "[]}\n",
     ConfigErrc::invalid_value, 6, 54, "p", "connect.dial_timeout", "negative"},
    // zferry's own connect.zferry and serve.zferry keys.
    {"zferry_idle_max_too_big",
     "jobs:\n- name: p\n  type: push\n"
     "  connect: {type: tcp, address: 'h:1', zferry: {dataconn_idle_max: 5000}}\n"
     "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n  pruning: {keep_sender: [], "
     "keep_receiver: []}\n",
     ConfigErrc::invalid_value, 4, 68, "p", "connect.zferry.dataconn_idle_max", "from 0 to 1024"},
    {"zferry_idle_timeout_not_a_duration",
     "jobs:\n- name: p\n  type: push\n"
     "  connect: {type: tcp, address: 'h:1', zferry: {dataconn_idle_timeout: soon}}\n"
     "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n  pruning: {keep_sender: [], "
     "keep_receiver: []}\n",
     ConfigErrc::invalid_value, 4, 72, "p", "connect.zferry.dataconn_idle_timeout", "soon"},
    {"zferry_on_local_connect",
     "jobs:\n- name: p\n  type: push\n"
     "  connect: {type: local, listener_name: l, client_identity: a, zferry: {dataconn_idle_max: 1}}\n"
     "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n  pruning: {keep_sender: [], "
     "keep_receiver: []}\n",
     ConfigErrc::unknown_key, 4, 64, "p", "connect.zferry", "unknown key"},
    {"zferry_serve_unknown_key",
     "jobs:\n- name: s\n  type: sink\n  root_fs: pool/b\n"
     "  serve: {type: tcp, listen: ':1', clients: {'127.0.0.1': a}, zferry: {max_clients: 3}}\n",
     ConfigErrc::unknown_key, 5, 72, "s", "serve.zferry.max_clients", "control_connections_max"},
    {"zferry_next_request_timeout_zero",
     "jobs:\n- name: s\n  type: sink\n  root_fs: pool/b\n"
     "  serve: {type: stdinserver, client_identities: [a], zferry: {dataconn_next_request_timeout: 0s}}\n",
     ConfigErrc::invalid_value, 5, 94, "s", "serve.zferry.dataconn_next_request_timeout", "must be positive"},
    {"zferry_per_identity_negative",
     "jobs:\n- name: s\n  type: sink\n  root_fs: pool/b\n"
     "  serve: {type: tcp, listen: ':1', clients: {'127.0.0.1': a}, zferry: "
     "{control_connections_per_identity: "
     "-1}}\n",
     ConfigErrc::invalid_value, 5, 106, "s", "serve.zferry.control_connections_per_identity",
     "from 0 to 65536"},
    {"include_with_global", "include: [other.yml]\n", ConfigErrc::invalid_include, 1, 1, "", "global",
     "may only contain jobs"},
    {"include_missing_file", "include: [missing.yml]\n", ConfigErrc::invalid_include, 1, 11, "", "include",
     "no such file"},
};

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, NameFileLineColumnJobAndKey) {
    const auto& c = GetParam();
    auto r = parse(c.yaml, {{"other.yml", "global: {}\njobs: []\n"}});
    ASSERT_FALSE(r) << "accepted:\n" << c.yaml;
    const auto& e = r.error();
    EXPECT_EQ(to_string(e.kind), to_string(c.kind)) << e.message();
    const std::string file = std::string(c.name) == "include_with_global" ? "other.yml" : "zrepl.yml";
    EXPECT_EQ(e.mark.file, file) << e.message();
    EXPECT_EQ(e.mark.line, c.line) << e.message();
    EXPECT_EQ(e.mark.column, c.column) << e.message();
    EXPECT_EQ(e.job, c.job) << e.message();
    EXPECT_EQ(e.key, c.key) << e.message();
    EXPECT_NE(e.what.find(c.what), std::string::npos) << e.message();
    // The one-line message carries all of it.
    const auto msg = e.message();
    EXPECT_EQ(msg.rfind(file + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ", 0), 0u)
        << msg;
    if (*c.job) {
        EXPECT_NE(msg.find("job \"" + std::string(c.job) + "\""), std::string::npos) << msg;
    }
    if (*c.key) {
        EXPECT_NE(msg.find("key \"" + std::string(c.key) + "\""), std::string::npos) << msg;
    }
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigErrors, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- accepted forms -------------------------------------------------------------------------

TEST(ConfigLoader, CoalesceIsOnByDefaultAndCanBeTurnedOff) {
    const std::string job =
        "jobs:\n- name: p\n  type: push\n  connect: {type: tcp, address: 'h:1'}\n"
        "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n"
        "  pruning: {keep_sender: [], keep_receiver: []}\n";
    auto on = parse(job);
    ASSERT_TRUE(on) << on.error().message();
    EXPECT_TRUE(std::get<PushJob>(on->jobs[0].spec).replication.coalesce);
    auto off = parse(job + "  replication: {coalesce: false}\n");
    ASSERT_TRUE(off) << off.error().message();
    EXPECT_FALSE(std::get<PushJob>(off->jobs[0].spec).replication.coalesce);
}

TEST(ConfigLoader, ZferryConnectionLimitsDefaultAndParse) {
    const std::string push =
        "jobs:\n- name: p\n  type: push\n  connect: {type: tcp, address: 'h:1'}\n"
        "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n"
        "  pruning: {keep_sender: [], keep_receiver: []}\n";
    auto d = parse(push);
    ASSERT_TRUE(d) << d.error().message();
    const auto dl = zferry_limits(std::get<PushJob>(d->jobs[0].spec).connect);
    EXPECT_EQ(dl.dataconn_idle_max, 4u);
    EXPECT_EQ(dl.dataconn_idle_timeout, std::chrono::seconds(3));
    auto set = parse(replace(push, "address: 'h:1'}",
                             "address: 'h:1', zferry: {dataconn_idle_max: 0, dataconn_idle_timeout: 2s}}"));
    ASSERT_TRUE(set) << set.error().message();
    const auto sl = zferry_limits(std::get<PushJob>(set->jobs[0].spec).connect);
    EXPECT_EQ(sl.dataconn_idle_max, 0u);
    EXPECT_EQ(sl.dataconn_idle_timeout, std::chrono::seconds(2));

    const std::string sink =
        "jobs:\n- name: s\n  type: sink\n  root_fs: pool/b\n"
        "  serve:\n    type: tls\n    listen: ':1'\n    ca: /c\n    cert: /c\n    key: /k\n"
        "    client_cns: [a]\n";
    auto sd = parse(sink);
    ASSERT_TRUE(sd) << sd.error().message();
    const auto sdl = zferry_limits(std::get<SinkJob>(sd->jobs[0].spec).serve);
    EXPECT_EQ(sdl.dataconn_next_request_timeout, std::chrono::seconds(10));
    EXPECT_EQ(sdl.control_connections_per_identity, 16u);
    EXPECT_EQ(sdl.control_connections_max, 2048u);
    auto ss = parse(sink +
                    "    zferry:\n      dataconn_next_request_timeout: 1m\n"
                    "      control_connections_per_identity: 2\n      control_connections_max: 0\n");
    ASSERT_TRUE(ss) << ss.error().message();
    const auto ssl = zferry_limits(std::get<SinkJob>(ss->jobs[0].spec).serve);
    EXPECT_EQ(ssl.dataconn_next_request_timeout, std::chrono::seconds(60));
    EXPECT_EQ(ssl.control_connections_per_identity, 2u);
    EXPECT_EQ(ssl.control_connections_max, 0u);

    // configcheck --format json shows them as loaded.
    const auto pj = to_json(set->jobs[0]).as_object().at("connect").as_object().at("zferry").as_object();
    EXPECT_EQ(pj.at("dataconn_idle_max").to_number<std::int64_t>(), 0);
    EXPECT_EQ(pj.at("dataconn_idle_timeout").to_number<std::int64_t>(), 2);
    const auto sj = to_json(ss->jobs[0]).as_object().at("serve").as_object().at("zferry").as_object();
    EXPECT_EQ(sj.at("dataconn_next_request_timeout").to_number<std::int64_t>(), 60);
    EXPECT_EQ(sj.at("control_connections_per_identity").to_number<std::int64_t>(), 2);
    EXPECT_EQ(sj.at("control_connections_max").to_number<std::int64_t>(), 0);
}

TEST(ConfigLoader, TheReferenceExampleLoads) {
    // zrepl's full example (reference §6.2), every section filled in.
    const std::string yaml = R"(
global:
  logging:
    - type: stdout
      level: info
      format: human
      time: true
      color: false
    - type: syslog
      level: warn
      format: logfmt
      facility: local0
      retry_interval: 10s
    - type: tcp
      level: debug
      format: json
      address: "logs:514"
      net: tcp
      tls: {ca: /ca, cert: /cert, key: /key}
  monitoring:
    - type: prometheus
      listen: ":9811"
      listen_freebind: false
  control:
    sockpath: /var/run/zrepl/control
  serve:
    stdinserver:
      sockdir: /var/run/zrepl/stdinserver
jobs:
  - name: prod_to_backup
    type: push
    connect:
      type: tls
      address: "backup.example.com:8888"
      ca: /etc/zrepl/backup.crt
      cert: /etc/zrepl/prod.crt
      key: /etc/zrepl/prod.key
      server_cn: "backup"
      dial_timeout: 10s
    filesystems: { "tank<": true, "tank/tmp<": false, "tank/home/bob": true }
    snapshotting:
      type: periodic
      prefix: zrepl_
      interval: 10m
      timestamp_format: dense
      timestamp_location: UTC
      hooks:
        - type: command
          path: /etc/zrepl/hooks/pre.sh
          timeout: 30s
          err_is_fatal: false
          filesystems: { "tank/db<": true }
    send:
      encrypted: false
      raw: true
      send_properties: false
      backup_properties: false
      large_blocks: false
      compressed: false
      embedded_data: false
      saved: false
      bandwidth_limit: { max: "50 MiB", bucket_capacity: "128 KiB" }
    replication:
      protection: { initial: guarantee_resumability, incremental: guarantee_incremental }
      concurrency: { steps: 2, size_estimates: 4 }
    conflict_resolution:
      initial_replication: most_recent
    pruning:
      keep_sender:
        - type: not_replicated
          keep_snapshot_at_cursor: true
        - type: last_n
          count: 10
          regex: "^zrepl_"
      keep_receiver:
        - type: grid
          grid: 1x1h(keep=all) | 24x1h | 30x1d | 6x30d
          regex: "^zrepl_"
        - type: regex
          regex: "^manual_"
          negate: false
  - name: backup_sink
    type: sink
    root_fs: "storage/zrepl/sink"
    serve:
      type: tls
      listen: ":8888"
      ca: /etc/zrepl/prod.crt
      cert: /etc/zrepl/backup.crt
      key: /etc/zrepl/backup.key
      client_cns: ["prod"]
      handshake_timeout: 10s
    recv:
      properties: { inherit: ["mountpoint"], override: { "canmount": "off" } }
      placeholder: { encryption: inherit }
      bandwidth_limit: { max: "-1 B" }
  - name: app_source
    type: source
    serve:
      type: tcp
      listen: ":8889"
      clients: {"10.0.0.0/24": "net-*", "10.0.1.1": "one"}
    filesystems: { "<": true, "secret": false }
    snapshotting: { type: periodic, prefix: zrepl_, interval: 10m }
  - name: pull_app
    type: pull
    connect:
      type: ssh+stdinserver
      host: app.example.com
      user: root
      port: 22
      identity_file: /etc/zrepl/ssh/identity
      options: ["Compression=yes"]
    root_fs: "pool2/backup_app"
    interval: manual
    pruning:
      keep_sender: [ { type: not_replicated }, { type: last_n, count: 10 } ]
      keep_receiver: [ { type: grid, grid: "1x1h(keep=all) | 24x1h | 35x1d", regex: "^zrepl_" } ]
  - name: local_snaps
    type: snap
    filesystems: { "rpool<": true }
    snapshotting: { type: cron, prefix: zrepl_snap_, cron: "0 * * * *" }
    pruning:
      keep: [ { type: last_n, count: 48 } ]
)";
    auto r = parse(yaml);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->global.logging.size(), 3u);
    EXPECT_EQ(r->global.logging[2].type(), "tcp");
    EXPECT_TRUE(std::get<TcpOutlet>(r->global.logging[2].outlet).tls.has_value());
    ASSERT_EQ(r->global.monitoring.size(), 1u);
    EXPECT_EQ(r->global.monitoring[0].listen, ":9811");
    ASSERT_EQ(r->jobs.size(), 5u);
    const auto& push = std::get<PushJob>(r->jobs[0].spec);
    EXPECT_EQ(push.send.bandwidth_limit.max_bytes_per_second, 50.0 * 1024 * 1024);
    EXPECT_EQ(push.replication.concurrency_steps, 2);
    const auto& hooks = std::get<PeriodicSnapshotting>(push.snapshotting).hooks;
    ASSERT_EQ(hooks.size(), 1u);
    EXPECT_EQ(std::get<CommandHookConfig>(hooks[0].settings).path, "/etc/zrepl/hooks/pre.sh");
    const auto& sink = std::get<SinkJob>(r->jobs[1].spec);
    EXPECT_EQ(sink.recv.placeholder_encryption, PlaceholderEncryption::inherit);
    EXPECT_EQ(sink.recv.properties_inherit, std::vector<std::string>{"mountpoint"});
    ASSERT_EQ(sink.recv.properties_override.size(), 1u);
    EXPECT_EQ(sink.recv.properties_override[0].second, "off");
    const auto& source = std::get<SourceJob>(r->jobs[2].spec);
    auto map = TcpClientMap::make(std::get<TcpServe>(source.serve).clients);
    ASSERT_TRUE(map);
    EXPECT_EQ(map->identity("10.0.0.7"), "net-10.0.0.7");
    EXPECT_EQ(map->identity("10.0.1.1"), "one");
    EXPECT_TRUE(std::get<PullJob>(r->jobs[3].spec).interval_manual);
    EXPECT_EQ(std::get<SshConnect>(std::get<PullJob>(r->jobs[3].spec).connect).port, 22);
}

TEST(ConfigLoader, EmptyDocumentGivesDefaults) {
    auto r = parse("");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->jobs.empty());
    EXPECT_EQ(r->global.logging.size(), 1u);
}

TEST(ConfigLoader, IncludedJobsFollowTheMainFilesAndDuplicatesAcrossFilesFail) {
    auto r = parse(kSnapJob + "include: [a.yml]\n",
                   {{"a.yml", replace(kSnapJob, "name: snapjob", "name: second")}});
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->jobs.size(), 2u);
    EXPECT_EQ(r->jobs[0].name, "snapjob");
    EXPECT_EQ(r->jobs[1].name, "second");
    EXPECT_EQ(r->jobs[1].mark.file, "a.yml");

    auto dup = parse(kSnapJob + "include: [a.yml]\n", {{"a.yml", kSnapJob}});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().kind, ConfigErrc::duplicate_job_name);
    EXPECT_EQ(dup.error().mark.file, "a.yml");
    EXPECT_NE(dup.error().what.find("zrepl.yml:2"), std::string::npos) << dup.error().message();
}

TEST(ConfigLoader, NestedIncludeIsRejected) {
    auto r = parse("include: [a.yml]\n", {{"a.yml", "include: [b.yml]\n"}, {"b.yml", kSnapJob}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ConfigErrc::invalid_include);
    EXPECT_EQ(r.error().key, "include");
}

TEST(ConfigLoader, IncludesDirectoriesRelativeToTheMainFile) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("zferry_config_test_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "jobs.d");
    std::ofstream(dir / "zrepl.yml") << "include:\n  - jobs.d\n";
    std::ofstream(dir / "jobs.d" / "b.yml") << replace(kSnapJob, "name: snapjob", "name: b_job");
    std::ofstream(dir / "jobs.d" / "a.yml") << replace(kSnapJob, "name: snapjob", "name: a_job");
    std::ofstream(dir / "jobs.d" / "ignored.yaml") << "not: [yaml";
    auto r = load_config((dir / "zrepl.yml").string());
    fs::remove_all(dir);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->jobs.size(), 2u);
    EXPECT_EQ(r->jobs[0].name, "a_job");
    EXPECT_EQ(r->jobs[1].name, "b_job");
}

TEST(ConfigLoader, DefaultPathIsZferrysThenZrepls) {
    EXPECT_EQ(default_config_paths(),
              (std::vector<std::string>{"/etc/zferry/zferry.yml", "/etc/zrepl/zrepl.yml",
                                        "/usr/local/etc/zrepl/zrepl.yml"}));
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("zferry_config_default_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::vector<std::string> candidates{(dir / "zferry.yml").string(), (dir / "zrepl.yml").string(),
                                              (dir / "local_zrepl.yml").string()};
    EXPECT_EQ(default_config_path(candidates), candidates[1]) << "none exists: zrepl's usual place";
    std::ofstream(candidates[2]) << "jobs: []\n";
    EXPECT_EQ(default_config_path(candidates), candidates[2]);
    std::ofstream(candidates[1]) << "jobs: []\n";
    EXPECT_EQ(default_config_path(candidates), candidates[1]);
    std::ofstream(candidates[0]) << "jobs: []\n";
    EXPECT_EQ(default_config_path(candidates), candidates[0]);
    fs::remove_all(dir);
}

TEST(ConfigLoader, DatabaseHooks) {
    auto r =
        parse(replace(kSnapJob, "interval: 10m\n",
                      "interval: 10m\n    hooks:\n"
                      "    - {type: postgres-checkpoint, dsn: 'host=db', filesystems: {\"tank/pg<\": true}}\n"
                      "    - {type: mysql-lock-tables, dsn: 'root@/', timeout: 5s, err_is_fatal: true}\n"));
    ASSERT_TRUE(r) << r.error().message();
    const auto& hooks = std::get<PeriodicSnapshotting>(*r->jobs[0].snapshotting()).hooks;
    ASSERT_EQ(hooks.size(), 2u);
    EXPECT_EQ(hooks[0].type, "postgres-checkpoint");
    EXPECT_EQ(std::get<DatabaseHookConfig>(hooks[0].settings).dsn, "host=db");
    EXPECT_TRUE(hooks[0].filesystems.passes(std::string_view("tank/pg/x")).value());
    EXPECT_FALSE(hooks[0].filesystems.passes(std::string_view("tank/other")).value());
    EXPECT_EQ(hooks[1].type, "mysql-lock-tables");
    EXPECT_TRUE(hooks[1].err_is_fatal);
    EXPECT_EQ(std::get<DatabaseHookConfig>(hooks[1].settings).timeout, std::chrono::seconds(5));
    EXPECT_TRUE(hooks[1].filesystems.passes(std::string_view("tank/any")).value())
        << "default: every filesystem";

    auto no_dsn = parse(
        replace(kSnapJob, "interval: 10m\n", "interval: 10m\n    hooks: [{type: mysql-lock-tables}]\n"));
    ASSERT_FALSE(no_dsn);
    EXPECT_EQ(no_dsn.error().kind, ConfigErrc::missing_key);
    EXPECT_EQ(no_dsn.error().key, "snapshotting.hooks[0].dsn");
}

TEST(ConfigLoader, MissingFileIsAnIoError) {
    auto r = load_config("/nonexistent/zrepl.yml");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ConfigErrc::io);
    EXPECT_NE(r.error().message().find("/nonexistent/zrepl.yml"), std::string::npos);
}

TEST(ConfigLoader, RootFsPrefixesAreComparedByComponent) {
    // "pool/a" and "pool/ab" are different datasets (zrepl's string comparison rejects them).
    auto r = parse(
        "jobs:\n- name: a\n  type: sink\n  root_fs: pool/a\n  serve: {type: local, listener_name: x}\n"
        "- name: b\n  type: sink\n  root_fs: pool/ab\n  serve: {type: local, listener_name: y}\n");
    ASSERT_TRUE(r) << r.error().message();
    auto same = parse(
        "jobs:\n- name: a\n  type: sink\n  root_fs: pool/a\n  serve: {type: local, listener_name: x}\n"
        "- name: b\n  type: pull\n  root_fs: pool/a\n  interval: 1h\n  connect: {type: tcp, address: 'h:1'}\n"
        "  pruning: {keep_sender: [], keep_receiver: []}\n");
    ASSERT_FALSE(same);
    EXPECT_EQ(same.error().kind, ConfigErrc::overlapping_root_fs);
}

}  // namespace
