// hold, holds, release: user holds on snapshots.
#include "tools/zfs-sim/commands.hpp"

#include "tools/zfs-sim/options.hpp"
#include "tools/zfs-sim/props.hpp"

#include <algorithm>
#include <cstdio>

namespace zfssim {
namespace {

// The snapshots an argument names: itself, with -r the same snapshot in every descendant.
std::vector<Dataset*> snapshot_targets(State& s, const std::string& arg, bool recursive) {
    auto at = arg.find('@');
    std::string fs = arg.substr(0, at), snap = arg.substr(at + 1);
    std::vector<Dataset*> out;
    if (Dataset* d = s.find(arg)) out.push_back(d);
    if (recursive)
        for (Dataset* ch : s.children_of(fs, true))
            if (Dataset* d = s.find(ch->name + "@" + snap)) out.push_back(d);
    return out;
}

int hold_release(Store& st, const Context& c, bool hold) {
    Options o = parse_options(c.args, "rt");
    if (o.operands.size() < 2)
        throw UsageError(o.operands.empty() ? "missing tag name" : "missing snapshot name");
    const std::string& tag = o.operands[0];
    Store::Guard guard(st);
    std::vector<std::string> roots;
    // Without -r only the named snapshots (and their filesystems) are touched: the
    // filesystems' other snapshots need not be parsed.
    for (std::size_t i = 1; i < o.operands.size(); ++i)
        roots.push_back(o.has('r') ? o.operands[i].substr(0, o.operands[i].find('@')) : o.operands[i]);
    State s = st.load_for_update(roots);
    int rc = 0;
    bool changed = false;
    std::uint64_t now = now_seconds();
    for (std::size_t i = 1; i < o.operands.size(); ++i) {
        const std::string& arg = o.operands[i];
        auto at = arg.find('@');
        if (at == std::string::npos) {
            std::fprintf(stderr, "'%s' is not a snapshot\n", arg.c_str());
            rc = 1;
            continue;
        }
        std::string fs = arg.substr(0, at), snap = arg.substr(at + 1);
        Dataset* fsd = s.find(fs);
        if (fsd == nullptr || (fsd->kind != Kind::filesystem && fsd->kind != Kind::volume)) {
            std::fprintf(stderr, "cannot open '%s': dataset does not exist\n", fs.c_str());
            rc = 1;
            continue;
        }
        auto targets = snapshot_targets(s, arg, o.has('r'));
        if (targets.empty()) {
            if (hold)
                std::fprintf(stderr, "cannot hold snapshot '%s': dataset does not exist\n", arg.c_str());
            else
                std::fprintf(stderr, "cannot release hold from snapshot '%s': dataset does not exist\n",
                             arg.c_str());
            rc = 1;
            continue;
        }
        if (tag.size() > 255) {
            std::fprintf(stderr, "cannot %s '%s': tag too long\n", hold ? "hold" : "release", arg.c_str());
            rc = 1;
            continue;
        }
        // Like lzc_hold/lzc_release: the whole set succeeds or the errors are reported.
        bool failed = false;
        for (Dataset* d : targets) {
            bool has = d->holds.count(tag) != 0;
            if (hold && has) {
                std::fprintf(stderr, "cannot hold '%s': tag already exists on this dataset\n",
                             d->name.c_str());
                failed = true;
            } else if (!hold && !has) {
                std::fprintf(stderr, "cannot release '%s' from '%s': no such tag on this dataset\n",
                             tag.c_str(), d->name.c_str());
                failed = true;
            }
        }
        if (failed) {
            rc = 1;
            continue;
        }
        std::vector<std::string> deferred;
        for (Dataset* d : targets) {
            if (hold) {
                d->holds[tag] = now;
            } else {
                d->holds.erase(tag);
                if (d->holds.empty() && d->local.count(".defer_destroy")) deferred.push_back(d->name);
            }
        }
        for (auto& n : deferred) s.erase(n);
        changed = true;
    }
    if (changed) st.save(s);
    return rc;
}

}  // namespace

int cmd_hold(Store& st, const Context& c) { return hold_release(st, c, true); }
int cmd_release(Store& st, const Context& c) { return hold_release(st, c, false); }

int cmd_holds(Store& st, const Context& c) {
    Options o = parse_options(c.args, "rHp");
    if (o.operands.empty()) throw UsageError("missing snapshot argument");
    st.lock();
    std::vector<std::string> roots;
    for (auto& a : o.operands) roots.push_back(a.substr(0, a.find('@')));
    State s = st.load_subset(roots);
    st.unlock();
    int rc = 0;
    struct Row {
        std::string name, tag, time;
    };
    std::vector<Row> rows;
    for (auto& arg : o.operands) {
        Dataset* d = s.find(arg);
        if (d == nullptr || d->kind != Kind::snapshot) {
            if (arg.find('@') == std::string::npos && d != nullptr)
                std::fprintf(stderr, "'%s' is not a snapshot\n", arg.c_str());
            else
                std::fprintf(stderr, "cannot open '%s': dataset does not exist\n", arg.c_str());
            rc = 1;
            continue;
        }
        for (Dataset* t : snapshot_targets(s, arg, o.has('r')))
            for (auto& [tag, when] : t->holds)
                rows.push_back({t->name, tag, o.has('p') ? std::to_string(when) : format_date(when)});
    }
    std::string out;
    if (o.has('H')) {
        for (auto& r : rows) out += r.name + "\t" + r.tag + "\t" + r.time + "\n";
    } else if (!rows.empty()) {
        std::size_t wn = 4, wt = 3;
        for (auto& r : rows) {
            wn = std::max(wn, r.name.size());
            wt = std::max(wt, r.tag.size());
        }
        auto pad = [](std::string s, std::size_t w) {
            s.resize(std::max(w, s.size()), ' ');
            return s;
        };
        out += pad("NAME", wn) + "  " + pad("TAG", wt) + "  TIMESTAMP\n";
        for (auto& r : rows) out += pad(r.name, wn) + "  " + pad(r.tag, wt) + "  " + r.time + "\n";
    }
    write_all(1, out);
    return rc;
}

}  // namespace zfssim
