#include "replication/endpoint/local_sender.hpp"

#include "core/async.hpp"
#include "core/overloaded.hpp"
#include "replication/endpoint/abstractions.hpp"
#include "replication/endpoint/destroy.hpp"
#include "replication/endpoint/unmatched_datasets.hpp"
#include "zfs/bookmark_ops.hpp"
#include "zfs/hold_ops.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/properties.hpp"
#include "zfs/property_ops.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace zferry::replication {

namespace asio = boost::asio;

namespace {
std::vector<std::string> placeholder_prop() { return {std::string(zfs::kPlaceholderProperty)}; }

zfs::SendRequest to_send_request(const StepRequest& r, const zfs::SendPolicy& policy) {
    zfs::SendRequest s;
    s.filesystem = r.filesystem;
    if (r.from) s.from = zfs::SendVersion{r.from->relative_name(), r.from->guid};
    s.to = zfs::SendVersion{r.to.relative_name(), r.to.guid};
    s.resume_token = r.resume_token;
    s.policy = policy;
    return s;
}
}  // namespace

LocalSender::LocalSender(zfs::ZfsRunner& runner, SenderConfig config, Logger log)
    : runner_(runner),
      config_(std::move(config)),
      log_(log.with("job", config_.job.str()).with("endpoint", "sender")) {}

Result<void> LocalSender::check_access(const std::string& fs) const {
    auto passes = config_.filesystems.passes(fs);
    if (!passes) return Error(passes.error()).wrap("sender");
    if (!*passes)
        return Error(Errc::invalid_argument, "endpoint does not allow access to filesystem " + fs + " (job " +
                                                 config_.job.str() + ")");
    return {};
}

asio::awaitable<Result<std::vector<FilesystemInfo>>> LocalSender::list_filesystems() {
    auto all = co_await zfs::list_filesystems(runner_, "", placeholder_prop());
    if (!all) co_return all.error();
    report_unmatched(runner_, config_.filesystems, *all);
    std::vector<FilesystemInfo> out;
    for (const auto& e : *all) {
        auto passes = config_.filesystems.passes(e.name);
        if (!passes || !*passes) continue;
        FilesystemInfo info{e.name, false, ""};
        if (!e.values.empty() && zfs::is_placeholder_value(e.values[0], e.name)) {
            auto state = co_await zfs::get_placeholder_state(runner_, e.name);
            if (!state) co_return state.error();
            info.is_placeholder = state->is_placeholder;
        }
        out.push_back(std::move(info));
    }
    co_return out;
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> LocalSender::list_versions(std::string fs) {
    if (auto a = check_access(fs); !a) co_return a.error();
    co_return co_await zfs::list_versions(runner_, std::move(fs));
}

asio::awaitable<Result<std::vector<DestroySnapshotResult>>> LocalSender::destroy_snapshots(
    std::string fs, std::vector<zfs::FilesystemVersion> snapshots) {
    if (auto a = check_access(fs); !a) co_return a.error();
    co_return co_await destroy_snapshot_versions(runner_, std::move(fs), std::move(snapshots));
}

asio::awaitable<Result<void>> LocalSender::execute(const std::vector<AbstractionAction>& actions,
                                                   const StepRequest& req) {
    for (const auto& action : actions) {
        Result<void> r;
        if (const auto* h = std::get_if<Hold>(&action)) {
            r = co_await zfs::hold_all(runner_, h->snapshots, h->tag);
        } else if (const auto* rel = std::get_if<Release>(&action)) {
            r = co_await zfs::release(runner_, rel->tag, rel->snapshots);
        } else if (const auto* b = std::get_if<CreateBookmark>(&action)) {
            // The source is the step's from or to, whose GUID the request carries.
            const zfs::FilesystemVersion* src = nullptr;
            if (req.to.full_name() == b->snapshot) src = &req.to;
            if (req.from && req.from->full_name() == b->snapshot) src = &*req.from;
            if (!src) {
                r = Error(Errc::internal, "bookmark source " + b->snapshot + " is not part of the step");
            } else {
                auto made = co_await zfs::create_bookmark(runner_, *src,
                                                          b->bookmark.substr(b->bookmark.find('#') + 1));
                if (!made) r = made.error();
            }
        } else if (const auto* d = std::get_if<DestroyBookmarks>(&action)) {
            for (const auto& bm : d->bookmarks) {
                r = co_await zfs::destroy_bookmark(runner_, bm);
                if (!r) break;
            }
        }
        if (!r) co_return r;
    }
    co_return Result<void>{};
}

asio::awaitable<Result<LocalSender::PreparedSend>> LocalSender::prepare_send(StepRequest req) {
    auto validated = co_await zfs::validate_send_request(runner_, to_send_request(req, config_.policy));
    if (!validated) co_return validated.error();
    auto caps = co_await runner_.capabilities();
    if (!caps) co_return caps.error();
    auto kind = req.protection.for_step(req.from.has_value());
    // Without bookmarks there are no tentative cursors: guarantee_incremental protects the
    // step with step holds, as guarantee_resumability does (stronger, never weaker).
    if (!caps->bookmarks && kind == GuaranteeKind::incremental) kind = GuaranteeKind::resumability;
    // A resumed step already holds what its first attempt created; creating it again is
    // idempotent (hold and bookmark succeed when present).
    auto pre = sender_pre_send(kind, config_.job, req.from, req.to);
    if (!pre) co_return pre.error();
    if (auto r = co_await execute(*pre, req); !r) {
        auto e = r.error();
        co_return e.wrap("applying " + std::string(to_string(kind)) + " before sending " +
                         req.to.full_name());
    }
    PreparedSend out{std::move(*validated), kind, caps->holds_listing};
    co_return out;
}

asio::awaitable<Result<SendReply>> LocalSender::send(StepRequest req) {
    if (auto a = check_access(req.filesystem); !a) co_return a.error();
    // The listing for the stale cleanup below is taken while the request is validated and
    // protected (one zfs invocation less on the step's path): what this step creates is not
    // in it, which changes nothing, because the step's own holds are never asked about and its
    // own abstractions are never stale; and nothing older changes in between, because a
    // filesystem has one step at a time. The cleanup itself still runs only once the stream
    // has started.
    auto both = co_await in_parallel(prepare_send(req), zfs::list_versions(runner_, req.filesystem));
    auto& prepared = std::get<0>(both);
    auto& listed = std::get<1>(both);
    if (!prepared) co_return prepared.error();
    const auto kind = prepared->kind;
    const auto& validated = prepared->validated;
    const Logger l = log_.with("filesystem", req.filesystem);
    auto spec = validated.spec();
    spec.intermediates = req.intermediates && validated.resume_token.empty();
    auto stream = co_await zfs::start_send(runner_, validated.policy, spec);
    if (!stream) co_return stream.error();
    // Stale cleanup failing does not fail the step: the stream is running, and the next step
    // cleans up again; it is logged.
    // The step's own from and to are never stale here: their holds need not be listed.
    std::vector<std::string> own;
    if (req.from && req.from->type == zfs::VersionType::snapshot) own.push_back(req.from->full_name());
    own.push_back(req.to.full_name());
    Result<std::vector<Abstraction>> existing =
        listed ? Result<std::vector<Abstraction>>(std::vector<Abstraction>{})
               : Result<std::vector<Abstraction>>(listed.error());
    if (listed) existing = co_await abstractions_of_listing(runner_, *listed, config_.job, own);
    if (!existing) {
        l.warn("listing abstractions for cleanup: {}", existing.error().message());
    } else if (auto stale = sender_stale_after_send(kind, config_.job, req.from, req.to, *existing); !stale) {
        l.error("{}", stale.error().message());
    } else if (auto r = co_await execute(*stale, req); !r) {
        l.warn("releasing stale abstractions: {}", r.error().message());
    } else if (!prepared->holds_listing && kind != GuaranteeKind::nothing) {
        // Where hold tags cannot be listed (zfs-fuse) the step holds of earlier steps were not
        // seen above: release the tag from every other held snapshot (a missing tag is success).
        std::vector<std::string> keep;
        if (req.from) keep.push_back(req.from->full_name());
        keep.push_back(req.to.full_name());
        // The listing taken before this step's holds shows every hold of earlier steps.
        if (auto r = co_await release_from_held(*listed, step_hold_tag(config_.job), keep); !r)
            l.warn("releasing stale step holds: {}", r.error().message());
    }
    co_return SendReply{!validated.resume_token.empty(), std::move(*stream)};
}

asio::awaitable<Result<void>> LocalSender::release_from_held(
    const std::vector<zfs::FilesystemVersion>& listing, const std::string& tag,
    const std::vector<std::string>& keep) {
    std::vector<std::string> held;
    for (const auto& v : listing)
        if (v.type == zfs::VersionType::snapshot && v.userrefs.value_or(0) > 0 &&
            std::find(keep.begin(), keep.end(), v.full_name()) == keep.end())
            held.push_back(v.full_name());
    if (held.empty()) co_return Result<void>{};
    co_return co_await zfs::release(runner_, tag, std::move(held));
}

asio::awaitable<Result<void>> LocalSender::send_completed_without_bookmarks(const StepRequest& req,
                                                                            GuaranteeKind kind) {
    // The cursor: a hold on `to` first (the next incremental's source cannot go), then its
    // GUID in the filesystem's property, and only then the older cursor holds and every step
    // hold of the job go, so protection never lapses.
    // One listing serves both releases: it is taken beside the cursor hold, and every snapshot
    // it must show as held already was (older cursors and step holds of earlier steps; `to`
    // carries this step's hold since the send was prepared, or no step hold at all for a step
    // without guarantees). A tag missing on a listed snapshot releases as success.
    // (Named vectors, no braced lists in this coroutine: GCC 12 miscompiles them.)
    const std::string cursor_tag = cursor_hold_tag(config_.job);
    std::vector<std::string> keep_to;
    keep_to.push_back(req.to.full_name());
    auto hold_to = [&]() -> asio::awaitable<Result<void>> {
        if (kind == GuaranteeKind::nothing) co_return Result<void>{};
        co_return co_await zfs::hold(runner_, req.to.full_name(), cursor_tag);
    };
    auto both = co_await in_parallel(hold_to(), zfs::list_versions(runner_, req.filesystem));
    if (!std::get<0>(both)) co_return std::get<0>(both);
    auto& listed = std::get<1>(both);
    if (!listed) co_return listed.error();
    if (kind != GuaranteeKind::nothing) {
        std::vector<std::pair<std::string, std::string>> props;
        props.emplace_back(cursor_property_name(config_.job), std::to_string(req.to.guid));
        if (auto r = co_await zfs::set_properties(runner_, req.filesystem, std::move(props)); !r) co_return r;
        if (auto r = co_await release_from_held(*listed, cursor_tag, keep_to); !r) co_return r;
    }
    const std::vector<std::string> keep_none;
    co_return co_await release_from_held(*listed, step_hold_tag(config_.job), keep_none);
}

asio::awaitable<Result<void>> LocalSender::send_completed(StepRequest req) {
    if (auto a = check_access(req.filesystem); !a) co_return a.error();
    const auto kind = req.protection.for_step(req.from.has_value());
    auto caps = co_await runner_.capabilities();
    if (!caps) co_return caps.error();
    if (!caps->bookmarks) {
        auto r = co_await send_completed_without_bookmarks(req, kind);
        if (!r) {
            auto e = r.error();
            co_return e.wrap("cannot move replication cursor, keeping hold on " + req.to.full_name() +
                             " until successful");
        }
        co_return r;
    }
    // The holds of the step's own from and to are not listed: the step's hold tag is released
    // from them below whatever they carry (a missing tag is success).
    std::vector<std::string> own;
    if (req.from && req.from->type == zfs::VersionType::snapshot) own.push_back(req.from->full_name());
    own.push_back(req.to.full_name());
    // The new cursor first, while the filesystem is listed: it is made whatever the listing
    // says (creating an existing cursor is success), and nothing is released or destroyed
    // before it exists, so protection never lapses. The listing may or may not show it; the
    // decisions below never touch it either way.
    const std::vector<Abstraction> none;
    auto cursor = sender_send_completed(kind, config_.job, req.to, none);
    if (!cursor) co_return cursor.error();
    auto both = co_await in_parallel(execute(*cursor, req), zfs::list_versions(runner_, req.filesystem));
    auto& made = std::get<0>(both);
    auto& listed = std::get<1>(both);
    if (!made) {
        auto e = made.error();
        co_return e.wrap("cannot move replication cursor, keeping hold on " + req.to.full_name() +
                         " until successful");
    }
    if (!listed) co_return listed.error();
    auto existing = co_await abstractions_of_listing(runner_, *listed, config_.job, own);
    if (!existing) co_return existing.error();
    auto actions = sender_send_completed(kind, config_.job, req.to, *existing);
    if (!actions) co_return actions.error();
    // The older abstractions go at once, releases beside bookmark destroys: each only needs the
    // new cursor, which exists.
    std::vector<AbstractionAction> releases, destroys;
    for (auto& a : *actions) {
        if (std::holds_alternative<Release>(a))
            releases.push_back(std::move(a));
        else if (std::holds_alternative<DestroyBookmarks>(a))
            destroys.push_back(std::move(a));
        // CreateBookmark: the cursor, made above.
    }
    if (kind == GuaranteeKind::resumability) {
        const std::string tag = step_hold_tag(config_.job);
        Release* rel = nullptr;
        for (auto& a : releases)
            if (auto* r = std::get_if<Release>(&a); r && r->tag == tag) rel = r;
        if (!rel) {
            Release fresh;  // (not a braced temporary: GCC 12 coroutines)
            fresh.tag = tag;
            releases.push_back(std::move(fresh));
            rel = &std::get<Release>(releases.back());
        }
        for (const auto& o : own)
            if (std::find(rel->snapshots.begin(), rel->snapshots.end(), o) == rel->snapshots.end())
                rel->snapshots.push_back(o);
    }
    auto done = co_await in_parallel(execute(releases, req), execute(destroys, req));
    Result<void> outcome = std::move(std::get<0>(done));
    if (outcome) outcome = std::move(std::get<1>(done));
    if (!outcome) {
        auto e = outcome.error();
        co_return e.wrap("cannot move replication cursor, keeping hold on " + req.to.full_name() +
                         " until successful");
    }
    co_return Result<void>{};
}

asio::awaitable<Result<std::optional<std::uint64_t>>> LocalSender::send_dry(StepRequest req) {
    if (auto a = check_access(req.filesystem); !a) co_return a.error();
    zfs::SendSpec spec;
    zfs::SendPolicy policy = config_.policy;
    if (!req.resume_token.empty()) {
        // A token names its own dataset and versions: checked like a real send, so a client
        // cannot learn sizes of a dataset outside the filter through a crafted token.
        auto validated = co_await zfs::validate_send_request(runner_, to_send_request(req, config_.policy));
        if (!validated) co_return validated.error();
        spec = validated->spec();
        policy = validated->policy;
    } else {
        spec.filesystem = req.filesystem;
        if (req.from) spec.from = req.from->relative_name();
        spec.to = req.to.relative_name();
        spec.intermediates = req.intermediates;
    }
    auto estimate = co_await zfs::estimate_send_size(runner_, policy, spec);
    if (!estimate) co_return estimate.error();
    co_return estimate->bytes;
}

namespace {
// Whether one `send -nvP -I` answers every request: single-snapshot steps without tokens of one
// filesystem, each from the snapshot the one before went to.
bool one_chain(const std::vector<StepRequest>& reqs) {
    if (reqs.size() < 2) return false;
    for (std::size_t k = 0; k < reqs.size(); ++k) {
        const auto& r = reqs[k];
        if (r.filesystem != reqs[0].filesystem || !r.resume_token.empty() || r.intermediates || !r.from ||
            r.from->type != zfs::VersionType::snapshot)
            return false;
        if (k > 0 && (r.from->name != reqs[k - 1].to.name || r.from->guid != reqs[k - 1].to.guid))
            return false;
    }
    return true;
}

// The short name of a snapshot as a dry run prints it ("fs@s1", "@s1" or "s1").
std::string_view short_name(std::string_view printed) {
    auto at = printed.find('@');
    return at == std::string_view::npos ? printed : printed.substr(at + 1);
}
}  // namespace

asio::awaitable<std::vector<Result<std::optional<std::uint64_t>>>> LocalSender::send_dry_steps(
    std::vector<StepRequest> reqs) {
    std::vector<Result<std::optional<std::uint64_t>>> out;
    if (one_chain(reqs) && check_access(reqs[0].filesystem)) {
        zfs::SendSpec spec;
        spec.filesystem = reqs[0].filesystem;
        spec.from = reqs[0].from->relative_name();
        spec.to = reqs.back().to.relative_name();
        spec.intermediates = true;
        auto infos = co_await zfs::estimate_send_sizes_per_snapshot(runner_, config_.policy, spec);
        // Each step must find its own line (from its `from` to its `to`); otherwise, or when
        // the dry run failed, the steps are estimated one by one below, as zrepl does.
        if (infos && !infos->empty()) {
            for (std::size_t k = 0; k < reqs.size() && infos->size() == reqs.size(); ++k) {
                const auto& i = (*infos)[k];
                if (i.type != zfs::DrySendInfo::Type::incremental || i.to != reqs[k].to.full_name() ||
                    short_name(i.from) != reqs[k].from->name)
                    break;
                out.push_back(i.size_estimate ? std::optional<std::uint64_t>(i.size_estimate)
                                              : std::optional<std::uint64_t>());
            }
            if (out.size() == reqs.size()) co_return out;
            out.clear();
        }
    }
    for (auto& r : reqs) {
        out.push_back(co_await send_dry(std::move(r)));
        if (!out.back()) break;
    }
    co_return out;
}

asio::awaitable<Result<std::optional<std::uint64_t>>> LocalSender::replication_cursor(std::string fs) {
    if (auto a = check_access(fs); !a) co_return a.error();
    auto caps = co_await runner_.capabilities();
    if (!caps) co_return caps.error();
    if (!caps->bookmarks) {
        auto p = co_await zfs::get_property(runner_, fs, cursor_property_name(config_.job));
        if (!p) co_return p.error();
        // User properties inherit: only the filesystem's own value is its cursor.
        if (p->source != zfs::PropertySource::local) co_return std::optional<std::uint64_t>{};
        std::uint64_t guid = 0;
        const std::string& v = p->value;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), guid);
        if (ec != std::errc{} || ptr != v.data() + v.size() || guid == 0)
            co_return std::optional<std::uint64_t>{};
        co_return std::optional<std::uint64_t>{guid};
    }
    auto existing = co_await list_abstractions_of(runner_, fs, config_.job);
    if (!existing) co_return existing.error();
    std::optional<std::uint64_t> guid;
    std::uint64_t txg = 0;
    for (const auto& a : *existing)
        if (a.type == AbstractionType::replication_cursor_bookmark_v2 &&
            (!guid || a.version.createtxg > txg)) {
            guid = a.version.guid;
            txg = a.version.createtxg;
        }
    co_return guid;
}

}  // namespace zferry::replication
