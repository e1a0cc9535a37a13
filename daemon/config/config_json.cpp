#include "daemon/config/config_json.hpp"

#include "core/overloaded.hpp"

#include <boost/json.hpp>

namespace zferry::config {
namespace json = boost::json;
namespace {

json::value secs(seconds s) { return static_cast<std::int64_t>(s.count()); }

json::value strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

json::value filter(const replication::FilesystemFilter& f) {
    json::object o;
    for (const auto& e : f.entries()) {
        auto pattern = e.path.to_string();
        if (e.subtree) pattern += "<";
        o[pattern] = e.accept;
    }
    return o;
}

json::value bandwidth(const BandwidthLimit& b) {
    json::object o;
    if (b.max_bytes_per_second)
        o["max_bytes_per_second"] = *b.max_bytes_per_second;
    else
        o["max_bytes_per_second"] = nullptr;  // unlimited
    o["bucket_capacity_bytes"] = b.bucket_capacity_bytes;
    return o;
}

json::value limits(const ZferryConnectLimits& l) {
    json::object o;
    o["dataconn_idle_max"] = l.dataconn_idle_max;
    o["dataconn_idle_timeout"] = secs(l.dataconn_idle_timeout);
    return o;
}

json::value limits(const ZferryServeLimits& l) {
    json::object o;
    o["dataconn_next_request_timeout"] = secs(l.dataconn_next_request_timeout);
    o["control_connections_per_identity"] = l.control_connections_per_identity;
    o["control_connections_max"] = l.control_connections_max;
    return o;
}

json::value connect(const Connect& c) {
    json::object o;
    o["type"] = connect_type(c);
    std::visit(Overloaded{[&](const TcpConnect& t) {
                              o["address"] = t.address;
                              o["dial_timeout"] = secs(t.dial_timeout);
                              o["zferry"] = limits(t.zferry);
                          },
                          [&](const TlsConnect& t) {
                              o["address"] = t.address;
                              o["ca"] = t.ca;
                              o["cert"] = t.cert;
                              o["key"] = t.key;
                              o["server_cn"] = t.server_cn;
                              o["dial_timeout"] = secs(t.dial_timeout);
                              o["zferry"] = limits(t.zferry);
                          },
                          [&](const SshConnect& t) {
                              o["host"] = t.host;
                              o["user"] = t.user;
                              o["port"] = t.port;
                              o["identity_file"] = t.identity_file;
                              o["transport_open_command"] = strings(t.transport_open_command);
                              o["ssh_command"] = t.ssh_command;
                              o["options"] = strings(t.options);
                              o["dial_timeout"] = secs(t.dial_timeout);
                              o["zferry"] = limits(t.zferry);
                          },
                          [&](const LocalConnect& t) {
                              o["listener_name"] = t.listener_name;
                              o["client_identity"] = t.client_identity;
                              o["dial_timeout"] = secs(t.dial_timeout);
                          }},
               c);
    return o;
}

json::value serve(const Serve& s) {
    json::object o;
    o["type"] = serve_type(s);
    std::visit(Overloaded{[&](const TcpServe& t) {
                              o["listen"] = t.listen;
                              o["listen_freebind"] = t.listen_freebind;
                              json::object clients;
                              for (const auto& [k, v] : t.clients) clients[k] = v;
                              o["clients"] = std::move(clients);
                              o["zferry"] = limits(t.zferry);
                          },
                          [&](const TlsServe& t) {
                              o["listen"] = t.listen;
                              o["listen_freebind"] = t.listen_freebind;
                              o["ca"] = t.ca;
                              o["cert"] = t.cert;
                              o["key"] = t.key;
                              o["client_cns"] = strings(t.client_cns);
                              o["handshake_timeout"] = secs(t.handshake_timeout);
                              o["zferry"] = limits(t.zferry);
                          },
                          [&](const StdinserverServe& t) {
                              o["client_identities"] = strings(t.client_identities);
                              o["zferry"] = limits(t.zferry);
                          },
                          [&](const LocalServe& t) { o["listener_name"] = t.listener_name; }},
               s);
    return o;
}

json::value hooks(const std::vector<HookConfig>& hs) {
    json::array a;
    for (const auto& h : hs) {
        json::object o;
        o["type"] = h.type;
        o["err_is_fatal"] = h.err_is_fatal;
        o["filesystems"] = filter(h.filesystems);
        std::visit(Overloaded{[&](const CommandHookConfig& c) {
                                  o["path"] = c.path;
                                  o["timeout"] = secs(c.timeout);
                              },
                              [&](const DatabaseHookConfig& c) {
                                  o["dsn"] = c.dsn;
                                  o["timeout"] = secs(c.timeout);
                              }},
                   h.settings);
        a.push_back(std::move(o));
    }
    return a;
}

json::value snapshotting(const Snapshotting& s) {
    json::object o;
    o["type"] = snapshotting_type(s);
    std::visit(Overloaded{[&](const PeriodicSnapshotting& p) {
                              o["prefix"] = p.prefix;
                              o["interval"] = secs(p.interval);
                              o["timestamp_format"] = p.timestamp_format;
                              o["timestamp_location"] = p.timestamp_location;
                              o["hooks"] = hooks(p.hooks);
                          },
                          [&](const CronSnapshotting& p) {
                              o["prefix"] = p.prefix;
                              o["cron"] = p.cron;
                              o["timestamp_format"] = p.timestamp_format;
                              o["timestamp_location"] = p.timestamp_location;
                              o["hooks"] = hooks(p.hooks);
                          },
                          [&](const ManualSnapshotting&) {}},
               s);
    return o;
}

json::value send(const SendOptions& s) {
    return json::object{{"encrypted", s.encrypted},
                        {"raw", s.raw},
                        {"send_properties", s.send_properties},
                        {"backup_properties", s.backup_properties},
                        {"large_blocks", s.large_blocks},
                        {"compressed", s.compressed},
                        {"embedded_data", s.embedded_data},
                        {"saved", s.saved},
                        {"bandwidth_limit", bandwidth(s.bandwidth_limit)}};
}

json::value recv(const RecvOptions& r) {
    json::object override;
    for (const auto& [k, v] : r.properties_override) override[k] = v;
    return json::object{{"properties", json::object{{"inherit", strings(r.properties_inherit)},
                                                    {"override", std::move(override)}}},
                        {"placeholder", json::object{{"encryption", to_string(r.placeholder_encryption)}}},
                        {"bandwidth_limit", bandwidth(r.bandwidth_limit)}};
}

json::value replication_options(const ReplicationOptions& r) {
    return json::object{
        {"protection", json::object{{"initial", replication::to_string(r.protection_initial)},
                                    {"incremental", replication::to_string(r.protection_incremental)}}},
        {"concurrency",
         json::object{{"steps", r.concurrency_steps}, {"size_estimates", r.concurrency_size_estimates}}},
        {"coalesce", r.coalesce}};
}

json::value keep_rules(const KeepRules& rules) {
    json::array a;
    for (const auto& r : rules)
        a.push_back(std::visit(
            Overloaded{[](const pruning::NotReplicatedConfig& c) -> json::value {
                           return json::object{{"type", "not_replicated"},
                                               {"keep_snapshot_at_cursor", c.keep_snapshot_at_cursor}};
                       },
                       [](const pruning::LastNConfig& c) -> json::value {
                           return json::object{{"type", "last_n"}, {"count", c.count}, {"regex", c.regex}};
                       },
                       [](const pruning::RegexConfig& c) -> json::value {
                           return json::object{{"type", "regex"}, {"regex", c.regex}, {"negate", c.negate}};
                       },
                       [](const pruning::GridConfig& c) -> json::value {
                           return json::object{{"type", "grid"}, {"grid", c.grid}, {"regex", c.regex}};
                       }},
            r));
    return a;
}

std::string_view policy(replication::InitialReplicationPolicy p) { return replication::to_string(p); }

}  // namespace

json::value to_json(const Job& job) {
    json::object o;
    o["name"] = job.name;
    o["type"] = job.type();
    std::visit(Overloaded{[&](const PushJob& j) {
                              o["connect"] = connect(j.connect);
                              o["filesystems"] = filter(j.filesystems);
                              o["snapshotting"] = snapshotting(j.snapshotting);
                              o["send"] = send(j.send);
                              o["replication"] = replication_options(j.replication);
                              o["conflict_resolution"] =
                                  json::object{{"initial_replication", policy(j.initial_replication)}};
                              o["pruning"] = json::object{{"keep_sender", keep_rules(j.keep_sender)},
                                                          {"keep_receiver", keep_rules(j.keep_receiver)}};
                          },
                          [&](const PullJob& j) {
                              o["connect"] = connect(j.connect);
                              o["root_fs"] = j.root_fs;
                              o["interval"] = j.interval_manual ? json::value("manual") : secs(j.interval);
                              o["recv"] = recv(j.recv);
                              o["replication"] = replication_options(j.replication);
                              o["conflict_resolution"] =
                                  json::object{{"initial_replication", policy(j.initial_replication)}};
                              o["pruning"] = json::object{{"keep_sender", keep_rules(j.keep_sender)},
                                                          {"keep_receiver", keep_rules(j.keep_receiver)}};
                          },
                          [&](const SinkJob& j) {
                              o["serve"] = serve(j.serve);
                              o["root_fs"] = j.root_fs;
                              o["recv"] = recv(j.recv);
                          },
                          [&](const SourceJob& j) {
                              o["serve"] = serve(j.serve);
                              o["filesystems"] = filter(j.filesystems);
                              o["snapshotting"] = snapshotting(j.snapshotting);
                              o["send"] = send(j.send);
                          },
                          [&](const SnapJob& j) {
                              o["filesystems"] = filter(j.filesystems);
                              o["snapshotting"] = snapshotting(j.snapshotting);
                              o["pruning"] = json::object{{"keep", keep_rules(j.keep)}};
                          }},
               job.spec);
    o["file"] = job.mark.file;
    o["line"] = job.mark.line;
    return o;
}

json::value jobs_to_json(const Config& c) {
    json::array a;
    for (const auto& j : c.jobs) a.push_back(to_json(j));
    return a;
}

json::value logging_to_json(const Global& g) {
    json::array a;
    for (const auto& l : g.logging) {
        json::object o;
        o["type"] = l.type();
        o["level"] = to_string(l.level);
        o["format"] = to_string(l.format);
        std::visit(Overloaded{[&](const StdoutOutlet& s) {
                                  o["time"] = s.time;
                                  o["color"] = s.color;
                              },
                              [&](const SyslogOutlet& s) {
                                  o["facility"] = s.facility;
                                  o["retry_interval"] = secs(s.retry_interval);
                              },
                              [&](const TcpOutlet& s) {
                                  o["address"] = s.address;
                                  o["net"] = s.net;
                                  o["retry_interval"] = secs(s.retry_interval);
                                  if (s.tls)
                                      o["tls"] = json::object{
                                          {"ca", s.tls->ca}, {"cert", s.tls->cert}, {"key", s.tls->key}};
                              }},
                   l.outlet);
        a.push_back(std::move(o));
    }
    return a;
}

json::value to_json(const Config& c) {
    json::array monitoring;
    for (const auto& m : c.global.monitoring)
        monitoring.push_back(json::object{
            {"type", "prometheus"}, {"listen", m.listen}, {"listen_freebind", m.listen_freebind}});
    json::object global{
        {"logging", logging_to_json(c.global)},
        {"monitoring", std::move(monitoring)},
        {"control", json::object{{"sockpath", c.global.control_sockpath}}},
        {"serve", json::object{{"stdinserver", json::object{{"sockdir", c.global.stdinserver_sockdir}}}}}};
    return json::object{{"file", c.file},
                        {"global", std::move(global)},
                        {"include", strings(c.included_files)},
                        {"jobs", jobs_to_json(c)}};
}

}  // namespace zferry::config
