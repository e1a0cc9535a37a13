// create, set, inherit, snapshot, bookmark, rollback and the sim-* data helpers.
#include "tools/zfs-sim/commands.hpp"

#include "tools/zfs-sim/options.hpp"
#include "tools/zfs-sim/props.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

namespace zfssim {
namespace {

std::pair<std::string, std::string> split_kv(const std::string& kv, const std::string& what) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError("missing '=' for " + what + " argument");
    return {kv.substr(0, eq), kv.substr(eq + 1)};
}

// Locks the store and guarantees unlock + save on scope exit paths that commit.
struct Locked {
    Store& st;
    Store::Guard guard;
    State s;
    Locked(Store& store, const std::vector<std::string>& roots)
        : st(store), guard(store), s(store.load_for_update(roots)) {}
    void commit() { st.save(s); }
};

// The filesystems named by "fs@snap" arguments.
std::vector<std::string> snapshot_roots(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (auto& a : args) out.push_back(a.substr(0, a.find('@')));
    return out;
}

std::string read_all_fd(int fd) {
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

int cmd_sim_create_pool(Store& st, const Context& c) {
    if (c.args.size() != 1) throw SimError("usage: zfs-sim sim-create-pool NAME\n", 2);
    const std::string& name = c.args[0];
    if (name.find('/') != std::string::npos || !name_problem(name, Kind::filesystem).empty())
        throw SimError("cannot create '" + name + "': invalid pool name\n");
    Locked l(st, {name});
    if (l.s.exists(name)) throw SimError("cannot create '" + name + "': pool already exists\n");
    l.s.datasets[name] = make_dataset(l.s, name, Kind::filesystem, l.s.next_txg());
    l.commit();
    return 0;
}

int cmd_sim_set_pool_size(Store& st, const Context& c) {
    if (c.args.size() != 2) throw SimError("usage: zfs-sim sim-set-pool-size POOL BYTES|none\n", 2);
    const std::string& pool = c.args[0];
    const std::string& bytes = c.args[1];
    if (bytes != "none" && (bytes.empty() || bytes.find_first_not_of("0123456789") != std::string::npos))
        throw SimError("zfs-sim: pool size must be a number of bytes or 'none', not '" + bytes + "'\n", 2);
    if (pool.find('/') != std::string::npos) throw SimError("cannot open '" + pool + "': not a pool\n");
    Locked l(st, {pool});
    Dataset& d = open_filesystem(l.s, pool);
    if (bytes == "none")
        d.local.erase(".capacity");
    else
        d.local[".capacity"] = bytes;
    l.commit();
    return 0;
}

int cmd_sim_write(Store& st, const Context& c) {
    if (c.args.empty() || c.args.size() > 2) throw SimError("usage: zfs-sim sim-write FS [FILE|-]\n", 2);
    std::string data;
    if (c.args.size() == 2 && c.args[1] != "-") {
        std::ifstream f(c.args[1], std::ios::binary);
        if (!f) throw SimError("zfs-sim: cannot read " + c.args[1] + "\n");
        data.assign(std::istreambuf_iterator<char>(f), {});
    } else {
        data = read_all_fd(0);
    }
    std::string blob = st.write_blob(data);
    Locked l(st, {c.args[0]});
    Dataset& d = open_filesystem(l.s, c.args[0]);
    if (d.local.count(".keystatus") && d.local[".keystatus"] == "unavailable")
        throw SimError("zfs-sim: cannot write '" + d.name + "': encryption key not loaded\n");
    d.blob = blob;
    d.size = data.size();
    l.s.gc_needed = true;
    l.commit();
    return 0;
}

int cmd_sim_read(Store& st, const Context& c) {
    if (c.args.size() != 1) throw SimError("usage: zfs-sim sim-read FS|FS@SNAP\n", 2);
    int fd = -1;
    {
        Locked l(st, {c.args[0]});
        Dataset& d = open_dataset(l.s, c.args[0]);
        if (d.kind == Kind::bookmark) throw SimError("zfs-sim: bookmarks have no data\n");
        if (d.blob.empty()) return 0;
        fd = ::open(st.blob_path(d.blob).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw SimError("zfs-sim: data of '" + d.name + "' is missing\n");
    }
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (!write_all(1, buf, static_cast<std::size_t>(n))) break;
    }
    ::close(fd);
    return 0;
}

int cmd_create(Store& st, const Context& c) {
    Options o = parse_options(c.args, "Pnpuvo:V:b:s");
    if (o.operands.empty()) throw UsageError("missing filesystem argument");
    if (o.operands.size() > 1) throw UsageError("too many arguments");
    const std::string& name = o.operands[0];
    bool volume = o.has('V');
    std::map<std::string, std::string> props;
    for (auto& kv : o.all('o')) {
        auto [k, v] = split_kv(kv, "-o");
        k = canonical_property(k);
        if (!valid_property_name(k))
            throw SimError("cannot create '" + name + "': invalid property '" + k + "'\n");
        if (k != "encryption" && !settable(k))
            throw SimError("cannot create '" + name + "': '" + k + "' is readonly\n");
        if (auto why = check_value(k, v); !why.empty())
            throw SimError("cannot create '" + name + "': " + why + "\n");
        if (props.count(k)) throw SimError("property '" + k + "' specified multiple times\n", 2);
        props[k] = v;
    }
    if (auto why = name_problem(name, volume ? Kind::volume : Kind::filesystem); !why.empty())
        throw SimError("cannot create '" + name + "': " + why + "\n");
    std::string parent = parent_name(name);
    if (parent.empty()) throw SimError("cannot create '" + name + "': missing dataset name\n");
    Locked l(st, {name});
    std::string pool = name.substr(0, name.find('/'));
    if (!l.s.exists(pool)) throw SimError("cannot create '" + name + "': no such pool '" + pool + "'\n");
    if (l.s.exists(name)) throw SimError("cannot create '" + name + "': dataset already exists\n");
    std::vector<std::string> missing;
    for (std::string p = parent; !p.empty() && !l.s.exists(p); p = parent_name(p))
        missing.insert(missing.begin(), p);
    if (!missing.empty() && !o.has('p'))
        throw SimError("cannot create '" + name + "': parent does not exist\n");
    for (auto& p : missing) {
        Dataset* pd = l.s.find(parent_name(p));
        if (pd && pd->kind == Kind::volume)
            throw SimError("cannot create '" + name + "': parent is not a filesystem\n");
    }
    if (Dataset* pd = l.s.find(parent); pd && pd->kind == Kind::volume)
        throw SimError("cannot create '" + name + "': parent is not a filesystem\n");
    if (o.has('n')) return 0;
    std::uint64_t txg = l.s.next_txg();
    // Encryption is inherited from the parent at creation time.
    auto enc_of = [&](const std::string& fs) -> std::string {
        Dataset* d = l.s.find(fs);
        if (d == nullptr) return "off";
        auto it = d->local.find(".encryption");
        return it == d->local.end() ? "off" : it->second;
    };
    for (auto& p : missing) {
        Dataset d = make_dataset(l.s, p, Kind::filesystem, txg);
        if (auto e = enc_of(parent_name(p)); e != "off") d.local[".encryption"] = e;
        l.s.datasets[p] = std::move(d);
    }
    Dataset d = make_dataset(l.s, name, volume ? Kind::volume : Kind::filesystem, txg);
    std::string enc = enc_of(parent);
    if (auto it = props.find("encryption"); it != props.end()) {
        std::string v = it->second == "on" ? "aes-256-gcm" : it->second;
        if (v != "off" && v.rfind("aes-", 0) != 0)
            throw SimError("cannot create '" + name +
                           "': 'encryption' must be one of 'on | off | aes-128-ccm | "
                           "aes-192-ccm | aes-256-ccm | aes-128-gcm | aes-192-gcm | aes-256-gcm'\n");
        if (v == "off" && enc != "off")
            throw SimError(
                "cannot create '" + name +
                "': Cannot create unencrypted dataset under an encrypted "
                "parent\n");  // OpenZFS: "Cannot create an unencrypted dataset below an encrypted one."
        enc = v;
        props.erase(it);
    }
    if (enc != "off") d.local[".encryption"] = enc;
    if (volume) props["volsize"] = o.last('V');
    for (auto& [k, v] : props) d.local[k] = v;
    l.s.datasets[name] = std::move(d);
    l.commit();
    return 0;
}

int cmd_set(Store& st, const Context& c) {
    Options o = parse_options(c.args, "u", {}, Operands::anywhere);
    if (o.operands.size() < 2)
        throw UsageError(o.operands.empty() ? "missing arguments" : "missing dataset name(s)");
    std::vector<std::pair<std::string, std::string>> kvs;
    std::size_t i = 0;
    for (; i < o.operands.size() && o.operands[i].find('=') != std::string::npos; ++i) {
        auto [k, v] = split_kv(o.operands[i], "property=value");
        kvs.emplace_back(canonical_property(k), v);
    }
    if (kvs.empty()) throw UsageError("missing property=value argument(s)");
    if (i == o.operands.size()) throw UsageError("missing dataset name(s)");
    Locked l(st, o.operands);
    int rc = 0;
    for (; i < o.operands.size(); ++i) {
        const std::string& name = o.operands[i];
        Dataset* d = l.s.find(name);
        if (d == nullptr) {
            std::fprintf(stderr, "cannot open '%s': dataset does not exist\n", name.c_str());
            rc = 1;
            continue;
        }
        for (auto& [k, v] : kvs) {
            std::string err;
            if (!valid_property_name(k))
                err = "invalid property '" + k + "'";
            else if (!settable(k))
                err = "'" + k + "' is readonly";
            else if (!is_user_property(k) && (d->kind == Kind::snapshot || d->kind == Kind::bookmark))
                err = "this property can not be modified for snapshots";
            else
                err = check_value(k, v);
            if (!err.empty()) throw SimError("cannot set property for '" + name + "': " + err + "\n");
            d->local[k] = v;
        }
    }
    l.commit();
    return rc;
}

int cmd_inherit(Store& st, const Context& c) {
    Options o = parse_options(c.args, "rS");
    if (o.operands.empty()) throw UsageError("missing property argument");
    if (o.operands.size() < 2) throw UsageError("missing dataset argument");
    std::string prop = canonical_property(o.operands[0]);
    Locked l(st, o.operands);
    if (!valid_property_name(prop)) throw SimError("invalid property '" + prop + "'\n", 2);
    if (!settable(prop)) throw SimError("'" + prop + "' property is read-only\n");
    for (std::size_t i = 1; i < o.operands.size(); ++i) {
        Dataset& d = open_dataset(l.s, o.operands[i]);
        std::vector<Dataset*> targets{&d};
        if (o.has('r')) {
            for (Dataset* ch : l.s.children_of(d.name, true)) targets.push_back(ch);
            for (Dataset* t : std::vector<Dataset*>(targets))
                for (Dataset* v : l.s.versions_of(t->name, true, false)) targets.push_back(v);
        }
        for (Dataset* t : targets) {
            t->local.erase(prop);
            if (!o.has('S')) t->received.erase(prop);
        }
    }
    l.commit();
    return 0;
}

int cmd_snapshot(Store& st, const Context& c) {
    Options o = parse_options(c.args, "ro:");
    if (o.operands.empty()) throw UsageError("missing snapshot argument");
    std::map<std::string, std::string> props;
    for (auto& kv : o.all('o')) {
        auto [k, v] = split_kv(kv, "-o");
        if (!is_user_property(k)) throw SimError("cannot create snapshot: '" + k + "' is readonly\n");
        props[k] = v;
    }
    Locked l(st, snapshot_roots(o.operands));
    std::vector<std::string> names;
    for (auto& arg : o.operands) {
        if (auto why = name_problem(arg, Kind::snapshot); !why.empty())
            throw SimError("cannot create snapshot '" + arg + "': " + why + "\n");
        auto at = arg.find('@');
        std::string fs = arg.substr(0, at), snap = arg.substr(at + 1);
        open_filesystem(l.s, fs);
        names.push_back(arg);
        if (o.has('r'))
            for (Dataset* ch : l.s.children_of(fs, true)) names.push_back(ch->name + "@" + snap);
    }
    for (auto& n : names) {
        if (l.s.exists(n)) throw SimError("cannot create snapshot '" + n + "': dataset already exists\n");
        Dataset* fs = l.s.find(n.substr(0, n.find('@')));
        if (fs->partial && fs->partial->new_fs)
            throw SimError("cannot create snapshot '" + n + "': dataset is busy\n");
    }
    std::uint64_t txg = l.s.next_txg();  // one txg: the snapshots are atomic
    for (auto& n : names) {
        Dataset* fs = l.s.find(n.substr(0, n.find('@')));
        Dataset d = make_dataset(l.s, n, Kind::snapshot, txg);
        d.blob = fs->blob;
        d.size = fs->size;
        d.local = props;
        l.s.datasets[n] = std::move(d);
    }
    l.commit();
    return 0;
}

int cmd_bookmark(Store& st, const Context& c) {
    Options o = parse_options(c.args, "");
    if (o.operands.size() < 2)
        throw UsageError(o.operands.empty() ? "missing snapshot argument" : "missing bookmark argument");
    if (o.operands.size() > 2) throw UsageError("too many arguments");
    std::string src = o.operands[0], dst = o.operands[1];
    if (src.find_first_of("@#") == std::string::npos)
        throw SimError("cannot create bookmark '" + dst +
                       "': source is not a snapshot or bookmark\n");  // not OpenZFS-exact
    std::string fs = src.substr(0, src.find_first_of("@#"));
    if (!dst.empty() && dst[0] == '#') dst = fs + dst;
    if (dst.find('#') == std::string::npos)
        throw SimError("invalid bookmark name '" + dst + "': must contain a '#'\n");
    if (auto why = name_problem(dst, Kind::bookmark); !why.empty())
        throw SimError("cannot create bookmark '" + dst + "': " + why + "\n");
    Locked l(st, {src, dst});  // the source, the bookmark and their filesystem, nothing else
    Dataset* s = l.s.find(src);
    if (s == nullptr) {
        std::string what = src.find('@') != std::string::npos ? "snapshot" : "bookmark";
        throw SimError("cannot create bookmark '" + dst + "': " + what +
                       " does not exist\n");  // approximation
    }
    if (dst.substr(0, dst.find('#')) != fs)
        throw SimError("cannot create bookmark '" + dst +
                       "': source is not an ancestor of the new bookmark's "
                       "dataset\n");
    if (l.s.exists(dst)) throw SimError("cannot create bookmark '" + dst + "': bookmark exists\n");
    Dataset b;
    b.name = dst;
    b.kind = Kind::bookmark;
    b.guid = s->guid;
    b.createtxg = s->createtxg;
    b.creation = s->creation;
    b.size = s->size;
    l.s.datasets[dst] = std::move(b);
    l.commit();
    return 0;
}

int cmd_rollback(Store& st, const Context& c) {
    Options o = parse_options(c.args, "rRf");
    if (o.operands.empty()) throw UsageError("missing dataset argument");
    if (o.operands.size() > 1) throw UsageError("too many arguments");
    const std::string& name = o.operands[0];
    Locked l(st, {name.substr(0, name.find('@'))});
    Dataset* snap = l.s.find(name);
    if (snap == nullptr || snap->kind != Kind::snapshot) {
        if (name.find('@') == std::string::npos)
            throw SimError("cannot open '" + name + "': operation not applicable to datasets of this type\n");
        throw SimError("cannot open '" + name + "': dataset does not exist\n");
    }
    std::string fs = snap->fs_name();
    std::vector<Dataset*> later;
    for (Dataset* v : l.s.versions_of(fs, true, true))
        if (v->createtxg > snap->createtxg) later.push_back(v);
    bool later_snaps = false;
    for (Dataset* v : later) later_snaps |= v->kind == Kind::snapshot;
    if (later_snaps && !o.has('r') && !o.has('R')) {
        std::string msg =
            "cannot rollback to '" + name +
            "': more recent snapshots exist\nuse '-r' to force deletion of the following snapshots:\n";
        for (Dataset* v : later)
            if (v->kind == Kind::snapshot) msg += v->name + "\n";
        throw SimError(msg);
    }
    for (Dataset* v : later)
        if (v->kind == Kind::snapshot && !v->holds.empty())
            throw SimError("cannot destroy '" + v->name + "': dataset is busy\n");
    std::vector<std::string> doomed;
    for (Dataset* v : later) doomed.push_back(v->name);
    for (auto& n : doomed) l.s.erase(n);
    Dataset* fsd = l.s.find(fs);
    snap = l.s.find(name);
    fsd->blob = snap->blob;
    fsd->size = snap->size;
    l.s.gc_needed = true;
    l.s.next_txg();
    l.commit();
    return 0;
}

}  // namespace zfssim
