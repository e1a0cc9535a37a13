#include "replication/endpoint/abstractions.hpp"

#include "zfs/bookmark_ops.hpp"
#include "zfs/hold_ops.hpp"
#include "zfs/listing_ops.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace zferry::replication {

namespace asio = boost::asio;

std::string ListedAbstraction::describe() const {
    std::ostringstream os;
    os << abstraction.type << ": " << full_path();
    if (!abstraction.tag.empty())
        os << " (tag " << abstraction.tag << ", createtxg " << abstraction.version.createtxg << ")";
    else
        os << " (createtxg " << abstraction.version.createtxg << ")";
    return os.str();
}

namespace {
// zrepl's pdu formats Creation with RFC 3339 at second precision, in UTC.
std::string rfc3339(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
}  // namespace

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const ListedAbstraction& a) {
    const auto& v = a.abstraction.version;
    jv = {{"Type", std::string(to_string(a.abstraction.type))},
          {"FS", a.filesystem},
          {"Name", a.abstraction.tag.empty() ? v.name : a.abstraction.tag},
          {"FullPath", a.full_path()},
          {"JobID", a.job ? a.job->str() : std::string()},
          {"CreateTXG", v.createtxg},
          {"FilesystemVersion",
           {{"Type", v.type == zfs::VersionType::snapshot ? "snapshot" : "bookmark"},
            {"Name", v.name},
            {"Guid", v.guid},
            {"CreateTXG", v.createtxg},
            {"Creation", rfc3339(v.creation)}}},
          {"String", a.describe()}};
}

namespace {

bool wanted_type(const AbstractionQuery& q, AbstractionType t) {
    return q.types.empty() || std::find(q.types.begin(), q.types.end(), t) != q.types.end();
}
bool wanted(const AbstractionQuery& q, const ListedAbstraction& a) {
    if (!wanted_type(q, a.abstraction.type)) return false;
    if (q.job && (!a.job || *a.job != *q.job)) return false;
    return q.createtxg.unbounded() || q.createtxg.contains(a.abstraction.version.createtxg);
}

// A bookmark that is one of ours, or nothing.
std::optional<ListedAbstraction> classify_bookmark(const zfs::FilesystemVersion& v,
                                                   std::vector<std::string>& ignored) {
    const std::string full = v.full_name();
    if (auto c = parse_replication_cursor_bookmark_name(full)) {
        if (std::holds_alternative<ReplicationCursorV1>(*c))
            return ListedAbstraction{
                v.filesystem, {AbstractionType::replication_cursor_bookmark_v1, v, ""}, std::nullopt};
        const auto& jg = std::get<JobAndGuid>(*c);
        if (jg.guid != v.guid) {
            ignored.push_back(full + ": named for GUID " + std::to_string(jg.guid) + " but is " +
                              std::to_string(v.guid) + " (possibly tinkered with; ignored)");
            return std::nullopt;
        }
        return ListedAbstraction{
            v.filesystem, {AbstractionType::replication_cursor_bookmark_v2, v, ""}, jg.job};
    }
    if (auto t = parse_tentative_replication_cursor_bookmark_name(full)) {
        if (t->guid != v.guid) {
            ignored.push_back(full + ": named for another GUID (possibly tinkered with; ignored)");
            return std::nullopt;
        }
        return ListedAbstraction{
            v.filesystem, {AbstractionType::tentative_replication_cursor_bookmark_v2, v, ""}, t->job};
    }
    return std::nullopt;
}

std::optional<ListedAbstraction> classify_hold(const zfs::FilesystemVersion& snap, const std::string& tag) {
    if (auto j = parse_step_hold_tag(tag))
        return ListedAbstraction{snap.filesystem, {AbstractionType::step_hold, snap, tag}, *j};
    if (auto j = parse_last_received_hold_tag(tag))
        return ListedAbstraction{snap.filesystem, {AbstractionType::last_received_hold, snap, tag}, *j};
    return std::nullopt;
}

}  // namespace

namespace {

// Classifies a listing into `out`: bookmarks by their names, held snapshots by their hold tags
// (one `zfs holds` for all of them); only what `keep` accepts is added.
asio::awaitable<Result<void>> classify(zfs::ZfsRunner& runner,
                                       const std::vector<zfs::FilesystemVersion>& versions,
                                       const std::function<bool(const ListedAbstraction&)>& keep,
                                       AbstractionListing& out) {
    std::vector<const zfs::FilesystemVersion*> held;
    for (const auto& v : versions) {
        if (v.type == zfs::VersionType::bookmark) {
            if (auto a = classify_bookmark(v, out.ignored); a && keep(*a)) out.found.push_back(std::move(*a));
        } else if (v.userrefs.value_or(0) > 0) {
            held.push_back(&v);
        }
    }
    if (held.empty()) co_return Result<void>{};
    std::vector<std::string> names;
    for (const auto* v : held) names.push_back(v->full_name());
    auto holds = co_await zfs::list_holds(runner, names);
    if (!holds) co_return holds.error();
    for (std::size_t i = 0; i < held.size() && i < holds->size(); ++i) {
        const auto& h = (*holds)[i];
        if (!h.tags_known) {
            out.holds_unknown.push_back(h.snapshot);
            continue;
        }
        for (const auto& tag : h.tags)
            if (auto a = classify_hold(*held[i], tag); a && keep(*a)) out.found.push_back(std::move(*a));
    }
    co_return Result<void>{};
}

}  // namespace

asio::awaitable<Result<AbstractionListing>> list_abstractions(zfs::ZfsRunner& runner,
                                                              const AbstractionQuery& query) {
    if (!query.createtxg.unbounded())
        if (auto v = query.createtxg.validate(); !v) co_return v.error();
    AbstractionListing out;
    auto fss = co_await zfs::list_filesystems(runner, "");
    if (!fss) co_return fss.error();
    std::set<std::string> selected, pools;
    for (const auto& e : *fss) {
        if (query.filesystems) {
            auto p = query.filesystems->passes(e.name);
            if (!p || !*p) continue;
        }
        selected.insert(e.name);
        pools.insert(e.name.substr(0, e.name.find('/')));
    }
    const bool want_holds = wanted_type(query, AbstractionType::step_hold) ||
                            wanted_type(query, AbstractionType::last_received_hold);
    std::vector<zfs::FilesystemVersion> versions;
    for (const auto& pool : pools) {
        auto vs = co_await zfs::list_versions(
            runner, pool, {.recursive = true, .snapshots = want_holds, .bookmarks = true});
        if (!vs) co_return vs.error();
        for (auto& v : *vs)
            if (selected.count(v.filesystem)) versions.push_back(std::move(v));
    }
    if (auto r = co_await classify(
            runner, versions, [&](const ListedAbstraction& a) { return wanted(query, a); }, out);
        !r)
        co_return r.error();
    std::stable_sort(out.found.begin(), out.found.end(),
                     [](const ListedAbstraction& a, const ListedAbstraction& b) {
                         return std::tie(a.filesystem, a.abstraction.version.createtxg) <
                                std::tie(b.filesystem, b.abstraction.version.createtxg);
                     });
    co_return out;
}

asio::awaitable<Result<std::vector<Abstraction>>> list_abstractions_of(zfs::ZfsRunner& runner,
                                                                       const std::string& filesystem,
                                                                       const JobId& job) {
    auto vs = co_await zfs::list_versions(runner, filesystem);
    if (!vs) co_return vs.error();
    const std::vector<std::string> none;
    co_return co_await abstractions_of_listing(runner, *vs, job, none);
}

asio::awaitable<Result<std::vector<Abstraction>>> abstractions_of_listing(
    zfs::ZfsRunner& runner, const std::vector<zfs::FilesystemVersion>& versions, const JobId& job,
    const std::vector<std::string>& skip_holds_of) {
    std::vector<zfs::FilesystemVersion> vs;
    vs.reserve(versions.size());
    for (const auto& v : versions) {
        vs.push_back(v);
        if (v.type == zfs::VersionType::snapshot &&
            std::find(skip_holds_of.begin(), skip_holds_of.end(), v.full_name()) != skip_holds_of.end())
            vs.back().userrefs = 0;  // not asked about
    }
    AbstractionListing listing;
    if (auto r = co_await classify(
            runner, vs, [&](const ListedAbstraction& a) { return a.job == job; }, listing);
        !r)
        co_return r.error();
    std::vector<Abstraction> out;
    for (auto& a : listing.found) out.push_back(std::move(a.abstraction));
    co_return out;
}

std::vector<ListedAbstraction> stale_of(const std::vector<ListedAbstraction>& listed) {
    std::map<std::pair<std::string, std::string>, std::vector<const ListedAbstraction*>> groups;
    for (const auto& a : listed)
        if (a.job) groups[{a.filesystem, a.job->str()}].push_back(&a);
    std::vector<ListedAbstraction> out;
    for (const auto& [key, members] : groups) {
        std::vector<Abstraction> abs;
        for (const auto* m : members) abs.push_back(m->abstraction);
        for (const auto& s : stale_abstractions(abs))
            for (const auto* m : members)
                if (m->abstraction == s) {
                    out.push_back(*m);
                    break;
                }
    }
    return out;
}

asio::awaitable<Result<std::vector<AbstractionAction>>> release_abstractions(
    zfs::ZfsRunner& runner, const std::vector<ListedAbstraction>& what, bool dry_run) {
    std::vector<AbstractionAction> actions;
    std::map<std::string, std::vector<std::string>> releases;  // tag -> snapshots
    std::vector<std::string> bookmarks;
    for (const auto& a : what) {
        if (a.abstraction.type == AbstractionType::step_hold ||
            a.abstraction.type == AbstractionType::last_received_hold)
            releases[a.abstraction.tag].push_back(a.full_path());
        else
            bookmarks.push_back(a.full_path());
    }
    for (auto& [tag, snaps] : releases) actions.push_back(Release{tag, snaps});
    if (!bookmarks.empty()) actions.push_back(DestroyBookmarks{bookmarks});
    if (dry_run) co_return actions;
    for (auto& [tag, snaps] : releases) {
        auto r = co_await zfs::release(runner, tag, snaps);
        if (!r) co_return r.error();
    }
    for (const auto& b : bookmarks) {
        auto r = co_await zfs::destroy_bookmark(runner, b);
        if (!r) co_return r.error();
    }
    co_return actions;
}

std::vector<V1CursorMigration> plan_v1_cursor_migration(const std::vector<ListedAbstraction>& listed,
                                                        const JobId& job) {
    std::map<std::string, std::vector<const ListedAbstraction*>> v1, v2;
    for (const auto& a : listed) {
        if (a.abstraction.type == AbstractionType::replication_cursor_bookmark_v1)
            v1[a.filesystem].push_back(&a);
        if (a.abstraction.type == AbstractionType::replication_cursor_bookmark_v2 && a.job == job)
            v2[a.filesystem].push_back(&a);
    }
    std::vector<V1CursorMigration> out;
    for (const auto& [fs, olds] : v1) {
        V1CursorMigration m{fs, olds.front()->full_path(), false, ""};
        const auto& news = v2[fs];
        const ListedAbstraction* newest = nullptr;
        for (const auto* n : news)
            if (!newest || n->abstraction.version.createtxg > newest->abstraction.version.createtxg)
                newest = n;
        if (olds.size() > 1) {
            m.reason = "more than one v1 replication cursor candidate; inspect by hand";
        } else if (!newest) {
            m.reason = "no v2 replication cursor of job " + job.str() +
                       " yet; replicate once with zferry, then migrate";
        } else if (newest->abstraction.version.createtxg < olds.front()->abstraction.version.createtxg) {
            m.reason = "the newest v2 cursor of job " + job.str() + " (" + newest->full_path() +
                       ") is older than the v1 cursor; replicate once more, then migrate";
        } else {
            m.destroy = true;
            m.reason = "v2 cursor " + newest->full_path() + " is at the same or a newer snapshot";
        }
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace zferry::replication
