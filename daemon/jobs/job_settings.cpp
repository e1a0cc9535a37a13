#include "daemon/jobs/job_settings.hpp"

#include "core/overloaded.hpp"
#include "core/throttle.hpp"
#include "daemon/snapshotting/zone_loader.hpp"

namespace zferry::daemon {

namespace {

Error job_error(const std::string& job, std::string what) {
    return Error(Errc::invalid_argument, "job \"" + job + "\": " + std::move(what));
}

Result<snapshotting::SnapshotNaming> naming(const std::string& job, const std::string& prefix,
                                            const std::string& format, const std::string& location) {
    auto zone = snapshotting::load_time_zone(location);
    if (!zone) return job_error(job, "snapshotting.timestamp_location: " + zone.error().message());
    auto tf = snapshotting::TimestampFormat::make(format, *zone);
    if (!tf) return job_error(job, "snapshotting.timestamp_format: " + tf.error().message());
    auto n = snapshotting::SnapshotNaming::make(prefix, *tf);
    if (!n) return job_error(job, "snapshotting.prefix: " + n.error().message());
    return std::move(*n);
}

Result<std::vector<CommandHook>> hooks(const std::string& job, const std::vector<config::HookConfig>& in) {
    std::vector<CommandHook> out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto* c = std::get_if<config::CommandHookConfig>(&in[i].settings);
        if (!c)
            return job_error(job, "snapshotting.hooks[" + std::to_string(i) + "]: hook type \"" + in[i].type +
                                      "\" is not supported by zferry (only \"command\" hooks are); "
                                      "use a command hook that runs the database's own client");
        CommandHook h;
        h.path = c->path;
        h.timeout = c->timeout;
        h.err_is_fatal = in[i].err_is_fatal;
        h.filesystems = in[i].filesystems;
        out.push_back(std::move(h));
    }
    return out;
}

// A job direction's bandwidth_limit as a Throttle shared by all its steps; null: unlimited.
std::shared_ptr<Throttle> throttle(const config::BandwidthLimit& b) {
    if (!b.max_bytes_per_second) return nullptr;
    return std::make_shared<Throttle>(*b.max_bytes_per_second, b.bucket_capacity_bytes);
}

}  // namespace

Result<snapshotting::SnapshotterConfig> snapshotter_config(const std::string& job,
                                                           const config::Snapshotting& s,
                                                           const replication::FilesystemFilter& filesystems) {
    auto make = [&](snapshotting::SnapshotNaming n, snapshotting::Schedule schedule,
                    std::vector<CommandHook> h) -> snapshotting::SnapshotterConfig {
        return snapshotting::SnapshotterConfig{job, filesystems, std::move(n), std::move(schedule),
                                               std::move(h)};
    };
    if (std::holds_alternative<config::ManualSnapshotting>(s)) {
        // Never used: a manual schedule takes no snapshot; any valid name will do.
        auto n = naming(job, "manual_", "dense", "UTC");
        if (!n) return n.error();
        return make(std::move(*n), snapshotting::ManualSchedule{}, {});
    }
    if (const auto* p = std::get_if<config::PeriodicSnapshotting>(&s)) {
        auto n = naming(job, p->prefix, p->timestamp_format, p->timestamp_location);
        if (!n) return n.error();
        auto h = hooks(job, p->hooks);
        if (!h) return h.error();
        return make(std::move(*n), snapshotting::PeriodicSchedule{p->interval}, std::move(*h));
    }
    const auto& c = std::get<config::CronSnapshotting>(s);
    auto n = naming(job, c.prefix, c.timestamp_format, c.timestamp_location);
    if (!n) return n.error();
    auto h = hooks(job, c.hooks);
    if (!h) return h.error();
    auto spec = snapshotting::CronSpec::parse(c.cron);
    if (!spec) return job_error(job, "snapshotting.cron: " + spec.error().message());
    auto zone =
        snapshotting::load_time_zone(spec->time_zone_name().empty() ? "Local" : spec->time_zone_name());
    if (!zone) return job_error(job, "snapshotting.cron: " + zone.error().message());
    return make(std::move(*n), snapshotting::CronSchedule{std::move(*spec), std::move(*zone)}, std::move(*h));
}

Result<std::vector<pruning::KeepRule>> keep_rules(const std::string& job, const std::string& key,
                                                  const config::KeepRules& rules) {
    std::vector<pruning::KeepRule> out;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        auto r = pruning::KeepRule::make(rules[i]);
        if (!r)
            return job_error(job, "pruning." + key + "[" + std::to_string(i) + "]: " + r.error().message());
        out.push_back(std::move(*r));
    }
    return out;
}

replication::ReplicationOptions replication_options(const config::ReplicationOptions& r,
                                                    replication::InitialReplicationPolicy initial) {
    replication::ReplicationOptions o;
    o.protection = {r.protection_initial, r.protection_incremental};
    o.initial = initial;
    o.coalesce = r.coalesce;
    o.step_concurrency = static_cast<std::size_t>(r.concurrency_steps);
    o.size_estimate_concurrency = static_cast<std::size_t>(r.concurrency_size_estimates);
    return o;
}

Result<replication::SenderConfig> sender_config(const std::string& job,
                                                const replication::FilesystemFilter& fs,
                                                const config::SendOptions& send) {
    auto id = replication::JobId::make(job);
    if (!id) return job_error(job, id.error().message());
    zfs::SendPolicy p;
    p.encrypted = send.encrypted;
    p.raw = send.raw;
    p.send_properties = send.send_properties;
    p.backup_properties = send.backup_properties;
    p.large_blocks = send.large_blocks;
    p.compressed = send.compressed;
    p.embedded_data = send.embedded_data;
    p.saved = send.saved;
    return replication::SenderConfig{std::move(*id), fs, p, throttle(send.bandwidth_limit)};
}

Result<replication::ReceiverConfig> receiver_config(const std::string& job, const std::string& root_fs,
                                                    std::optional<std::string> client_identity,
                                                    const config::RecvOptions& recv) {
    auto id = replication::JobId::make(job);
    if (!id) return job_error(job, id.error().message());
    replication::ReceiverConfig c{std::move(*id),
                                  root_fs,
                                  std::move(client_identity),
                                  replication::PlaceholderEncryptionPolicy::unspecified,
                                  {}};
    switch (recv.placeholder_encryption) {
        case config::PlaceholderEncryption::unspecified:
            c.placeholder_encryption = replication::PlaceholderEncryptionPolicy::unspecified;
            break;
        case config::PlaceholderEncryption::inherit:
            c.placeholder_encryption = replication::PlaceholderEncryptionPolicy::inherit;
            break;
        case config::PlaceholderEncryption::off:
            c.placeholder_encryption = replication::PlaceholderEncryptionPolicy::off;
            break;
    }
    c.options.set_properties = recv.properties_override;
    c.options.exclude_properties = recv.properties_inherit;
    c.bandwidth_limit = throttle(recv.bandwidth_limit);
    return c;
}

void apply_connect_limits(const config::ZferryConnectLimits& limits, replication::remote::RemoteOptions& o) {
    o.data.reuse.client_max_idle = limits.dataconn_idle_max;
    o.data.reuse.client_idle_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(limits.dataconn_idle_timeout);
}

void apply_serve_limits(const config::ZferryServeLimits& limits,
                        replication::remote::EndpointServerOptions& o) {
    o.data.limits.next_request_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(limits.dataconn_next_request_timeout);
    o.control_limits.max_per_identity = limits.control_connections_per_identity;
    o.control_limits.max_connections = limits.control_connections_max;
}

}  // namespace zferry::daemon
