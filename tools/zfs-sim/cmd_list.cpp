// list and get: dataset selection (-r, -d, -t), ordering, columns, parsable values.
#include "tools/zfs-sim/commands.hpp"

#include "tools/zfs-sim/options.hpp"
#include "tools/zfs-sim/props.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
#include <unordered_set>

namespace zfssim {
namespace {

struct TypeMask {
    bool fs = false, vol = false, snap = false, bm = false;
    bool has(Kind k) const {
        switch (k) {
            case Kind::filesystem: return fs;
            case Kind::volume: return vol;
            case Kind::snapshot: return snap;
            case Kind::bookmark: return bm;
        }
        return false;
    }
};

TypeMask parse_types(const std::string& s) {
    TypeMask m;
    for (auto& t : split_commas(s)) {
        if (t == "filesystem" || t == "fs")
            m.fs = true;
        else if (t == "volume" || t == "vol")
            m.vol = true;
        else if (t == "snapshot" || t == "snap")
            m.snap = true;
        else if (t == "bookmark")
            m.bm = true;
        else if (t == "all")
            m.fs = m.vol = m.snap = m.bm = true;
        else
            throw UsageError("invalid type '" + t + "'");
    }
    return m;
}

std::size_t depth_of(const std::string& name) {
    std::size_t n = 0;
    for (char c : name) n += c == '/' || c == '@' || c == '#';
    return n;
}

// zfs's default order: by filesystem name, the filesystem before its snapshots and
// bookmarks, those by createtxg.
void default_sort(std::vector<Dataset*>& v) {
    struct Key {
        std::string_view fs;
        int rank;
        std::uint64_t txg;
        Dataset* d;
    };
    std::vector<Key> keys;
    keys.reserve(v.size());
    for (Dataset* d : v) {
        std::string_view n = d->name;
        auto p = n.find_first_of("@#");
        keys.push_back({p == std::string_view::npos ? n : n.substr(0, p),
                        d->kind == Kind::filesystem || d->kind == Kind::volume ? 0 : 1, d->createtxg, d});
    }
    std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
        if (int c = a.fs.compare(b.fs); c != 0) return c < 0;
        if (a.rank != b.rank) return a.rank < b.rank;
        if (a.txg != b.txg) return a.txg < b.txg;
        return a.d->name < b.d->name;
    });
    for (std::size_t i = 0; i < keys.size(); ++i) v[i] = keys[i].d;
}

// The datasets the operands select. Prints "cannot open" for missing ones and sets rc.
std::vector<Dataset*> select(State& s, const std::vector<std::string>& operands, bool recursive,
                             std::size_t maxdepth, const TypeMask& types, bool types_given, int& rc) {
    std::vector<Dataset*> out;
    std::unordered_set<const Dataset*> seen;
    auto add = [&](Dataset* d) {
        if (seen.insert(d).second) out.push_back(d);
    };
    std::vector<std::string> roots = operands;
    bool implicit = roots.empty();
    if (implicit) {
        for (auto& [n, d] : s.datasets)
            if (n.find_first_of("/@#") == std::string::npos) roots.push_back(n);
        recursive = true;
    }
    for (auto& r : roots) {
        Dataset* d = s.find(r);
        if (d == nullptr) {
            std::fprintf(stderr, "cannot open '%s': %s\n", r.c_str(),
                         name_problem(r, r.find('@') != std::string::npos   ? Kind::snapshot
                                         : r.find('#') != std::string::npos ? Kind::bookmark
                                                                            : Kind::filesystem)
                                 .empty()
                             ? "dataset does not exist"
                             : "invalid dataset name");
            rc = 1;
            continue;
        }
        if (types.has(d->kind) || (!types_given && !implicit)) add(d);
        if (!recursive || d->kind == Kind::snapshot || d->kind == Kind::bookmark) continue;
        std::size_t base = depth_of(d->name);
        std::vector<Dataset*> fss{d};
        for (Dataset* ch : s.children_of(d->name, true))
            if (depth_of(ch->name) - base <= maxdepth) fss.push_back(ch);
        for (Dataset* f : fss) {
            if (f != d && types.has(f->kind)) add(f);
            if ((types.snap || types.bm) && depth_of(f->name) + 1 - base <= maxdepth)
                for (Dataset* v : s.versions_of(f->name, types.snap, types.bm)) add(v);
        }
    }
    return out;
}

bool is_numeric_col(const std::string& c) {
    static const std::set<std::string> n = {"guid",     "createtxg", "creation",
                                            "used",     "available", "referenced",
                                            "userrefs", "written",   "logicalreferenced"};
    return n.count(canonical_property(c)) != 0;
}

std::uint64_t num_value(State& s, Dataset* d, const std::string& col) {
    auto v = property(s, *d, col, true);
    std::uint64_t x = 0;
    if (v) std::from_chars(v->value.data(), v->value.data() + v->value.size(), x);
    return x;
}

std::string table(const std::vector<std::vector<std::string>>& rows, bool header_upper,
                  const std::vector<std::string>& header) {
    std::vector<std::size_t> w(header.size(), 0);
    for (std::size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
    for (auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
    std::string out;
    auto line = [&](const std::vector<std::string>& r, bool up) {
        std::string l;
        for (std::size_t i = 0; i < r.size(); ++i) {
            std::string cell = r[i];
            if (up)
                for (auto& ch : cell) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            if (i + 1 < r.size()) cell.resize(w[i], ' ');
            l += cell;
            if (i + 1 < r.size()) l += "  ";
        }
        out += l + "\n";
    };
    line(header, header_upper);
    for (auto& r : rows) line(r, false);
    return out;
}

std::size_t parse_depth(const std::string& s) {
    std::size_t d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || p != s.data() + s.size()) throw UsageError("invalid depth '" + s + "'");
    return d;
}

}  // namespace

int cmd_list(Store& st, const Context& c) {
    Options o = parse_options(c.args, "Hpro:d:t:s:S:");
    std::vector<std::string> cols = {"name", "used", "available", "referenced", "mountpoint"};
    if (o.has('o')) cols = split_commas(o.last('o'));
    for (auto& col : cols)
        if (col != "name" && !valid_property_name(col))
            throw UsageError("bad property list: invalid property '" + col + "'");
    std::vector<std::pair<std::string, bool>> sorts;  // column, descending
    for (auto& [opt, v] : o.opts) {
        if (opt != 's' && opt != 'S') continue;
        if (v != "name" && !valid_property_name(v)) throw UsageError("invalid property '" + v + "'");
        sorts.emplace_back(v, opt == 'S');
    }
    TypeMask types{true, true, false, false};
    if (o.has('t')) types = parse_types(o.last('t'));
    bool recursive = o.has('r') || o.has('d');
    std::size_t maxdepth = o.has('d') ? parse_depth(o.last('d')) : SIZE_MAX;
    bool parsable = o.has('p');

    st.lock();
    State s = o.operands.empty() ? st.load() : st.load_subset(o.operands);
    st.unlock();
    int rc = 0;
    std::vector<Dataset*> ds = select(s, o.operands, recursive, maxdepth, types, o.has('t'), rc);
    default_sort(ds);
    for (auto it = sorts.rbegin(); it != sorts.rend(); ++it) {
        const std::string col = it->first;
        bool desc = it->second;
        if (is_numeric_col(col)) {
            std::vector<std::pair<std::uint64_t, Dataset*>> kv;
            for (Dataset* d : ds) kv.emplace_back(num_value(s, d, col), d);
            std::stable_sort(kv.begin(), kv.end(),
                             [&](auto& a, auto& b) { return desc ? a.first > b.first : a.first < b.first; });
            for (std::size_t i = 0; i < kv.size(); ++i) ds[i] = kv[i].second;
        } else {
            std::vector<std::pair<std::string, Dataset*>> kv;
            for (Dataset* d : ds) {
                auto v = col == "name" ? std::optional<PropValue>(PropValue{d->name, ""})
                                       : property(s, *d, col, true);
                kv.emplace_back(v ? v->value : "-", d);
            }
            std::stable_sort(kv.begin(), kv.end(),
                             [&](auto& a, auto& b) { return desc ? a.first > b.first : a.first < b.first; });
            for (std::size_t i = 0; i < kv.size(); ++i) ds[i] = kv[i].second;
        }
    }
    std::string out;
    out.reserve(ds.size() * 64);
    std::vector<std::vector<std::string>> rows;
    for (Dataset* d : ds) {
        std::vector<std::string> row;
        row.reserve(cols.size());
        for (auto& col : cols) {
            if (col == "name") {
                row.push_back(d->name);
                continue;
            }
            auto v = property(s, *d, col, parsable);
            row.push_back(v ? v->value : "-");
        }
        if (o.has('H')) {
            for (std::size_t i = 0; i < row.size(); ++i) {
                if (i) out += '\t';
                out += row[i];
            }
            out += '\n';
        } else {
            rows.push_back(std::move(row));
        }
    }
    if (!o.has('H')) {
        if (rows.empty() && o.operands.empty()) {
            std::fprintf(stderr, "no datasets available\n");
        } else if (!rows.empty() || rc == 0) {
            std::vector<std::string> header;
            for (auto& col : cols)
                header.push_back(col == "available" ? "avail" : col == "referenced" ? "refer" : col);
            if (!rows.empty()) out = table(rows, true, header);
        }
    }
    write_all(1, out);
    return rc;
}

int cmd_get(Store& st, const Context& c) {
    Options o = parse_options(c.args, "rHpd:o:t:s:");
    if (o.operands.empty()) throw UsageError("missing property argument");
    std::vector<std::string> fields = {"name", "property", "value", "source"};
    if (o.has('o')) {
        fields = split_commas(o.last('o'));
        if (fields.size() == 1 && fields[0] == "all")
            fields = {"name", "property", "value", "received", "source"};
        for (auto& f : fields)
            if (f != "name" && f != "property" && f != "value" && f != "received" && f != "source")
                throw UsageError("invalid column name '" + f + "'");
    }
    std::set<std::string> sources;
    if (o.has('s'))
        for (auto& x : split_commas(o.last('s'))) {
            if (x != "local" && x != "default" && x != "inherited" && x != "temporary" && x != "received" &&
                x != "none")
                throw UsageError("invalid source '" + x + "'");
            sources.insert(x);
        }
    bool all = o.operands[0] == "all";
    std::vector<std::string> props;
    if (!all) {
        props = split_commas(o.operands[0]);
        for (auto& p : props)
            if (!valid_property_name(p)) throw UsageError("bad property list: invalid property '" + p + "'");
    }
    TypeMask types{true, true, true, true};
    if (o.has('t')) types = parse_types(o.last('t'));
    bool recursive = o.has('r') || o.has('d');
    std::size_t maxdepth = o.has('d') ? parse_depth(o.last('d')) : SIZE_MAX;
    std::vector<std::string> operands(o.operands.begin() + 1, o.operands.end());

    st.lock();
    State s = operands.empty() ? st.load()
              : recursive      ? st.load_subset(operands)
                               : st.load_ancestry(operands);
    st.unlock();
    int rc = 0;
    std::vector<Dataset*> ds = select(s, operands, recursive, maxdepth, types, o.has('t'), rc);
    default_sort(ds);
    std::vector<std::vector<std::string>> rows;
    for (Dataset* d : ds) {
        std::vector<std::string> names = all ? all_properties(*d) : props;
        for (auto& p : names) {
            auto v = p == "name" ? std::optional<PropValue>(PropValue{d->name, "-"})
                                 : property(s, *d, p, o.has('p'));
            if (!v) {
                if (all) continue;
                v = PropValue{"-", "-"};
            }
            std::string srcword = v->source.substr(0, v->source.find(' '));
            if (!sources.empty() && !sources.count(srcword == "-" ? "none" : srcword)) continue;
            std::vector<std::string> row;
            for (auto& f : fields) {
                if (f == "name")
                    row.push_back(d->name);
                else if (f == "property")
                    row.push_back(p);
                else if (f == "value")
                    row.push_back(v->value);
                else if (f == "source")
                    row.push_back(v->source);
                else if (f == "received") {
                    auto it = d->received.find(canonical_property(p));
                    row.push_back(it == d->received.end() ? "-" : it->second);
                }
            }
            rows.push_back(std::move(row));
        }
    }
    std::string out;
    if (o.has('H')) {
        for (auto& r : rows) {
            for (std::size_t i = 0; i < r.size(); ++i) {
                if (i) out += '\t';
                out += r[i];
            }
            out += '\n';
        }
    } else if (!rows.empty()) {
        out = table(rows, true, fields);
    }
    write_all(1, out);
    return rc;
}

}  // namespace zfssim
