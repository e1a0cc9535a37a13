// zrepl's configuration (zrepl.yml: `global`, `jobs`, `include`) as plain structs. The
// loader (config_loader.hpp) fills them from YAML and checks every value with the parsers
// the rest of zferry uses, so a loaded Config is valid: the daemon builds jobs from it
// without checking again. Nothing here knows YAML.
#pragma once

#include "daemon/pruning/keep_rule.hpp"
#include "daemon/snapshotting/cron_spec.hpp"
#include "daemon/snapshotting/snapshot_naming.hpp"
#include "replication/logic/filesystem_filter.hpp"
#include "replication/logic/guarantees.hpp"
#include "replication/logic/planner.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace zferry::config {

using std::chrono::seconds;

// Where a value was written: file, 1-based line and column.
struct Mark {
    std::string file;
    int line = 0;
    int column = 0;
};

// ---- global ----------------------------------------------------------------------------

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { human, logfmt, json };
std::string_view to_string(LogLevel l) noexcept;
std::string_view to_string(LogFormat f) noexcept;

struct StdoutOutlet {
    bool time = true;
    bool color = true;
};
struct SyslogOutlet {
    std::string facility = "local0";
    seconds retry_interval{10};
};
struct TcpOutletTls {
    std::string ca, cert, key;
};
struct TcpOutlet {
    std::string address;
    std::string net = "tcp";  // tcp | tcp4 | tcp6
    seconds retry_interval{10};
    std::optional<TcpOutletTls> tls;
};
struct LoggingOutlet {
    LogLevel level = LogLevel::warn;
    LogFormat format = LogFormat::human;
    std::variant<StdoutOutlet, SyslogOutlet, TcpOutlet> outlet;
    std::string_view type() const noexcept;  // stdout | syslog | tcp
};

struct PrometheusMonitoring {
    std::string listen;
    bool listen_freebind = false;
};

struct Global {
    // zrepl's default when `global.logging` is absent: one stdout outlet, warn, human.
    std::vector<LoggingOutlet> logging{LoggingOutlet{}};
    std::vector<PrometheusMonitoring> monitoring;
    std::string control_sockpath = "/var/run/zrepl/control";
    std::string stdinserver_sockdir = "/var/run/zrepl/stdinserver";
};

// ---- transports ------------------------------------------------------------------------

// zferry's own `connect.zferry` keys (tcp, tls, ssh+stdinserver): data connections kept for
// more requests between zferry peers (a zrepl server gets one request per connection).
struct ZferryConnectLimits {
    std::size_t dataconn_idle_max = 4;  // idle connections kept; 0: one request per connection
    seconds dataconn_idle_timeout{3};   // how long one idles before it is closed
};
// zferry's own `serve.zferry` keys (tcp, tls, stdinserver): what the endpoint server allows.
struct ZferryServeLimits {
    seconds dataconn_next_request_timeout{10};          // for the next request on a kept data connection
    std::size_t control_connections_per_identity = 16;  // 0: no limit
    std::size_t control_connections_max = 2048;         // 0: no limit
};

struct TcpConnect {
    std::string address;
    seconds dial_timeout{10};
    ZferryConnectLimits zferry;
};
struct TlsConnect {
    std::string address, ca, cert, key, server_cn;
    seconds dial_timeout{10};
    ZferryConnectLimits zferry;
};
struct SshConnect {
    std::string host, user;
    std::uint16_t port = 0;
    std::string identity_file;
    std::vector<std::string> transport_open_command;
    std::string ssh_command = "ssh";
    std::vector<std::string> options;
    seconds dial_timeout{10};
    ZferryConnectLimits zferry;
};
struct LocalConnect {
    std::string listener_name, client_identity;
    seconds dial_timeout{10};
};
using Connect = std::variant<TcpConnect, TlsConnect, SshConnect, LocalConnect>;
std::string_view connect_type(const Connect& c) noexcept;  // tcp | tls | ssh+stdinserver | local
// The connect section's zferry limits; defaults for local.
ZferryConnectLimits zferry_limits(const Connect& c) noexcept;

struct TcpServe {
    std::string listen;
    bool listen_freebind = false;
    std::vector<std::pair<std::string, std::string>> clients;  // IP or CIDR -> identity (checked)
    ZferryServeLimits zferry;
};
struct TlsServe {
    std::string listen;
    bool listen_freebind = false;
    std::string ca, cert, key;
    std::vector<std::string> client_cns;
    seconds handshake_timeout{10};
    ZferryServeLimits zferry;
};
struct StdinserverServe {
    std::vector<std::string> client_identities;
    ZferryServeLimits zferry;
};
struct LocalServe {
    std::string listener_name;
};
using Serve = std::variant<TcpServe, TlsServe, StdinserverServe, LocalServe>;
std::string_view serve_type(const Serve& s) noexcept;  // tcp | tls | stdinserver | local
// The serve section's zferry limits; defaults for local.
ZferryServeLimits zferry_limits(const Serve& s) noexcept;

// ---- job sections ----------------------------------------------------------------------

// `bandwidth_limit`: max bytes per second (nullopt: unlimited, zrepl's "-1 B") and the
// token bucket's capacity in bytes.
struct BandwidthLimit {
    std::optional<double> max_bytes_per_second;
    double bucket_capacity_bytes = 128 * 1024;
};

struct SendOptions {
    bool encrypted = false, raw = false, send_properties = false, backup_properties = false,
         large_blocks = false, compressed = false, embedded_data = false, saved = false;
    BandwidthLimit bandwidth_limit;
};

enum class PlaceholderEncryption { unspecified, inherit, off };
std::string_view to_string(PlaceholderEncryption e) noexcept;

struct RecvOptions {
    std::vector<std::string> properties_inherit;
    std::vector<std::pair<std::string, std::string>> properties_override;
    PlaceholderEncryption placeholder_encryption = PlaceholderEncryption::unspecified;
    BandwidthLimit bandwidth_limit;
};

struct ReplicationOptions {
    replication::GuaranteeKind protection_initial = replication::GuaranteeKind::resumability;
    replication::GuaranteeKind protection_incremental = replication::GuaranteeKind::resumability;
    int concurrency_steps = 1;
    int concurrency_size_estimates = 4;
    // zferry's own: consecutive pending snapshots become one `zfs send -I` step.
    bool coalesce = true;
};

struct CommandHookConfig {
    std::string path;
    seconds timeout{30};
};
struct DatabaseHookConfig {
    std::string dsn;
    seconds timeout{30};
};
struct HookConfig {
    std::string type;  // command | postgres-checkpoint | mysql-lock-tables
    bool err_is_fatal = false;
    replication::FilesystemFilter filesystems;  // default: every filesystem ("<": true)
    std::variant<CommandHookConfig, DatabaseHookConfig> settings;
};

struct PeriodicSnapshotting {
    std::string prefix;
    seconds interval{0};
    std::string timestamp_format = "dense";
    std::string timestamp_location = "UTC";
    std::vector<HookConfig> hooks;
};
struct CronSnapshotting {
    std::string prefix;
    std::string cron;  // as written; valid for snapshotting::CronSpec::parse
    std::string timestamp_format = "dense";
    std::string timestamp_location = "UTC";
    std::vector<HookConfig> hooks;
};
struct ManualSnapshotting {};
using Snapshotting = std::variant<PeriodicSnapshotting, CronSnapshotting, ManualSnapshotting>;
std::string_view snapshotting_type(const Snapshotting& s) noexcept;  // periodic | cron | manual

struct DebugSettings {
    std::string conn_read_dump, conn_write_dump;
    bool rpc_log = false;
};

using KeepRules = std::vector<pruning::KeepRuleConfig>;

// ---- jobs ------------------------------------------------------------------------------

struct PushJob {
    Connect connect;
    replication::FilesystemFilter filesystems;
    Snapshotting snapshotting;
    SendOptions send;
    ReplicationOptions replication;
    replication::InitialReplicationPolicy initial_replication =
        replication::InitialReplicationPolicy::most_recent;
    KeepRules keep_sender, keep_receiver;
};
struct PullJob {
    Connect connect;
    std::string root_fs;
    bool interval_manual = false;
    seconds interval{0};
    RecvOptions recv;
    ReplicationOptions replication;
    replication::InitialReplicationPolicy initial_replication =
        replication::InitialReplicationPolicy::most_recent;
    KeepRules keep_sender, keep_receiver;
};
struct SinkJob {
    Serve serve;
    std::string root_fs;
    RecvOptions recv;
};
struct SourceJob {
    Serve serve;
    replication::FilesystemFilter filesystems;
    Snapshotting snapshotting;
    SendOptions send;
};
struct SnapJob {
    replication::FilesystemFilter filesystems;
    Snapshotting snapshotting;
    KeepRules keep;
};

struct Job {
    std::string name;
    Mark mark;  // where the job's entry starts (main file or an included one)
    DebugSettings debug;
    std::variant<PushJob, SinkJob, PullJob, SourceJob, SnapJob> spec;

    std::string_view type() const noexcept;  // push | sink | pull | source | snap
    const Connect* connect() const noexcept;
    const Serve* serve() const noexcept;
    const Snapshotting* snapshotting() const noexcept;
};

struct Config {
    std::string file;  // the main file as given
    Global global;
    std::vector<std::string> included_files;  // in load order
    std::vector<Job> jobs;                    // main file's jobs first, then each include's

    const Job* find_job(std::string_view name) const noexcept;
};

}  // namespace zferry::config
