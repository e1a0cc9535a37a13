#include "replication/logic/guarantees.hpp"

#include "core/overloaded.hpp"

#include <algorithm>
#include <map>

namespace zferry::replication {

std::string_view to_string(GuaranteeKind k) noexcept {
    switch (k) {
        case GuaranteeKind::resumability: return "guarantee_resumability";
        case GuaranteeKind::incremental: return "guarantee_incremental";
        case GuaranteeKind::nothing: return "guarantee_nothing";
    }
    return "?";
}

std::optional<GuaranteeKind> parse_guarantee_kind(std::string_view s) noexcept {
    for (auto k : {GuaranteeKind::resumability, GuaranteeKind::incremental, GuaranteeKind::nothing})
        if (s == to_string(k)) return k;
    return std::nullopt;
}

namespace {

void print_list(std::ostream& os, const std::vector<std::string>& v) {
    for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
}

bool is_snapshot(const zfs::FilesystemVersion& v) { return v.type == zfs::VersionType::snapshot; }

Result<void> require_snapshot(const zfs::FilesystemVersion& to) {
    if (!is_snapshot(to))
        return Error(Errc::invalid_argument,
                     "replication step target " + to.full_name() + " is not a snapshot");
    return {};
}

// The snapshot a bookmark is made from, as a full name.
std::string full(const zfs::FilesystemVersion& v) { return v.full_name(); }

// Groups hold/release by tag, in first-seen order.
void add_to(std::vector<AbstractionAction>& out, bool hold, const std::string& tag,
            const std::string& snapshot) {
    for (auto& a : out) {
        if (hold) {
            if (auto* h = std::get_if<Hold>(&a); h && h->tag == tag) return h->snapshots.push_back(snapshot);
        } else if (auto* r = std::get_if<Release>(&a); r && r->tag == tag) {
            return r->snapshots.push_back(snapshot);
        }
    }
    if (hold)
        out.push_back(Hold{tag, {snapshot}});
    else
        out.push_back(Release{tag, {snapshot}});
}

void add_destroy(std::vector<AbstractionAction>& out, const std::string& bookmark) {
    for (auto& a : out)
        if (auto* d = std::get_if<DestroyBookmarks>(&a)) return d->bookmarks.push_back(bookmark);
    out.push_back(DestroyBookmarks{{bookmark}});
}

// The action that removes an abstraction.
void remove(std::vector<AbstractionAction>& out, const Abstraction& a) {
    if (a.type == AbstractionType::step_hold || a.type == AbstractionType::last_received_hold)
        add_to(out, false, a.tag, full(a.version));
    else
        add_destroy(out, full(a.version));
}

bool same(const zfs::FilesystemVersion& a, const zfs::FilesystemVersion& b) {
    return a.type == b.type && a.filesystem == b.filesystem && a.name == b.name;
}

// Refuses a cleanup that would remove the step's own `from` or `to` (zrepl panics there).
Result<void> check_spares(const std::vector<AbstractionAction>& actions,
                          const std::optional<zfs::FilesystemVersion>& from, const zfs::FilesystemVersion& to,
                          bool holds_on_to_allowed) {
    std::vector<std::string> guarded;
    if (from) guarded.push_back(full(*from));
    if (!holds_on_to_allowed) guarded.push_back(full(to));
    for (const auto& a : actions) {
        const std::vector<std::string>* names = nullptr;
        if (const auto* r = std::get_if<Release>(&a)) names = &r->snapshots;
        if (const auto* d = std::get_if<DestroyBookmarks>(&a)) names = &d->bookmarks;
        if (!names) continue;
        for (const auto& n : *names)
            if (std::find(guarded.begin(), guarded.end(), n) != guarded.end())
                return Error(Errc::internal, "stale-abstraction cleanup would remove " + n +
                                                 ", which the current step uses; refusing (this is a bug)");
    }
    return {};
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const AbstractionAction& a) {
    std::visit(
        Overloaded{[&](const Hold& h) {
                       os << "hold " << h.tag << " on ";
                       print_list(os, h.snapshots);
                   },
                   [&](const Release& r) {
                       os << "release " << r.tag << " from ";
                       print_list(os, r.snapshots);
                   },
                   [&](const CreateBookmark& c) { os << "bookmark " << c.snapshot << " as " << c.bookmark; },
                   [&](const DestroyBookmarks& d) {
                       os << "destroy ";
                       print_list(os, d.bookmarks);
                   }},
        a);
    return os;
}

Result<std::vector<AbstractionAction>> sender_pre_send(GuaranteeKind kind, const JobId& job,
                                                       const std::optional<zfs::FilesystemVersion>& from,
                                                       const zfs::FilesystemVersion& to) {
    if (auto r = require_snapshot(to); !r) return r.error();
    std::vector<AbstractionAction> out;
    switch (kind) {
        case GuaranteeKind::resumability: {
            Hold h{step_hold_tag(job), {}};
            if (from && is_snapshot(*from)) h.snapshots.push_back(full(*from));
            h.snapshots.push_back(full(to));
            out.push_back(std::move(h));
            break;
        }
        case GuaranteeKind::incremental: {
            // A bookmark `from` cannot be bookmarked again (ZFS has no bookmark cloning); it
            // stays as it is, which keeps the incremental possible by itself.
            for (const auto* v : {from ? &*from : nullptr, &to}) {
                if (!v || !is_snapshot(*v)) continue;
                auto name = tentative_replication_cursor_bookmark_name(v->filesystem, v->guid, job);
                if (!name) return name.error();
                out.push_back(CreateBookmark{full(*v), v->filesystem + "#" + *name});
            }
            break;
        }
        case GuaranteeKind::nothing: break;
    }
    return out;
}

Result<std::vector<AbstractionAction>> sender_stale_after_send(
    GuaranteeKind kind, const JobId& job, const std::optional<zfs::FilesystemVersion>& from,
    const zfs::FilesystemVersion& to, const std::vector<Abstraction>& existing) {
    if (auto r = require_snapshot(to); !r) return r.error();
    auto created = sender_pre_send(kind, job, from, to);
    if (!created) return created.error();
    // What this step relies on: its own new abstractions, and `from` when it is one.
    auto made_by_step = [&](const Abstraction& a) {
        if (from && same(a.version, *from) && a.type != AbstractionType::step_hold) return true;
        for (const auto& c : *created) {
            if (const auto* h = std::get_if<Hold>(&c)) {
                if (a.type == AbstractionType::step_hold && a.tag == h->tag &&
                    std::find(h->snapshots.begin(), h->snapshots.end(), full(a.version)) !=
                        h->snapshots.end())
                    return true;
            } else if (const auto* b = std::get_if<CreateBookmark>(&c)) {
                if (a.type == AbstractionType::tentative_replication_cursor_bookmark_v2 &&
                    full(a.version) == b->bookmark)
                    return true;
            }
        }
        return false;
    };
    std::vector<AbstractionAction> out;
    const std::string tag = step_hold_tag(job);
    for (const auto& a : existing) {
        const bool step_kind = (a.type == AbstractionType::step_hold && a.tag == tag) ||
                               a.type == AbstractionType::tentative_replication_cursor_bookmark_v2;
        if (step_kind && !made_by_step(a)) remove(out, a);
    }
    // Holds on `from`/`to` of this job's tag are the step's; never release them here.
    if (auto c = check_spares(out, from, to, false); !c) return c.error();
    return out;
}

Result<std::vector<AbstractionAction>> sender_send_completed(GuaranteeKind kind, const JobId& job,
                                                             const zfs::FilesystemVersion& to,
                                                             const std::vector<Abstraction>& existing) {
    if (auto r = require_snapshot(to); !r) return r.error();
    std::vector<AbstractionAction> out;
    std::string cursor;
    if (kind != GuaranteeKind::nothing) {
        auto name = replication_cursor_bookmark_name(to.filesystem, to.guid, job);
        if (!name) return name.error();
        cursor = to.filesystem + "#" + *name;
        const bool exists = std::any_of(existing.begin(), existing.end(), [&](const Abstraction& a) {
            return a.type == AbstractionType::replication_cursor_bookmark_v2 && full(a.version) == cursor;
        });
        if (!exists) out.push_back(CreateBookmark{full(to), cursor});
    }
    for (const auto& a : existing) {
        switch (a.type) {
            case AbstractionType::step_hold:
                if (a.tag == step_hold_tag(job)) remove(out, a);
                break;
            case AbstractionType::tentative_replication_cursor_bookmark_v2: remove(out, a); break;
            case AbstractionType::replication_cursor_bookmark_v2:
                // Older cursors go; one at or after `to` (by createtxg) is not this step's to judge.
                if (kind != GuaranteeKind::nothing && full(a.version) != cursor &&
                    a.version.createtxg <= to.createtxg)
                    remove(out, a);
                break;
            default: break;
        }
    }
    return out;
}

Result<std::vector<AbstractionAction>> receiver_post_recv(GuaranteeKind kind, const JobId& job,
                                                          const zfs::FilesystemVersion& to,
                                                          const std::vector<Abstraction>& existing) {
    if (auto r = require_snapshot(to); !r) return r.error();
    std::vector<AbstractionAction> out;
    if (kind == GuaranteeKind::nothing) return out;
    const std::string tag = last_received_hold_tag(job);
    const bool held = std::any_of(existing.begin(), existing.end(), [&](const Abstraction& a) {
        return a.type == AbstractionType::last_received_hold && a.tag == tag && same(a.version, to);
    });
    if (!held) out.push_back(Hold{tag, {full(to)}});
    for (const auto& a : existing)
        if (a.type == AbstractionType::last_received_hold && a.tag == tag && !same(a.version, to))
            remove(out, a);
    if (auto c = check_spares(out, std::nullopt, to, false); !c) return c.error();
    return out;
}

std::vector<Abstraction> stale_abstractions(const std::vector<Abstraction>& all) {
    std::vector<Abstraction> stale;
    auto newest_of = [&](AbstractionType t) -> const Abstraction* {
        const Abstraction* best = nullptr;
        for (const auto& a : all)
            if (a.type == t && (!best || a.version.createtxg > best->version.createtxg)) best = &a;
        return best;
    };
    const Abstraction* cursor = newest_of(AbstractionType::replication_cursor_bookmark_v2);
    const Abstraction* newest_step = newest_of(AbstractionType::step_hold);
    const Abstraction* newest_received = newest_of(AbstractionType::last_received_hold);
    for (const auto& a : all) {
        switch (a.type) {
            case AbstractionType::step_hold:
                if (cursor ? a.version.createtxg <= cursor->version.createtxg : &a != newest_step)
                    stale.push_back(a);
                break;
            case AbstractionType::replication_cursor_bookmark_v2:
                if (&a != cursor) stale.push_back(a);
                break;
            case AbstractionType::last_received_hold:
                if (&a != newest_received) stale.push_back(a);
                break;
            case AbstractionType::tentative_replication_cursor_bookmark_v2:
            case AbstractionType::replication_cursor_bookmark_v1: break;
        }
    }
    return stale;
}

}  // namespace zferry::replication
