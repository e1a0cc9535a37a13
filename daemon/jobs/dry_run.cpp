#include "daemon/jobs/dry_run.hpp"

#include "daemon/jobs/endpoint_prune.hpp"
#include "daemon/jobs/job_settings.hpp"
#include "daemon/pruning/local_prune_target.hpp"
#include "replication/logic/planner.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/resume_token.hpp"

#include <fmt/core.h>

#include <map>
#include <sstream>

namespace zferry::daemon {

namespace asio = boost::asio;

namespace {

template <class T>
std::string printed(const T& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// Outside the coroutines (GCC 12 and braced temporaries in coroutine bodies).
pruning::PrunerConfig dry_prune_config(std::string job, const char* side,
                                       std::vector<pruning::KeepRule> rules) {
    pruning::PrunerConfig c;
    c.job = std::move(job);
    c.side = side;
    c.rules = std::move(rules);
    c.dry_run = true;
    return c;
}

replication::StepRequest step_request(const std::string& fs, const replication::Step& st,
                                      const replication::Protection& protection) {
    replication::StepRequest req;
    req.filesystem = fs;
    req.from = st.from;
    req.to = st.to;
    req.resume_token = st.resume_token;
    req.protection = protection;
    req.intermediates = st.is_compound();
    return req;
}

asio::awaitable<void> snapshots(DryRunOutput* out, const config::Job* job, const config::Snapshotting* s,
                                const replication::FilesystemFilter* filter, zfs::ZfsRunner* runner) {
    out->text += "snapshotting:\n";
    if (std::holds_alternative<config::ManualSnapshotting>(*s)) {
        out->text += "  manual: no snapshots are taken\n";
        co_return;
    }
    auto sc = snapshotter_config(job->name, *s, *filter);
    if (!sc) {
        out->ok = false;
        out->text += "  ERROR: " + sc.error().message() + "\n";
        co_return;
    }
    auto all = co_await zfs::list_filesystems(*runner, "");
    if (!all) {
        out->ok = false;
        out->text += "  ERROR listing filesystems: " + all.error().message() + "\n";
        co_return;
    }
    const std::string name = sc->naming.name_at(std::chrono::system_clock::now());
    for (const auto& e : *all) {
        auto passes = filter->passes(e.name);
        if (passes && *passes) out->text += "  would snapshot " + e.name + "@" + name + "\n";
    }
    if (!sc->hooks.empty())
        out->text += fmt::format("  ({} hook(s) configured; not run in a dry run)\n", sc->hooks.size());
}

asio::awaitable<void> replication_plan(DryRunOutput* out, JobEndpoints* ep,
                                       replication::ReplicationOptions opts) {
    out->text += "replication:\n";
    auto senders = co_await ep->sender->list_filesystems();
    if (!senders) {
        out->ok = false;
        out->text += "  ERROR listing the sender's filesystems: " + senders.error().message() + "\n";
        co_return;
    }
    auto receivers = co_await ep->receiver->list_filesystems();
    if (!receivers) {
        out->ok = false;
        out->text += "  ERROR listing the receiver's filesystems: " + receivers.error().message() + "\n";
        co_return;
    }
    std::map<std::string, replication::FilesystemInfo> on_receiver;
    for (auto& r : *receivers) on_receiver.emplace(r.path, r);
    for (const auto& s : *senders) {
        replication::PlanInput in;
        in.sender_is_placeholder = s.is_placeholder;
        in.initial = opts.initial;
        in.coalesce = opts.coalesce;
        auto svs = co_await ep->sender->list_versions(s.path);
        if (!svs) {
            out->ok = false;
            out->text +=
                "  " + s.path + ": ERROR listing the sender's versions: " + svs.error().message() + "\n";
            continue;
        }
        in.sender_versions = std::move(*svs);
        if (auto it = on_receiver.find(s.path); it != on_receiver.end()) {
            in.receiver = it->second.is_placeholder ? replication::ReceiverState::placeholder
                                                    : replication::ReceiverState::present;
            if (!it->second.is_placeholder) {
                auto rvs = co_await ep->receiver->list_versions(s.path);
                if (!rvs) {
                    out->ok = false;
                    out->text += "  " + s.path +
                                 ": ERROR listing the receiver's versions: " + rvs.error().message() + "\n";
                    continue;
                }
                in.receiver_versions = std::move(*rvs);
            }
            if (!it->second.resume_token.empty())
                if (auto token = zfs::decode_resume_token(it->second.resume_token)) {
                    in.resume_token_raw = it->second.resume_token;
                    in.resume_token = *token;
                }
        }
        auto plan = replication::plan_filesystem(in);
        if (std::holds_alternative<replication::ClearStaleResumeToken>(plan.outcome)) {
            out->text +=
                "  " + s.path + ": the receiver's partial receive cannot be resumed; it would be discarded\n";
            in.resume_token.reset();
            in.resume_token_raw.clear();
            plan = replication::plan_filesystem(in);
        }
        const auto* steps = plan.steps();
        if (!steps) {
            out->ok = false;
            out->text += "  " + s.path + ": " + printed(plan) + "\n";
            continue;
        }
        if (steps->empty()) {
            out->text += "  " + s.path + ": up to date\n";
            continue;
        }
        for (const auto& st : *steps) {
            auto req = step_request(s.path, st, opts.protection);
            auto size = co_await ep->sender->send_dry(std::move(req));
            std::string bytes = "size unknown";
            if (size && *size)
                bytes = fmt::format("{} bytes", **size);
            else if (!size)
                bytes = "size estimate failed: " + size.error().message();
            out->text += "  " + s.path + ": " + printed(st) + " (" + bytes + ")\n";
        }
    }
}

asio::awaitable<void> prune(DryRunOutput* out, const char* side, pruning::PruneTarget* target,
                            pruning::PrunePeer* peer, std::vector<pruning::KeepRule> rules, std::string job,
                            Logger log) {
    out->text += std::string("pruning ") + side + ":\n";
    pruning::Pruner p(*target, peer, dry_prune_config(std::move(job), side, std::move(rules)),
                      std::move(log));
    co_await p.run();
    const auto& r = p.report();
    if (!r.error.empty()) {
        out->ok = false;
        out->text += "  ERROR: " + r.error + "\n";
    }
    if (r.error.empty() && r.completed.empty()) out->text += "  no filesystems\n";
    for (const auto& f : r.completed) {
        if (!f.error.empty()) {
            out->ok = false;
            out->text += "  " + f.filesystem + ": ERROR " + f.error + "\n";
        } else if (!f.skip_reason.empty()) {
            out->text += "  " + f.filesystem + ": not pruned: " + f.skip_reason + "\n";
        } else {
            const auto names = f.plan.destroy_names();
            if (names.empty()) out->text += "  " + f.filesystem + ": nothing to destroy\n";
            for (const auto& n : names) out->text += "  would destroy " + f.filesystem + "@" + n + "\n";
        }
    }
}

}  // namespace

asio::awaitable<DryRunOutput> dry_run_job(config::Job job, LocalListeners listeners, zfs::ZfsRunner& runner,
                                          Logger log, const TransportContext* transport) {
    DryRunOutput out;
    out.text = "dry run of job " + job.name + " (" + std::string(job.type()) + "): nothing is changed\n";
    log = log.with("job", job.name).with("dry_run", "true");
    if (const auto* s = job.snapshotting()) {
        const replication::FilesystemFilter* filter = nullptr;
        if (const auto* p = std::get_if<config::PushJob>(&job.spec)) filter = &p->filesystems;
        if (const auto* p = std::get_if<config::SourceJob>(&job.spec)) filter = &p->filesystems;
        if (const auto* p = std::get_if<config::SnapJob>(&job.spec)) filter = &p->filesystems;
        if (filter) co_await snapshots(&out, &job, s, filter, &runner);
    }
    const config::KeepRules* ks = nullptr;
    const config::KeepRules* kr = nullptr;
    const config::ReplicationOptions* ro = nullptr;
    auto initial = replication::InitialReplicationPolicy::most_recent;
    if (const auto* p = std::get_if<config::PushJob>(&job.spec)) {
        ks = &p->keep_sender;
        kr = &p->keep_receiver;
        ro = &p->replication;
        initial = p->initial_replication;
    } else if (const auto* p = std::get_if<config::PullJob>(&job.spec)) {
        ks = &p->keep_sender;
        kr = &p->keep_receiver;
        ro = &p->replication;
        initial = p->initial_replication;
    }
    if (ro) {
        auto ep = connect_endpoints(job, listeners, runner, transport, log);
        if (!ep) {
            out.ok = false;
            out.text += "ERROR: " + ep.error().message() + "\n";
            co_return out;
        }
        co_await replication_plan(&out, &*ep, replication_options(*ro, initial));
        auto rs = keep_rules(job.name, "keep_sender", *ks);
        auto rr = keep_rules(job.name, "keep_receiver", *kr);
        if (!rs || !rr) {
            out.ok = false;
            out.text += "ERROR: " + (rs ? rr.error() : rs.error()).message() + "\n";
            co_return out;
        }
        EndpointPruneTarget sender_target(*ep->sender), receiver_target(*ep->receiver);
        EndpointPrunePeer sender_peer(*ep->receiver, *ep->sender), receiver_peer(*ep->sender, *ep->sender);
        co_await prune(&out, "sender", &sender_target, &sender_peer, std::move(*rs), job.name, log);
        co_await prune(&out, "receiver", &receiver_target, &receiver_peer, std::move(*rr), job.name, log);
        if (ep->close) co_await ep->close();
    } else if (const auto* snap = std::get_if<config::SnapJob>(&job.spec)) {
        auto rules = keep_rules(job.name, "keep", snap->keep);
        if (!rules) {
            out.ok = false;
            out.text += "ERROR: " + rules.error().message() + "\n";
            co_return out;
        }
        pruning::LocalPruneTarget target(runner, snap->filesystems);
        co_await prune(&out, "local", &target, nullptr, std::move(*rules), job.name, log);
    } else if (!job.snapshotting()) {
        out.text +=
            "a " + std::string(job.type()) + " job only serves its clients: nothing to do on its own\n";
    }
    co_return out;
}

}  // namespace zferry::daemon
