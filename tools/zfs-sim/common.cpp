#include "tools/zfs-sim/common.hpp"

#include "zfs/dataset_path.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace zfssim {

Dataset& open_dataset(State& s, const std::string& name) {
    Dataset* d = s.find(name);
    if (d == nullptr) {
        Kind k = name.find('@') != std::string::npos   ? Kind::snapshot
                 : name.find('#') != std::string::npos ? Kind::bookmark
                                                       : Kind::filesystem;
        if (!name_problem(name, k).empty())
            throw SimError("cannot open '" + name + "': invalid dataset name\n");
        throw SimError("cannot open '" + name + "': dataset does not exist\n");
    }
    return *d;
}

Dataset& open_filesystem(State& s, const std::string& name) {
    Dataset& d = open_dataset(s, name);
    if (d.kind != Kind::filesystem && d.kind != Kind::volume)
        throw SimError("cannot open '" + name + "': operation not applicable to datasets of this type\n");
    return d;
}

std::string name_problem(const std::string& name, Kind kind) {
    using zferry::zfs::EntityType;
    EntityType t = kind == Kind::snapshot   ? EntityType::snapshot
                   : kind == Kind::bookmark ? EntityType::bookmark
                   : kind == Kind::volume   ? EntityType::volume
                                            : EntityType::filesystem;
    if (zferry::zfs::entity_namecheck(name, t).has_value()) return {};
    if (name.size() > 255) return "name is too long";
    if (std::count(name.begin(), name.end(), '@') > 1) return "multiple '@' delimiters in name";
    if (std::count(name.begin(), name.end(), '#') > 1) return "multiple '#' delimiters in name";
    if (kind == Kind::snapshot && name.find('@') == std::string::npos)
        return "missing '@' delimiter in snapshot name";
    if (kind == Kind::bookmark && name.find('#') == std::string::npos)
        return "missing '#' delimiter in bookmark name";
    if (kind != Kind::snapshot && name.find('@') != std::string::npos)
        return "snapshot delimiter '@' is not expected here";
    if (kind != Kind::bookmark && name.find('#') != std::string::npos)
        return "bookmark delimiter '#' is not expected here";
    for (char c : name) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                  c == '_' || c == '.' || c == ':' || c == ' ' || c == '/' || c == '@' || c == '#';
        if (!ok) return std::string("invalid character '") + c + "' in name";
    }
    if (name.find("//") != std::string::npos || name.ends_with("/") || name.starts_with("/"))
        return "empty component or misplaced '@' or '#' delimiter in name";
    return "invalid dataset name";
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto p = s.find(',', start);
        out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
        if (p == std::string::npos) break;
        start = p + 1;
    }
    return out;
}

std::string parent_name(const std::string& fs) {
    auto p = fs.rfind('/');
    return p == std::string::npos ? std::string() : fs.substr(0, p);
}

bool write_all(int fd, const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

Dataset make_dataset(State& s, const std::string& name, Kind kind, std::uint64_t txg) {
    (void)s;
    Dataset d;
    d.name = name;
    d.kind = kind;
    d.guid = random_u64();
    d.createtxg = txg;
    d.creation = now_seconds();
    return d;
}

}  // namespace zfssim
