#include "daemon/jobs/job_endpoints.hpp"

#include "daemon/jobs/job_settings.hpp"
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"

namespace zferry::daemon {

namespace {

Error not_available(const config::Job& job, std::string_view section, std::string_view type) {
    return Error(Errc::invalid_argument,
                 "job \"" + job.name + "\": " + std::string(section) + " type \"" + std::string(type) +
                     "\" is not available in this zferry build yet (the remote transports are still to come; "
                     "only \"local\" works today); the daemon does not start with this job");
}

}  // namespace

Result<void> LocalListeners::add(const config::Job& job) {
    const auto* serve = job.serve();
    const auto* local = serve ? std::get_if<config::LocalServe>(serve) : nullptr;
    if (!local) return Error(Errc::internal, "job \"" + job.name + "\" does not serve the local transport");
    auto [it, inserted] = by_name_.emplace(local->listener_name, &job);
    if (!inserted)
        return Error(Errc::invalid_argument, "job \"" + job.name + "\": serve.listener_name \"" +
                                                 local->listener_name + "\" is already used by job \"" +
                                                 it->second->name + "\"");
    return {};
}

const config::Job* LocalListeners::find(const std::string& listener_name) const {
    auto it = by_name_.find(listener_name);
    return it == by_name_.end() ? nullptr : it->second;
}

Result<void> check_serve(const config::Job& job) {
    const auto* serve = job.serve();
    if (!serve) return {};
    if (std::holds_alternative<config::LocalServe>(*serve)) return {};
    return not_available(job, "serve", config::serve_type(*serve));
}

Result<JobEndpoints> connect_endpoints(const config::Job& job, const LocalListeners& listeners,
                                       zfs::ZfsRunner& runner, const Logger& log) {
    const auto* connect = job.connect();
    if (!connect) return Error(Errc::internal, "job \"" + job.name + "\" has no connect section");
    const auto* local = std::get_if<config::LocalConnect>(connect);
    if (!local) return not_available(job, "connect", config::connect_type(*connect));

    const config::Job* passive = listeners.find(local->listener_name);
    auto missing = [&](std::string_view wanted) {
        return Error(Errc::invalid_argument, "job \"" + job.name + "\": connect.listener_name \"" +
                                                 local->listener_name + "\": no " + std::string(wanted) +
                                                 " job in this configuration serves that local listener");
    };
    JobEndpoints out;
    out.peer = "local:" + local->listener_name + " as " + local->client_identity;
    if (const auto* push = std::get_if<config::PushJob>(&job.spec)) {
        const auto* sink = passive ? std::get_if<config::SinkJob>(&passive->spec) : nullptr;
        if (!sink) return missing("sink");
        auto sc = sender_config(job.name, push->filesystems, push->send);
        if (!sc) return sc.error();
        auto rc = receiver_config(passive->name, sink->root_fs, local->client_identity, sink->recv);
        if (!rc) return rc.error();
        out.sender =
            std::make_unique<replication::LocalSender>(runner, std::move(*sc), log.with("side", "sender"));
        out.receiver = std::make_unique<replication::LocalReceiver>(
            runner, std::move(*rc),
            log.with("side", "receiver").with("client_identity", local->client_identity));
        return out;
    }
    if (const auto* pull = std::get_if<config::PullJob>(&job.spec)) {
        const auto* source = passive ? std::get_if<config::SourceJob>(&passive->spec) : nullptr;
        if (!source) return missing("source");
        auto sc = sender_config(passive->name, source->filesystems, source->send);
        if (!sc) return sc.error();
        auto rc = receiver_config(job.name, pull->root_fs, std::nullopt, pull->recv);
        if (!rc) return rc.error();
        out.sender = std::make_unique<replication::LocalSender>(
            runner, std::move(*sc),
            log.with("side", "sender").with("client_identity", local->client_identity));
        out.receiver = std::make_unique<replication::LocalReceiver>(runner, std::move(*rc),
                                                                    log.with("side", "receiver"));
        return out;
    }
    return Error(Errc::internal, "job \"" + job.name + "\" is not a push or pull job");
}

}  // namespace zferry::daemon
