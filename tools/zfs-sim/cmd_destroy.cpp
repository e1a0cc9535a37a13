// destroy: filesystems (-r), snapshot lists and ranges (fs@a,b%c), bookmarks, -d/-n/-v/-p.
#include "tools/zfs-sim/commands.hpp"

#include "tools/zfs-sim/options.hpp"
#include "tools/zfs-sim/props.hpp"

#include <algorithm>
#include <set>

namespace zfssim {
namespace {

// The snapshots of `fs` a comma list of names and ranges selects (missing ones skipped,
// as zfs_iter_snapspec does).
void gather(State& s, const std::string& fs, const std::string& spec, std::set<std::string>& out) {
    std::vector<Dataset*> snaps = s.versions_of(fs, true, false);
    for (auto& item : split_commas(spec)) {
        auto pct = item.find('%');
        if (pct == std::string::npos) {
            if (s.find(fs + "@" + item)) out.insert(fs + "@" + item);
            continue;
        }
        std::string a = item.substr(0, pct), b = item.substr(pct + 1);
        Dataset* da = a.empty() ? nullptr : s.find(fs + "@" + a);
        Dataset* db = b.empty() ? nullptr : s.find(fs + "@" + b);
        if ((!a.empty() && da == nullptr) || (!b.empty() && db == nullptr)) continue;
        std::uint64_t lo = da ? da->createtxg : 0, hi = db ? db->createtxg : UINT64_MAX;
        for (Dataset* d : snaps)
            if (d->createtxg >= lo && d->createtxg <= hi) out.insert(d->name);
    }
}

std::uint64_t reclaim_of(State& s, const std::vector<std::string>& names) {
    std::uint64_t n = 0;
    for (auto& x : names)
        if (Dataset* d = s.find(x); d && d->kind != Kind::bookmark && d->kind != Kind::snapshot) n += d->size;
    return n;
}

void print_plan(const Options& o, State& s, const std::vector<std::string>& names) {
    bool dry = o.has('n');
    if (!o.has('v') && !o.has('p')) return;
    std::string out;
    for (auto& n : names)
        out += o.has('p') ? "destroy\t" + n + "\n"
                          : std::string(dry ? "would" : "will") + " destroy " + n + "\n";
    std::uint64_t r = reclaim_of(s, names);
    out += o.has('p') ? "reclaim\t" + std::to_string(r) + "\n"
                      : std::string(dry ? "would" : "will") + " reclaim " + nicenum(r) + "\n";
    write_all(1, out);
}

}  // namespace

int cmd_destroy(Store& st, const Context& c) {
    Options o = parse_options(c.args, "dfnpRrv");
    if (o.operands.empty()) throw UsageError("missing dataset argument");
    if (o.operands.size() > 1) throw UsageError("too many arguments");
    const std::string arg = o.operands[0];
    bool recursive = o.has('r') || o.has('R');
    Store::Guard guard(st);
    // Bookmarks: only the named ones (and their filesystem) are touched.
    std::vector<std::string> roots;
    if (auto hash = arg.find('#'); hash != std::string::npos && !recursive)
        for (auto& b : split_commas(arg.substr(hash + 1))) roots.push_back(arg.substr(0, hash) + "#" + b);
    else
        roots.push_back(arg.substr(0, arg.find_first_of("@#")));
    State s = st.load_for_update(roots);

    if (auto hash = arg.find('#'); hash != std::string::npos) {
        std::string fs = arg.substr(0, hash);
        std::vector<std::string> names;
        for (auto& b : split_commas(arg.substr(hash + 1))) {
            std::string n = fs + "#" + b;
            Dataset* d = s.find(n);
            if (d == nullptr || d->kind != Kind::bookmark)
                throw SimError("bookmark '" + n + "' does not exist.\n");
            names.push_back(n);
        }
        if (o.has('n')) return 0;
        for (auto& n : names) s.erase(n);
        st.save(s);
        return 0;
    }

    if (auto at = arg.find('@'); at != std::string::npos) {
        std::string fs = arg.substr(0, at), spec = arg.substr(at + 1);
        open_filesystem(s, fs);
        std::set<std::string> found;
        gather(s, fs, spec, found);
        if (recursive)
            for (Dataset* ch : s.children_of(fs, true)) gather(s, ch->name, spec, found);
        if (found.empty()) throw SimError("could not find any snapshots to destroy; check snapshot names.\n");
        std::vector<std::string> names(found.begin(), found.end());
        std::vector<std::string> held, free;
        for (auto& n : names) (s.find(n)->holds.empty() ? free : held).push_back(n);
        print_plan(o, s, names);
        if (o.has('n')) return 0;
        if (!held.empty() && !o.has('d')) {
            // lzc_destroy_snaps is atomic: nothing is destroyed when one snapshot is held.
            std::string msg;
            for (auto& n : held) msg += "cannot destroy snapshot " + n + ": dataset is busy\n";
            throw SimError(msg);
        }
        for (auto& n : held) s.find(n)->local[".defer_destroy"] = "on";
        for (auto& n : free) s.erase(n);
        s.next_txg();
        st.save(s);
        return 0;
    }

    Dataset& d = open_filesystem(s, arg);
    if (arg.find('/') == std::string::npos && !recursive)
        throw SimError("cannot destroy '" + arg +
                       "': operation does not apply to pools\nuse 'zfs destroy -r " + arg +
                       "' to destroy all datasets in the pool\nuse 'zpool destroy " + arg +
                       "' to destroy the pool itself\n");
    std::vector<std::string> doomed;
    std::vector<Dataset*> fss = s.children_of(d.name, true);
    std::vector<std::string> blockers;
    for (Dataset* ch : s.children_of(d.name, false)) blockers.push_back(ch->name);
    for (Dataset* v : s.versions_of(d.name, true, false)) blockers.push_back(v->name);
    if (!blockers.empty() && !recursive) {
        std::string msg = "cannot destroy '" + arg +
                          "': filesystem has children\nuse '-r' to destroy the following datasets:\n";
        for (auto& b : blockers) msg += b + "\n";
        throw SimError(msg);
    }
    // Children first (deepest first), then the filesystem itself, as `zfs destroy -r` prints.
    std::reverse(fss.begin(), fss.end());
    fss.push_back(&d);
    std::string busy;
    for (Dataset* f : fss) {
        for (Dataset* v : s.versions_of(f->name, true, true)) {
            if (v->kind == Kind::snapshot && !v->holds.empty())
                busy += "cannot destroy snapshot " + v->name + ": dataset is busy\n";
            doomed.push_back(v->name);
        }
        doomed.push_back(f->name);
    }
    if (arg.find('/') == std::string::npos) doomed.pop_back();  // -r on a pool keeps the pool
    print_plan(o, s, doomed);
    if (o.has('n')) return 0;
    if (!busy.empty()) throw SimError(busy);
    for (auto& n : doomed) s.erase(n);
    s.gc_needed = true;
    s.next_txg();
    st.save(s);
    return 0;
}

}  // namespace zfssim
