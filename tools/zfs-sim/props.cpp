#include "tools/zfs-sim/props.hpp"

#include "tools/zfs-sim/recv_state.hpp"

#include <cstdio>
#include <ctime>
#include <set>

namespace zfssim {
namespace {

const std::set<std::string>& readonly_natives() {
    static const std::set<std::string> s = {"name",
                                            "type",
                                            "creation",
                                            "guid",
                                            "createtxg",
                                            "used",
                                            "available",
                                            "referenced",
                                            "userrefs",
                                            "keystatus",
                                            "receive_resume_token",
                                            "defer_destroy",
                                            "mounted",
                                            "origin",
                                            "written",
                                            "logicalreferenced",
                                            "encryptionroot"};
    return s;
}

const std::set<std::string>& settable_natives() {
    static const std::set<std::string> s = {"mountpoint", "canmount", "readonly",  "compression",
                                            "atime",      "volsize",  "keyformat", "keylocation",
                                            "recordsize", "snapdir"};
    return s;
}

bool is_fs_like(const Dataset& d) { return d.kind == Kind::filesystem || d.kind == Kind::volume; }

std::string parent_of(const std::string& fs) {
    auto p = fs.rfind('/');
    return p == std::string::npos ? std::string() : fs.substr(0, p);
}

const char* default_of(const std::string& name) {
    if (name == "canmount" || name == "atime") return "on";
    if (name == "readonly" || name == "compression" || name == "snapdir") return "off";
    if (name == "snapdir") return "hidden";
    if (name == "recordsize") return "131072";
    if (name == "keyformat") return "none";
    if (name == "keylocation") return "none";
    return "-";
}

}  // namespace

bool is_user_property(const std::string& name) { return name.find(':') != std::string::npos; }

std::string canonical_property(const std::string& name) {
    if (name == "avail") return "available";
    if (name == "refer") return "referenced";
    if (name == "compress") return "compression";
    if (name == "rdonly") return "readonly";
    return name;
}

bool valid_property_name(const std::string& raw) {
    std::string name = canonical_property(raw);
    return is_user_property(name) || readonly_natives().count(name) || settable_natives().count(name) ||
           name == "encryption";
}

bool settable(const std::string& name) {
    return is_user_property(name) || settable_natives().count(canonical_property(name));
}

bool inheritable(const std::string& name) {
    return is_user_property(name) || name == "mountpoint" || name == "readonly" || name == "compression" ||
           name == "atime" || name == "snapdir" || name == "recordsize" || name == "keylocation";
}

std::string check_value(const std::string& name, const std::string& v) {
    auto onoff = [&](std::initializer_list<const char*> ok, const char* list) -> std::string {
        for (auto* o : ok)
            if (v == o) return "";
        return "'" + name + "' must be one of '" + list + "'";
    };
    if (name == "readonly" || name == "atime") return onoff({"on", "off"}, "on | off");
    if (name == "canmount") return onoff({"on", "off", "noauto"}, "on | off | noauto");
    if (name == "mountpoint") {
        if (v == "none" || v == "legacy" || (!v.empty() && v[0] == '/')) return "";
        return "'mountpoint' must be an absolute path, 'none', or 'legacy'";
    }
    return "";
}

std::string nicenum(std::uint64_t n) {
    static const char units[] = "BKMGTPE";
    int i = 0;
    std::uint64_t v = n;
    while (v >= 1024 && i < 6) {
        v /= 1024;
        ++i;
    }
    char buf[32];
    if (i == 0 || n % (1ULL << (10 * i)) == 0) {
        std::snprintf(buf, sizeof buf, "%llu%c", static_cast<unsigned long long>(v), units[i]);
        return buf;
    }
    double d = static_cast<double>(n) / static_cast<double>(1ULL << (10 * i));
    for (int prec = 2; prec >= 0; --prec) {
        std::snprintf(buf, sizeof buf, "%.*f%c", prec, d, units[i]);
        if (std::string(buf).size() <= 5) break;
    }
    return buf;
}

std::string format_date(std::uint64_t secs) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M %Y", &tm);
    return buf;
}

std::optional<PropValue> property(State& s, const Dataset& d, const std::string& raw, bool parsable) {
    std::string name = canonical_property(raw);
    auto num = [&](std::uint64_t v) { return std::to_string(v); };
    auto size = [&](std::uint64_t v) { return parsable ? num(v) : nicenum(v); };
    bool fs = is_fs_like(d);
    bool snap = d.kind == Kind::snapshot;
    if (name == "name") return PropValue{d.name, "-"};
    if (name == "type") return PropValue{kind_name(d.kind), "-"};
    if (name == "creation") return PropValue{parsable ? num(d.creation) : format_date(d.creation), "-"};
    if (name == "guid") return PropValue{num(d.guid), "-"};
    if (name == "createtxg") return PropValue{num(d.createtxg), "-"};
    if (name == "used" || name == "referenced" || name == "logicalreferenced") {
        if (d.kind == Kind::bookmark) return std::nullopt;
        return PropValue{size(name == "used" && snap ? 0 : d.size), "-"};
    }
    if (name == "written") {
        if (d.kind == Kind::bookmark) return std::nullopt;
        return PropValue{size(d.size), "-"};
    }
    if (name == "available") {
        if (!fs) return std::nullopt;
        return PropValue{size(1ULL << 40), "-"};
    }
    if (name == "userrefs") {
        if (!snap) return std::nullopt;
        return PropValue{num(d.holds.size()), "-"};
    }
    if (name == "defer_destroy") {
        if (!snap) return std::nullopt;
        return PropValue{d.local.count(".defer_destroy") ? "on" : "off", "-"};
    }
    if (name == "mounted") {
        if (d.kind != Kind::filesystem) return std::nullopt;
        return PropValue{"no", "-"};
    }
    if (name == "origin") {
        if (!fs) return std::nullopt;
        return PropValue{"-", "-"};
    }
    if (name == "receive_resume_token") {
        if (!fs) return std::nullopt;
        if (d.partial) return PropValue{resume_token_of(d), "-"};
        return PropValue{"-", "-"};
    }
    // encryption and key status come from the filesystem a snapshot/bookmark belongs to.
    if (name == "encryption" || name == "keystatus" || name == "encryptionroot") {
        const Dataset* base = &d;
        if (!fs) base = s.find(d.fs_name());
        if (base == nullptr) return std::nullopt;
        auto it = base->local.find(".encryption");
        std::string enc = it == base->local.end() ? "off" : it->second;
        if (name == "encryption") return PropValue{enc, enc == "off" ? "default" : "-"};
        if (name == "encryptionroot") return PropValue{enc == "off" ? "-" : base->fs_name(), "-"};
        if (enc == "off") return PropValue{"-", "-"};
        auto ks = base->local.find(".keystatus");
        return PropValue{ks == base->local.end() ? "available" : ks->second, "-"};
    }
    if (!is_user_property(name) && !settable_natives().count(name)) return std::nullopt;
    if (!is_user_property(name)) {
        if (d.kind == Kind::bookmark) return std::nullopt;
        if (snap && name != "snapdir") return std::nullopt;
        if (name == "volsize" && d.kind != Kind::volume) return std::nullopt;
        if ((name == "mountpoint" || name == "canmount" || name == "atime" || name == "snapdir") &&
            d.kind != Kind::filesystem)
            return std::nullopt;
    }
    if (auto it = d.local.find(name); it != d.local.end()) return PropValue{it->second, "local"};
    if (auto it = d.received.find(name); it != d.received.end()) return PropValue{it->second, "received"};
    if (!inheritable(name))
        return PropValue{default_of(name), default_of(name) == std::string("-") ? "-" : "default"};
    // Inherit: a snapshot from its filesystem, a filesystem from its ancestors.
    std::string own = d.fs_name();
    std::string cur = (snap || d.kind == Kind::bookmark) ? own : parent_of(own);
    while (!cur.empty()) {
        const Dataset* a = s.find(cur);
        if (a == nullptr) break;
        const std::string* v = nullptr;
        if (auto it = a->local.find(name); it != a->local.end())
            v = &it->second;
        else if (auto it2 = a->received.find(name); it2 != a->received.end())
            v = &it2->second;
        if (v != nullptr) {
            std::string val = *v;
            if (name == "mountpoint" && val != "none" && val != "legacy") {
                val = (val == "/" ? "" : val) + own.substr(cur.size());
                if (val.empty()) val = "/";
            }
            return PropValue{val, "inherited from " + cur};
        }
        cur = parent_of(cur);
    }
    if (is_user_property(name)) return PropValue{"-", "-"};
    if (name == "mountpoint") return PropValue{"/" + d.fs_name(), "default"};
    return PropValue{default_of(name), "default"};
}

std::vector<std::string> all_properties(const Dataset& d) {
    std::vector<std::string> out = {
        "type",     "creation",      "used",        "available", "referenced",          "mountpoint",
        "canmount", "readonly",      "compression", "atime",     "createtxg",           "guid",
        "userrefs", "defer_destroy", "encryption",  "keystatus", "receive_resume_token"};
    std::set<std::string> user;
    for (auto& [k, v] : d.local)
        if (is_user_property(k)) user.insert(k);
    for (auto& [k, v] : d.received)
        if (is_user_property(k)) user.insert(k);
    out.insert(out.end(), user.begin(), user.end());
    return out;
}

}  // namespace zfssim
