// send: full, -i/-I (from snapshots or bookmarks), -t resume, -w raw, -p, dry runs -nvP.
#include "tools/zfs-sim/commands.hpp"

#include "tools/zfs-sim/faults.hpp"
#include "tools/zfs-sim/options.hpp"
#include "tools/zfs-sim/props.hpp"
#include "tools/zfs-sim/stream_format.hpp"
#include "zfs/resume_token.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

namespace zfssim {
namespace {

struct Part {
    StreamHeader h;
    std::string json;
    std::string from_display;  // "" for full
    int fd = -1;               // data blob (or -1 for empty)
    std::uint64_t data_len = 0;
};

std::string hex(std::uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%" PRIx64, v);
    return b;
}

std::string token_contents(const zferry::zfs::ResumeToken& t) {
    std::string s = "resume token contents:\nnvlist version: 0\n";
    if (t.fromguid) s += "\tfromguid = " + hex(*t.fromguid) + "\n";
    if (t.object) s += "\tobject = " + hex(*t.object) + "\n";
    if (t.offset) s += "\toffset = " + hex(*t.offset) + "\n";
    if (t.bytes) s += "\tbytes = " + hex(*t.bytes) + "\n";
    s += "\ttoguid = " + hex(t.toguid) + "\n";
    s += "\ttoname = " + t.toname + "\n";
    if (t.rawok) s += "\trawok = 1\n";
    if (t.compressok) s += "\tcompressok = 1\n";
    if (t.embedok) s += "\tembedok = 1\n";
    if (t.largeblockok) s += "\tlargeblockok = 1\n";
    if (t.savedok) s += "\tsavedok = 1\n";
    return s;
}

std::string encryption_of(State& s, const std::string& fs) {
    Dataset* d = s.find(fs);
    if (d == nullptr) return "off";
    auto it = d->local.find(".encryption");
    return it == d->local.end() ? "off" : it->second;
}

// Resolves the -i/-I argument: "@s", "#b", "s", "fs@s", "fs#b".
Dataset* resolve_from(State& s, const std::string& fs, const std::string& arg) {
    std::string full = arg;
    if (!arg.empty() && (arg[0] == '@' || arg[0] == '#'))
        full = fs + arg;
    else if (arg.find_first_of("@#") == std::string::npos)
        full = fs + "@" + arg;
    return s.find(full);
}

Part make_part(Store& st, State& s, Dataset& to, Dataset* from, bool raw, bool props, const Options& o) {
    Part p;
    std::string fs = to.fs_name();
    p.h.toguid = to.guid;
    p.h.toname = to.name;
    p.h.createtxg = to.createtxg;
    p.h.creation = to.creation;
    p.h.raw = raw;
    p.h.compressok = o.has('c');
    p.h.embedok = o.has('e');
    p.h.largeblockok = o.has('L');
    p.h.total = to.size;
    if (Dataset* f = s.find(fs)) p.h.volume = f->kind == Kind::volume;
    if (raw) p.h.encryption = encryption_of(s, fs);
    if (from != nullptr) {
        p.h.fromguid = from->guid;
        p.h.fromname = from->name;
        p.from_display = from->name;
    }
    if (props) {
        std::map<std::string, std::string> m;
        if (Dataset* f = s.find(fs)) {
            for (auto& [k, v] : f->received) m[k] = v;
            for (auto& [k, v] : f->local)
                if (k[0] != '.') m[k] = v;
        }
        p.h.props = std::move(m);
    }
    p.data_len = to.size;
    if (!to.blob.empty()) {
        p.fd = ::open(st.blob_path(to.blob).c_str(), O_RDONLY | O_CLOEXEC);
        if (p.fd < 0) throw SimError("warning: cannot send '" + to.name + "': Input/output error\n");
    }
    return p;
}

class StreamOut {
public:
    StreamOut(std::string what) : what_(std::move(what)), fault_(ByteFault::from_env("SEND")) {}

    void write(const char* p, std::size_t n) {
        while (n > 0) {
            if (terminated())
                throw SimError("warning: cannot send '" + what_ + "': Interrupted system call\n");
            std::uint64_t ok = fault_.allowance(done_, n);
            if (ok == 0) trip();  // the injected limit is reached with bytes left to write
            if (!write_all(1, p, ok)) throw SimError("warning: cannot send '" + what_ + "': Broken pipe\n");
            done_ += ok;
            p += ok;
            n -= ok;
        }
    }
    // A limit exactly at the end of the stream still fires.
    void finish() {
        if (fault_.tripped(done_)) trip();
    }

private:
    [[noreturn]] void trip() {
        if (fault_.stall_after && done_ >= *fault_.stall_after) {
            stall_forever();
            throw SimError("warning: cannot send '" + what_ + "': Interrupted system call\n");
        }
        throw SimError("warning: cannot send '" + what_ +
                       "': Input/output error (injected by ZFS_SIM_FAIL_SEND_AFTER=" +
                       std::to_string(*fault_.fail_after) + ")\n");
    }
    std::string what_;
    ByteFault fault_;
    std::uint64_t done_ = 0;
};

}  // namespace

int cmd_send(Store& st, const Context& c) {
    Options o = parse_options(c.args, "DLPRbcehnpsVvwi:I:t:SX:d:",
                              {{"raw", 'w'},
                               {"props", 'p'},
                               {"compressed", 'c'},
                               {"large-block", 'L'},
                               {"embed", 'e'},
                               {"verbose", 'v'},
                               {"dryrun", 'n'},
                               {"parsable", 'P'},
                               {"saved", 'S'},
                               {"backup", 'b'},
                               {"holds", 'h'},
                               {"replicate", 'R'}});
    bool resume = o.has('t');
    if (!resume && o.operands.empty()) throw UsageError("missing snapshot argument");
    if (o.operands.size() > 1) throw UsageError("too many arguments");
    if (resume && !o.operands.empty()) throw UsageError("too many arguments");
    if (o.has('i') && o.has('I')) throw UsageError("invalid option combination: -i and -I");
    bool dry = o.has('n');
    bool raw = o.has('w');
    std::vector<Part> parts;
    std::string what;
    std::string contents;  // resume token contents for -v
    {
        Store::Guard guard(st);
        State s =
            resume ? st.load() : st.load_subset({o.operands[0].substr(0, o.operands[0].find_first_of("@#"))});
        if (resume) {
            auto tok = zferry::zfs::decode_resume_token(o.last('t'));
            if (!tok)
                throw SimError("cannot resume send: " + tok.error().context() +
                               "\n");  // "resume token is corrupt"
            const auto& t = *tok;
            if (o.has('v')) contents = token_contents(t);
            Dataset* to = s.find(t.toname);
            if (to == nullptr)
                throw SimError("cannot resume send: '" + t.toname +
                               "' used in the initial send no longer exists\n");
            if (to->guid != t.toguid)
                throw SimError("cannot resume send: '" + t.toname +
                               "' is no longer the same snapshot used in the "
                               "initial send\n");
            Dataset* from = nullptr;
            if (t.fromguid) {
                for (Dataset* v : s.versions_of(to->fs_name(), true, true))
                    if (v->guid == *t.fromguid && v->createtxg < to->createtxg) from = v;
                if (from == nullptr)
                    throw SimError("cannot resume send: incremental source " + hex(*t.fromguid) +
                                   " no longer exists\n");
            }
            raw = t.rawok && encryption_of(s, to->fs_name()) != "off";
            Options flags;
            if (t.compressok) flags.opts.emplace_back('c', "");
            if (t.embedok) flags.opts.emplace_back('e', "");
            if (t.largeblockok) flags.opts.emplace_back('L', "");
            Part p = make_part(st, s, *to, from, raw, false, flags);
            p.h.resume = true;
            p.h.resume_offset = t.offset.value_or(0);
            if (p.h.resume_offset > p.data_len)
                throw SimError("cannot resume send: resume token is corrupt: offset\n");
            p.data_len -= p.h.resume_offset;
            parts.push_back(std::move(p));
            what = to->name;
        } else {
            const std::string& arg = o.operands[0];
            if (arg.find('@') == std::string::npos) {
                Dataset& d = open_dataset(s, arg);
                (void)d;
                throw SimError("cannot send '" + arg +
                               "': sending a filesystem (without a snapshot) is not "
                               "supported by zfs-sim\n");
            }
            Dataset* to = s.find(arg);
            if (to == nullptr || to->kind != Kind::snapshot)
                throw SimError("cannot open '" + arg + "': dataset does not exist\n");
            what = to->name;
            std::string fs = to->fs_name();
            std::string enc = encryption_of(s, fs);
            if (enc != "off" && !raw) {
                if (o.has('p') || o.has('b'))
                    throw SimError("cannot send '" + arg + "': encrypted dataset " + fs +
                                   " may not be sent with properties without the raw flag\n");
                Dataset* f = s.find(fs);
                if (f && f->local.count(".keystatus") && f->local[".keystatus"] == "unavailable")
                    throw SimError("cannot send '" + arg +
                                   "': encryption key not loaded\n");  // approximation
            }
            Dataset* from = nullptr;
            if (o.has('i') || o.has('I')) {
                std::string farg = o.has('i') ? o.last('i') : o.last('I');
                from = resolve_from(s, fs, farg);
                if (from == nullptr || (from->kind != Kind::snapshot && from->kind != Kind::bookmark))
                    throw SimError("cannot send '" + arg + "': incremental source " + farg +
                                   " does not exist\n");
                if (from->fs_name() != fs || from->createtxg >= to->createtxg)
                    throw SimError("cannot send '" + arg + "': not an earlier snapshot from the same fs\n");
            }
            if (o.has('I') && from != nullptr) {
                Dataset* prev = from;
                for (Dataset* v : s.versions_of(fs, true, false)) {
                    if (v->createtxg <= from->createtxg || v->createtxg > to->createtxg || v == from)
                        continue;
                    parts.push_back(make_part(st, s, *v, prev, raw, o.has('p'), o));
                    prev = v;
                }
            } else {
                parts.push_back(make_part(st, s, *to, from, raw, o.has('p') || o.has('b'), o));
            }
        }
    }
    std::uint64_t total = 0;
    for (auto& p : parts) {
        p.json = p.h.to_json();
        total += stream_size(p.json, p.data_len);
    }
    if (o.has('v') || dry) {
        std::string info = contents;
        if (o.has('v') || o.has('P')) {
            for (auto& p : parts) {
                std::uint64_t size = stream_size(p.json, p.data_len);
                if (o.has('P')) {
                    info += p.from_display.empty()
                                ? "full\t" + p.h.toname + "\t" + std::to_string(size) + "\n"
                                : "incremental\t" + p.from_display + "\t" + p.h.toname + "\t" +
                                      std::to_string(size) + "\n";
                } else {
                    info += p.from_display.empty()
                                ? "full send of " + p.h.toname + " estimated size is " + nicenum(size) + "\n"
                                : "send from " + p.from_display + " to " + p.h.toname +
                                      " estimated size is " + nicenum(size) + "\n";
                }
            }
            info += o.has('P') ? "size\t" + std::to_string(total) + "\n"
                               : "total estimated size is " + nicenum(total) + "\n";
        }
        write_all(dry ? 1 : 2, info);
    }
    if (dry) return 0;
    if (::isatty(1))
        throw SimError(
            "Error: Stream can not be written to a terminal.\nYou must redirect standard output.\n");

    StreamOut out(what);
    std::vector<char> buf(1 << 17);
    for (auto& p : parts) {
        std::string prefix = encode_prefix(p.json, p.data_len);
        StreamHash hash;
        hash.update(p.json.data(), p.json.size());
        out.write(prefix.data(), prefix.size());
        std::uint64_t off = p.h.resume_offset, left = p.data_len;
        while (left > 0) {
            ssize_t n =
                ::pread(p.fd, buf.data(), std::min<std::uint64_t>(buf.size(), left), static_cast<off_t>(off));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw SimError("warning: cannot send '" + p.h.toname + "': Input/output error\n");
            hash.update(buf.data(), static_cast<std::size_t>(n));
            out.write(buf.data(), static_cast<std::size_t>(n));
            off += static_cast<std::uint64_t>(n);
            left -= static_cast<std::uint64_t>(n);
        }
        std::string trailer(kTrailerMagic);
        put_u64(trailer, hash.value());
        out.write(trailer.data(), trailer.size());
        if (p.fd >= 0) ::close(p.fd);
    }
    out.finish();
    return 0;
}

}  // namespace zfssim
