#include "tools/zfs-sim/state.hpp"

#include "tools/zfs-sim/sim_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string_view>

namespace zfssim {

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::filesystem: return "filesystem";
        case Kind::volume: return "volume";
        case Kind::snapshot: return "snapshot";
        case Kind::bookmark: return "bookmark";
    }
    return "filesystem";
}

std::string Dataset::fs_name() const {
    auto p = name.find_first_of("@#");
    return p == std::string::npos ? name : name.substr(0, p);
}

std::string Dataset::short_name() const {
    auto p = name.find_first_of("@#");
    return p == std::string::npos ? std::string() : name.substr(p + 1);
}

Dataset* State::find(const std::string& name) {
    auto it = datasets.find(name);
    return it == datasets.end() ? nullptr : &it->second;
}

std::vector<Dataset*> State::versions_of(const std::string& fs, bool snapshots, bool bookmarks) {
    std::vector<Dataset*> out;
    // '#' < '/' < '@' in ASCII: scan both ranges starting with fs#... and fs@...
    for (char sep : {'#', '@'}) {
        if ((sep == '@' && !snapshots) || (sep == '#' && !bookmarks)) continue;
        std::string prefix = fs + sep;
        for (auto it = datasets.lower_bound(prefix); it != datasets.end(); ++it) {
            if (it->first.compare(0, prefix.size(), prefix) != 0) break;
            out.push_back(&it->second);
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const Dataset* a, const Dataset* b) {
        if (a->createtxg != b->createtxg) return a->createtxg < b->createtxg;
        return a->kind == Kind::snapshot && b->kind == Kind::bookmark;
    });
    return out;
}

std::vector<Dataset*> State::children_of(const std::string& fs, bool recursive) {
    std::vector<Dataset*> out;
    std::string prefix = fs + "/";
    for (auto it = datasets.lower_bound(prefix); it != datasets.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        const Dataset& d = it->second;
        if (d.kind == Kind::snapshot || d.kind == Kind::bookmark) continue;
        if (!recursive && d.name.find('/', prefix.size()) != std::string::npos) continue;
        out.push_back(&it->second);
    }
    return out;
}

void State::erase(const std::string& name) {
    auto it = datasets.find(name);
    if (it == datasets.end()) return;
    if (!it->second.blob.empty()) gc_needed = true;
    datasets.erase(it);
}

namespace {

// Percent-escaping of the characters the line format uses as separators.
std::string esc(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '%' || c == '\t' || c == '\n' || c == '\r' || c == ';' || c == '=') {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string unesc(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            unsigned v = 0;
            std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
            out += static_cast<char>(v);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string enc_map(const std::map<std::string, std::string>& m) {
    std::string out;
    for (auto& [k, v] : m) {
        if (!out.empty()) out += ';';
        out += esc(k) + '=' + esc(v);
    }
    return out;
}

std::string enc_holds(const std::map<std::string, std::uint64_t>& m) {
    std::string out;
    for (auto& [k, v] : m) {
        if (!out.empty()) out += ';';
        out += esc(k) + '=' + std::to_string(v);
    }
    return out;
}

template <class F>
void split(std::string_view s, char sep, F&& f) {
    if (s.empty()) return;
    std::size_t start = 0;
    while (true) {
        auto p = s.find(sep, start);
        f(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
        if (p == std::string_view::npos) break;
        start = p + 1;
    }
}

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::map<std::string, std::string> dec_map(std::string_view s) {
    std::map<std::string, std::string> m;
    split(s, ';', [&](std::string_view kv) {
        auto eq = kv.find('=');
        m.emplace(unesc(kv.substr(0, eq)), eq == std::string_view::npos ? "" : unesc(kv.substr(eq + 1)));
    });
    return m;
}

Kind parse_kind(std::string_view s) {
    if (s == "volume") return Kind::volume;
    if (s == "snapshot") return Kind::snapshot;
    if (s == "bookmark") return Kind::bookmark;
    return Kind::filesystem;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Store::Store() {
    const char* d = std::getenv("ZFS_SIM_STATE");
    if (d == nullptr || *d == '\0')
        throw SimError("zfs-sim: ZFS_SIM_STATE is not set; point it at a state directory\n");
    dir_ = d;
    ::mkdir(dir_.c_str(), 0755);
    ::mkdir((dir_ + "/blobs").c_str(), 0755);
    ::mkdir((dir_ + "/tmp").c_str(), 0755);
    lock_fd_ = ::open((dir_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) throw SimError("zfs-sim: cannot open " + dir_ + "/lock: " + errno_text() + "\n");
}

Store::~Store() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

void Store::lock() {
    while (::flock(lock_fd_, LOCK_EX) != 0) {
        if (errno != EINTR) throw SimError("zfs-sim: flock: " + errno_text() + "\n");
    }
}

void Store::unlock() { ::flock(lock_fd_, LOCK_UN); }

State Store::load() const { return load_filtered(nullptr, false); }

State Store::load_subset(const std::vector<std::string>& roots) const { return load_filtered(&roots, false); }

State Store::load_ancestry(const std::vector<std::string>& names) const {
    return load_filtered(&names, false, false);
}

State Store::load_for_update(const std::vector<std::string>& roots) const {
    return load_filtered(&roots, true);
}

namespace {

// Whether `name` is one of `roots`, an ancestor of one, or (with `descendants`) below one.
bool related(std::string_view name, const std::vector<std::string>& roots, bool descendants) {
    auto delim = [](char c) { return c == '/' || c == '@' || c == '#'; };
    for (const std::string& r : roots) {
        std::size_t n = std::min(name.size(), r.size());
        if (name.compare(0, n, std::string_view(r).substr(0, n)) != 0) continue;
        if (name.size() == r.size()) return true;
        if (name.size() > r.size() ? descendants && delim(name[r.size()]) : delim(r[name.size()]))
            return true;
    }
    return false;
}

}  // namespace

State Store::load_filtered(const std::vector<std::string>* roots, bool keep_rest, bool descendants) const {
    State s;
    std::string path = dir_ + "/state";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return s;
    std::string buf;
    struct stat st {};
    ::fstat(fd, &st);
    buf.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    buf.resize(got);
    std::string_view all(buf);
    split(all, '\n', [&](std::string_view line) {
        if (line.empty() || line.starts_with("zfs-sim-state")) return;
        if (line.starts_with("txg ")) {
            s.txg = to_u64(line.substr(4));
            return;
        }
        if (roots != nullptr && !related(line.substr(0, line.find('\t')), *roots, descendants)) {
            if (keep_rest) {
                s.passthrough.append(line);
                s.passthrough += '\n';
            }
            return;
        }
        std::vector<std::string_view> f;
        f.reserve(11);
        split(line, '\t', [&](std::string_view x) { f.push_back(x); });
        if (f.size() < 11) return;
        Dataset d;
        d.name = unesc(f[0]);
        d.kind = parse_kind(f[1]);
        d.guid = to_u64(f[2]);
        d.createtxg = to_u64(f[3]);
        d.creation = to_u64(f[4]);
        d.blob = std::string(f[5]);
        d.size = to_u64(f[6]);
        d.local = dec_map(f[7]);
        d.received = dec_map(f[8]);
        split(f[9], ';', [&](std::string_view kv) {
            auto eq = kv.find('=');
            d.holds.emplace(unesc(kv.substr(0, eq)), to_u64(kv.substr(eq + 1)));
        });
        if (!f[10].empty()) {
            auto m = dec_map(f[10]);
            PartialRecv p;
            p.header = m["hdr"];
            p.tmp_blob = m["tmp"];
            p.data_bytes = to_u64(m["data"]);
            p.stream_bytes = to_u64(m["stream"]);
            p.new_fs = m["new"] == "1";
            d.partial = std::make_unique<PartialRecv>(std::move(p));
        }
        std::string key = d.name;
        s.datasets.emplace_hint(s.datasets.end(), std::move(key), std::move(d));
    });
    return s;
}

void Store::save(const State& s) const {
    std::string out;
    out.reserve(s.datasets.size() * 96 + 64);
    out += "zfs-sim-state 1\ntxg " + std::to_string(s.txg) + "\n";
    for (auto& [name, d] : s.datasets) {
        out += esc(d.name);
        out += '\t';
        out += kind_name(d.kind);
        out += '\t';
        out += std::to_string(d.guid);
        out += '\t';
        out += std::to_string(d.createtxg);
        out += '\t';
        out += std::to_string(d.creation);
        out += '\t';
        out += d.blob;
        out += '\t';
        out += std::to_string(d.size);
        out += '\t';
        out += enc_map(d.local);
        out += '\t';
        out += enc_map(d.received);
        out += '\t';
        out += enc_holds(d.holds);
        out += '\t';
        if (d.partial) {
            out += enc_map({{"hdr", d.partial->header},
                            {"tmp", d.partial->tmp_blob},
                            {"data", std::to_string(d.partial->data_bytes)},
                            {"stream", std::to_string(d.partial->stream_bytes)},
                            {"new", d.partial->new_fs ? "1" : "0"}});
        }
        out += '\n';
    }
    out += s.passthrough;
    std::string tmp = dir_ + "/state.tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw SimError("zfs-sim: cannot write " + tmp + ": " + errno_text() + "\n");
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::write(fd, out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            throw SimError("zfs-sim: cannot write " + tmp + ": " + errno_text() + "\n");
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), (dir_ + "/state").c_str()) != 0)
        throw SimError("zfs-sim: cannot rename state: " + errno_text() + "\n");
    if (s.gc_needed) gc(s);
}

std::string Store::adopt_tmp(const std::string& tmp_id) const {
    std::string id = random_id();
    if (::rename(tmp_path(tmp_id).c_str(), blob_path(id).c_str()) != 0)
        throw SimError("zfs-sim: cannot store received data: " + errno_text() + "\n");
    return id;
}

std::string Store::write_blob(const std::string& bytes) const {
    if (bytes.empty()) return {};
    std::string tmp = random_id();
    {
        std::ofstream f(tmp_path(tmp), std::ios::binary);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!f) throw SimError("zfs-sim: cannot write data blob\n");
    }
    return adopt_tmp(tmp);
}

void Store::gc(const State& s) const {
    std::set<std::string> used;
    for (auto& [n, d] : s.datasets) {
        if (!d.blob.empty()) used.insert(d.blob);
    }
    split(s.passthrough, '\n', [&](std::string_view line) {
        std::size_t field = 0, start = 0;
        for (std::size_t i = 0; i <= line.size() && field <= 5; ++i) {
            if (i == line.size() || line[i] == '\t') {
                if (field == 5 && i > start) used.insert(std::string(line.substr(start, i - start)));
                ++field;
                start = i + 1;
            }
        }
    });
    std::string bdir = dir_ + "/blobs";
    DIR* dp = ::opendir(bdir.c_str());
    if (dp == nullptr) return;
    while (dirent* e = ::readdir(dp)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (!used.count(n)) ::unlink((bdir + "/" + n).c_str());
    }
    ::closedir(dp);
    // Leftovers of receives that were killed: not partial state, untouched for a day.
    std::set<std::string> partial;
    for (auto& [n, d] : s.datasets)
        if (d.partial) partial.insert(d.partial->tmp_blob);
    bool unknown_partials = s.passthrough.find("tmp=") != std::string::npos;
    std::string tdir = dir_ + "/tmp";
    dp = ::opendir(tdir.c_str());
    if (dp == nullptr) return;
    std::uint64_t now = now_seconds();
    while (dirent* e = ::readdir(dp)) {
        std::string n = e->d_name;
        struct stat st {};
        if (n == "." || n == ".." || unknown_partials || partial.count(n) ||
            ::stat((tdir + "/" + n).c_str(), &st) != 0)
            continue;
        if (static_cast<std::uint64_t>(st.st_mtime) + 86400 < now) ::unlink((tdir + "/" + n).c_str());
    }
    ::closedir(dp);
}

std::uint64_t random_u64() {
    static std::mt19937_64 rng{
        std::random_device{}() ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        static_cast<std::uint64_t>(::getpid()) << 32};
    std::uint64_t v = 0;
    while (v == 0) v = rng();
    return v;
}

std::string random_id() {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(random_u64()));
    return buf;
}

std::int64_t clock_offset_seconds() {
    const char* path = std::getenv("ZFS_SIM_CLOCK_FILE");
    if (path == nullptr || *path == '\0') return 0;
    std::ifstream f(path);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (!f || text.empty() || ec != std::errc() || end != text.data() + text.size())
        throw SimError("zfs-sim: ZFS_SIM_CLOCK_FILE " + std::string(path) +
                       " must hold an offset in seconds (an integer), e.g. 86400\n");
    return v;
}

std::uint64_t now_seconds() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() +
        clock_offset_seconds());
}

}  // namespace zfssim
