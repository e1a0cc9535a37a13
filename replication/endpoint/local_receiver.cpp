#include "replication/endpoint/local_receiver.hpp"

#include "replication/endpoint/abstractions.hpp"
#include "replication/endpoint/destroy.hpp"
#include "zfs/dataset_path.hpp"
#include "zfs/hold_ops.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/properties.hpp"
#include "zfs/rollback_ops.hpp"
#include "zfs/send_recv.hpp"
#include "zfs/zfs_error.hpp"

namespace zferry::replication {

namespace asio = boost::asio;

namespace {
std::vector<std::string> placeholder_prop() { return {std::string(zfs::kPlaceholderProperty)}; }
}  // namespace

LocalReceiver::LocalReceiver(zfs::ZfsRunner& runner, ReceiverConfig config, Logger log)
    : runner_(runner),
      config_(std::move(config)),
      client_root_(config_.client_identity ? config_.root_fs + "/" + *config_.client_identity
                                           : config_.root_fs),
      log_(log.with("job", config_.job.str()).with("endpoint", "receiver")) {}

Result<std::string> LocalReceiver::map(const std::string& fs) const {
    if (fs.empty())
        return Error(Errc::invalid_argument, "receiver: an empty filesystem name cannot be mapped");
    const std::string target = client_root_ + "/" + fs;
    if (auto c = zfs::entity_namecheck(target, zfs::EntityType::filesystem); !c) {
        auto e = c.error();
        return e.wrap("receiver: filesystem " + fs + " below " + client_root_);
    }
    // The name check refuses '.', '..' and empty components, so the target stays below the root.
    return target;
}

asio::awaitable<Result<std::vector<FilesystemInfo>>> LocalReceiver::list_filesystems() {
    auto caps = co_await runner_.capabilities();
    if (!caps) co_return caps.error();
    // One listing for every filesystem's placeholder flag and resume token (where zfs has
    // resumable receives, and so the property): no invocation per filesystem.
    std::vector<std::string> props = placeholder_prop();
    if (caps->resumable_recv) props.push_back("receive_resume_token");
    auto all = co_await zfs::list_filesystems(runner_, config_.root_fs, props);
    if (!all) {
        if (all.error().code() == zfs::ZfsErrc::dataset_not_found)
            co_return Error(all.error().code(), "root_fs " + config_.root_fs + " does not exist");
        co_return all.error();
    }
    std::vector<FilesystemInfo> out;
    const std::string prefix = client_root_ + "/";
    for (const auto& e : *all) {
        if (e.name.rfind(prefix, 0) != 0) continue;  // the root itself and other clients' trees
        FilesystemInfo info{e.name.substr(prefix.size()), false, ""};
        if (!e.values.empty() && zfs::is_placeholder_value(e.values[0], e.name)) {
            auto state = co_await zfs::get_placeholder_state(runner_, e.name);
            if (!state) co_return state.error();
            info.is_placeholder = state->is_placeholder;
        }
        if (caps->resumable_recv && e.values.size() > 1)
            if (auto token = zfs::receive_resume_token_value(e.values[1])) info.resume_token = *token;
        out.push_back(std::move(info));
    }
    co_return out;
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> LocalReceiver::list_versions(std::string fs) {
    auto target = map(fs);
    if (!target) co_return target.error();
    auto vs = co_await zfs::list_versions(runner_, *target);
    if (!vs) co_return vs.error();
    for (auto& v : *vs) v.filesystem = fs;  // the sender's name, as the protocol speaks
    co_return vs;
}

asio::awaitable<Result<std::vector<DestroySnapshotResult>>> LocalReceiver::destroy_snapshots(
    std::string fs, std::vector<zfs::FilesystemVersion> snapshots) {
    auto target = map(fs);
    if (!target) co_return target.error();
    co_return co_await destroy_snapshot_versions(runner_, std::move(*target), std::move(snapshots));
}

asio::awaitable<Result<void>> LocalReceiver::ensure_parents(const std::string& target) {
    // root_fs must exist: a receiver never creates pools or anything at or above its root.
    auto root = co_await zfs::get_placeholder_state(runner_, config_.root_fs);
    if (!root) co_return root.error();
    if (!root->exists) co_return Error(Errc::not_found, "root_fs " + config_.root_fs + " does not exist");
    // Every dataset from the client root down to the target's parent.
    std::vector<std::string> chain;
    for (std::string p = target.substr(0, target.rfind('/')); p.size() > config_.root_fs.size();
         p = p.substr(0, p.rfind('/')))
        chain.insert(chain.begin(), p);
    for (const auto& p : chain) {
        auto state = co_await zfs::get_placeholder_state(runner_, p);
        if (!state) co_return state.error();
        if (state->exists) continue;
        zfs::PlaceholderEncryption enc = zfs::PlaceholderEncryption::inherit;
        if (p != client_root_) {
            if (config_.placeholder_encryption == PlaceholderEncryptionPolicy::unspecified)
                co_return Error(
                    Errc::invalid_argument,
                    "receiving " + target + " needs the placeholder " + p +
                        ", but recv.placeholder.encryption is unspecified: set it to inherit or off");
            if (config_.placeholder_encryption == PlaceholderEncryptionPolicy::off)
                enc = zfs::PlaceholderEncryption::off;
        }
        if (auto r = co_await zfs::create_placeholder(runner_, p, enc);
            !r && r.error().code() != zfs::ZfsErrc::dataset_exists)
            co_return r.error();
        log_.info("created placeholder {}", p);
    }
    co_return Result<void>{};
}

asio::awaitable<Result<ReceiveSession>> LocalReceiver::receive(ReceiveRequest req) {
    auto target = map(req.filesystem);
    if (!target) co_return target.error();
    if (req.to.type != zfs::VersionType::snapshot)
        co_return Error(Errc::invalid_argument,
                        "receive target " + req.to.full_name() + " is not a snapshot");
    auto caps = co_await runner_.capabilities();
    if (!caps) co_return caps.error();
    // One `zfs get` says whether the target exists, is a placeholder and has a partial receive.
    std::vector<std::string> props;
    props.push_back(std::string(zfs::kPlaceholderProperty));
    if (caps->resumable_recv) props.push_back("receive_resume_token");
    bool exists = false, is_placeholder = false, has_token = false;
    auto got = co_await zfs::get_properties(runner_, *target, std::move(props));
    if (!got && got.error().code() != zfs::ZfsErrc::dataset_not_found) co_return got.error();
    if (got)
        for (const auto& d : *got) {
            if (d.name != *target) continue;
            exists = true;
            is_placeholder = zfs::is_placeholder(d);
            const auto* t = d.find("receive_resume_token");
            has_token = t && !t->value.empty() && t->value != "-";
        }
    // An existing target has its parents (ZFS has no orphans): only a new one needs them.
    if (!exists)
        if (auto p = co_await ensure_parents(*target); !p) co_return p.error();
    if (req.clear_resume_token && has_token) {
        if (auto r = co_await zfs::recv_abort(runner_, *target); !r) co_return r.error();
    }
    zfs::RecvOptions o = config_.options;
    o.unmounted = true;
    o.resumable = caps->resumable_recv;
    // Receiving into an existing placeholder (no snapshots of its own): a full stream needs -F.
    if (exists && is_placeholder && !req.incremental) o.force_rollback = true;
    auto stream = co_await zfs::start_recv(runner_, o, *target);
    if (!stream) co_return stream.error();
    ReceiveSession session{std::move(req), *target, std::move(*stream)};
    session.into_placeholder = exists && is_placeholder;
    co_return session;
}

asio::awaitable<Result<void>> LocalReceiver::finish_receive(ReceiveSession& s) {
    const Logger l = log_.with("filesystem", s.request.filesystem);
    if (auto r = co_await s.stream.finish(); !r) co_return r;
    // The snapshot that arrived must be the one asked for; a mismatch is kept for inspection.
    auto vs = co_await zfs::list_versions(runner_, s.target);
    if (!vs) co_return vs.error();
    const zfs::FilesystemVersion* got = nullptr;
    for (const auto& v : *vs)
        if (v.type == zfs::VersionType::snapshot && v.name == s.request.to.name) got = &v;
    if (!got || got->guid != s.request.to.guid)
        co_return Error(Errc::protocol_error,
                        "received " + s.target + "@" + s.request.to.name +
                            (got ? " has GUID " + std::to_string(got->guid) : " is missing") +
                            ", expected GUID " + std::to_string(s.request.to.guid) +
                            " (kept for inspection)");
    // A placeholder that now holds data is one no longer.
    if (s.into_placeholder)
        if (auto r = co_await zfs::set_placeholder(runner_, s.target, false); !r) co_return r;

    const auto kind = s.request.protection.for_step(s.request.incremental);
    // Hold tags are not listed (one `zfs holds` fewer per step): the older last-received holds
    // are released below by tag from every other held snapshot, and a release of a tag a
    // snapshot does not carry is success. Bookmarks still come from the listing.
    std::vector<std::string> unlisted;
    for (const auto& v : *vs)
        if (v.type == zfs::VersionType::snapshot) unlisted.push_back(v.full_name());
    auto existing = co_await abstractions_of_listing(runner_, *vs, config_.job, unlisted);
    if (!existing) co_return existing.error();
    auto to = *got;
    auto actions = receiver_post_recv(kind, config_.job, to, *existing);
    if (!actions) co_return actions.error();
    for (const auto& a : *actions) {
        if (const auto* h = std::get_if<Hold>(&a)) {
            if (auto r = co_await zfs::hold_all(runner_, h->snapshots, h->tag); !r) co_return r;
        } else if (const auto* rel = std::get_if<Release>(&a)) {
            if (auto r = co_await zfs::release(runner_, rel->tag, rel->snapshots); !r) co_return r;
        }
    }
    // The job's older last-received holds: released by tag from every other held snapshot
    // (also where zfs cannot list hold tags at all, zfs-fuse).
    if (kind != GuaranteeKind::nothing) {
        std::vector<std::string> held;
        for (const auto& v : *vs)
            if (v.type == zfs::VersionType::snapshot && v.name != to.name && v.userrefs.value_or(0) > 0)
                held.push_back(v.full_name());
        if (!held.empty())
            if (auto r = co_await zfs::release(runner_, last_received_hold_tag(config_.job), held); !r)
                co_return r;
    }
    l.info("received {}@{}", s.target, s.request.to.name);
    co_return Result<void>{};
}

}  // namespace zferry::replication
