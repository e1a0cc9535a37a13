// receive: full, incremental and compound streams, -F, -s (resumable state and tokens),
// resume streams from `send -t`, -A, -o/-x, -n/-v, -d/-e.
#include "tools/zfs-sim/commands.hpp"

#include "tools/zfs-sim/faults.hpp"
#include "tools/zfs-sim/options.hpp"
#include "tools/zfs-sim/props.hpp"
#include "tools/zfs-sim/recv_state.hpp"
#include "tools/zfs-sim/stream_format.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace zfssim {
namespace {

// stdin with byte counting and the RECV fault injection.
struct Input {
    ByteFault fault = ByteFault::from_env("RECV");
    std::uint64_t total = 0;
    bool injected = false, interrupted = false;

    std::size_t read_full(char* p, std::size_t n) {
        std::size_t got = 0;
        while (got < n) {
            if (terminated()) {
                interrupted = true;
                return got;
            }
            std::uint64_t ok = fault.allowance(total, n - got);
            if (ok == 0) {
                if (fault.stall_after && total >= *fault.stall_after) {
                    stall_forever();
                    interrupted = true;
                } else {
                    injected = true;
                }
                return got;
            }
            ssize_t r = ::read(0, p + got, ok);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return got;
            got += static_cast<std::size_t>(r);
            total += static_cast<std::uint64_t>(r);
        }
        return got;
    }
};

struct Flags {
    bool force = false, resumable = false, dry = false, verbose = false;
    std::map<std::string, std::string> set;
    std::set<std::string> exclude;
};

std::string encryption_of(const Dataset* d) {
    if (d == nullptr) return "off";
    auto it = d->local.find(".encryption");
    return it == d->local.end() ? "off" : it->second;
}

std::string prefix_of(const StreamHeader& h) {
    return std::string("cannot receive ") + (h.fromguid != 0 ? "incremental" : "new filesystem") +
           " stream: ";
}

// What zfs decides from the stream header before reading data; repeated before commit.
void check_target(State& s, const StreamHeader& h, const std::string& fs, const std::string& snap,
                  const Flags& f) {
    std::string pre = prefix_of(h);
    Dataset* d = s.find(fs);
    if (h.resume) {
        if (d == nullptr || !d->partial)
            throw SimError(pre + "destination '" + fs + "' has no partially received state to resume\n");
        auto ph = StreamHeader::from_json(d->partial->header);
        if (!ph || ph->toguid != h.toguid)
            throw SimError(pre + "resume stream does not match the partially received state of '" + fs +
                           "'\n");
        if (d->partial->data_bytes != h.resume_offset)
            throw SimError(pre + "resume stream offset does not match the partially received state of '" +
                           fs + "'\n");
        return;
    }
    if (d != nullptr && d->partial)
        throw SimError(pre + "destination " + fs +
                       " contains partially-complete state from \"zfs receive -s\".\n");
    if (d != nullptr && d->kind != Kind::filesystem && d->kind != Kind::volume)
        throw SimError(pre + "destination '" + fs + "' is not a filesystem\n");
    if (h.fromguid == 0) {
        if (d != nullptr) {
            if (!f.force)
                throw SimError(pre + "destination '" + fs + "' exists\nmust specify -F to overwrite it\n");
            if (encryption_of(d) != "off" || (h.raw && h.encryption != "off"))
                throw SimError(
                    pre +
                    "zfs receive -F cannot be used to destroy an encrypted filesystem or overwrite an "
                    "unencrypted one with an encrypted one\n");
            auto snaps = s.versions_of(fs, true, false);
            if (!snaps.empty())
                throw SimError(pre + "destination has snapshots (eg. " + snaps.front()->name +
                               ")\nmust destroy them to overwrite it\n");
        } else {
            std::string parent = parent_name(fs);
            if (parent.empty() || !s.exists(parent))
                throw SimError("cannot open '" + fs + "': dataset does not exist\n" + pre +
                               "dataset does not exist\n");
        }
        return;
    }
    if (d == nullptr) throw SimError(pre + "destination '" + fs + "' does not exist\n");
    if (s.exists(fs + "@" + snap)) throw SimError(pre + "destination '" + fs + "@" + snap + "' exists\n");
    auto snaps = s.versions_of(fs, true, false);
    Dataset* recent = snaps.empty() ? nullptr : snaps.back();
    // -F only rolls back changes since the most recent snapshot; as in OpenZFS it never
    // destroys snapshots for a non-replication stream.
    if (recent == nullptr || recent->guid != h.fromguid) {
        throw SimError(pre + "most recent snapshot of " + fs + " does not match incremental source\n");
    } else if (d->blob != recent->blob && !f.force) {
        throw SimError(pre + "destination " + fs + " has been modified\nsince most recent snapshot\n");
    }
}

// Makes the received snapshot real (under the lock, after check_target).
void apply(Store& st, State& s, const StreamHeader& h, const std::string& fs, const std::string& snap,
           const std::string& blob, std::uint64_t size, const Flags& f) {
    std::uint64_t txg = s.next_txg();
    Dataset* d = s.find(fs);
    auto set_encryption = [&](Dataset& x) {
        x.local.erase(".encryption");
        x.local.erase(".keystatus");
        if (h.raw && h.encryption != "off") {
            x.local[".encryption"] = h.encryption;
            x.local[".keystatus"] = "unavailable";
        } else if (auto pe = encryption_of(s.find(parent_name(fs))); pe != "off") {
            x.local[".encryption"] = pe;
        }
    };
    if (h.fromguid == 0) {
        if (d == nullptr) {
            s.datasets[fs] = make_dataset(s, fs, h.volume ? Kind::volume : Kind::filesystem, txg);
            d = s.find(fs);
        } else if (!(d->partial && d->partial->new_fs)) {
            d->guid = random_u64();  // -F: a new filesystem replaces the old one
            d->local.clear();
            d->received.clear();
        }
        set_encryption(*d);
    } else {
        d = s.find(fs);  // -F: the filesystem's changes since its most recent snapshot are discarded
    }
    if (d->partial) {
        ::unlink(st.tmp_path(d->partial->tmp_blob).c_str());
        d->partial.reset();
    }
    if (h.props)
        for (auto& [k, v] : *h.props)
            if (!f.exclude.count(k)) d->received[k] = v;
    for (auto& [k, v] : f.set) d->local[k] = v;
    Dataset sd;
    sd.name = fs + "@" + snap;
    sd.kind = Kind::snapshot;
    sd.guid = h.toguid;
    sd.createtxg = txg;
    sd.creation = h.creation;
    sd.blob = blob;
    sd.size = size;
    d->blob = blob;
    d->size = size;
    s.datasets[sd.name] = std::move(sd);
    s.gc_needed = true;
}

// How many more data bytes the pool of `fs` can take, or nullopt when it has no capacity set
// (sim-set-pool-size). Used = every distinct data blob of the pool's filesystems and snapshots
// plus the data of partial receives. Taken once before a receive streams: receives into one
// pool at the same time may overcommit it (a simulator's simplification).
std::optional<std::uint64_t> pool_room(Store& st, State& s, const std::string& fs) {
    const std::string pool = fs.substr(0, fs.find('/'));
    Dataset* root = s.find(pool);
    if (root == nullptr) return std::nullopt;
    auto cap = root->local.find(".capacity");
    if (cap == root->local.end()) return std::nullopt;
    const std::uint64_t capacity = std::strtoull(cap->second.c_str(), nullptr, 10);
    State all = st.load_subset({pool});
    std::map<std::string, std::uint64_t> blobs;
    std::uint64_t used = 0;
    for (auto& [name, d] : all.datasets) {
        if (!d.blob.empty()) blobs[d.blob] = d.size;
        if (d.partial) used += d.partial->data_bytes;
    }
    for (auto& [blob, size] : blobs) used += size;
    return used >= capacity ? 0 : capacity - used;
}

int abort_resumable(Store& st, const Options& o) {
    if (o.operands.size() != 1)
        throw UsageError(o.operands.empty() ? "missing filesystem argument" : "too many arguments");
    const std::string& fs = o.operands[0];
    Store::Guard guard(st);
    State s = st.load_for_update({fs});
    Dataset& d = open_filesystem(s, fs);
    if (!d.partial) throw SimError("'" + fs + "' does not have any resumable receive state to abort\n");
    ::unlink(st.tmp_path(d.partial->tmp_blob).c_str());
    if (d.partial->new_fs)
        s.erase(fs);
    else
        d.partial.reset();
    st.save(s);
    return 0;
}

bool copy_file(const std::string& from, const std::string& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = out >= 0;
    if (in >= 0 && out >= 0) {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(in, buf, sizeof buf)) > 0) ok &= write_all(out, buf, static_cast<std::size_t>(n));
    }
    if (in >= 0) ::close(in);
    if (out >= 0) ::close(out);
    return ok;
}

}  // namespace

int cmd_recv(Store& st, const Context& c) {
    Options o = parse_options(c.args, "vMnsFhuo:x:deA");
    if (o.has('A')) return abort_resumable(st, o);
    if (o.operands.empty()) throw UsageError("missing snapshot argument");
    if (o.operands.size() > 1) throw UsageError("too many arguments");
    if (o.has('d') && o.has('e')) throw UsageError("invalid option combination: -d and -e");
    Flags f;
    f.force = o.has('F');
    f.resumable = o.has('s');
    f.dry = o.has('n');
    f.verbose = o.has('v');
    for (auto& kv : o.all('o')) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) throw UsageError("missing '=' for property=value argument");
        f.set[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (auto& x : o.all('x')) f.exclude.insert(x);
    const std::string target = o.operands[0];
    if (::isatty(0))
        throw SimError(
            "Error: Backup stream can not be read from a terminal.\nYou must redirect standard input.\n");

    Input in;
    for (int k = 0;; ++k) {
        std::uint64_t start = in.total;
        char magic[8];
        std::size_t got = in.read_full(magic, 8);
        if (got == 0 && k > 0 && !in.injected && !in.interrupted) break;
        if (got < 8) throw SimError("cannot receive: failed to read from stream\n");
        if (std::memcmp(magic, kStreamMagic.data(), 8) != 0)
            throw SimError("cannot receive: invalid stream (bad magic number)\n");
        unsigned char lenb[4];
        if (in.read_full(reinterpret_cast<char*>(lenb), 4) < 4)
            throw SimError("cannot receive: failed to read from stream\n");
        std::uint32_t hlen = get_u32(lenb);
        if (hlen > (1u << 20)) throw SimError("cannot receive: invalid stream (bad magic number)\n");
        std::string json(hlen, '\0');
        if (in.read_full(json.data(), hlen) < hlen)
            throw SimError("cannot receive: failed to read from stream\n");
        auto hdr = StreamHeader::from_json(json);
        if (!hdr) throw SimError("cannot receive: invalid stream (bad magic number)\n");
        const StreamHeader& h = *hdr;
        std::string pre = prefix_of(h);

        std::string fs = target, snap = h.snapshot_name();
        if (auto at = target.find('@'); at != std::string::npos) {
            fs = target.substr(0, at);
            snap = target.substr(at + 1);
        }
        if (o.has('d') || o.has('e')) {
            std::string sfs = h.toname.substr(0, h.toname.find('@'));
            if (o.has('e'))
                fs = target + "/" + sfs.substr(sfs.rfind('/') + 1);
            else if (auto sl = sfs.find('/'); sl != std::string::npos)
                fs = target + sfs.substr(sl);
        }
        if (auto why = name_problem(fs + "@" + snap, Kind::snapshot); !why.empty())
            throw SimError("cannot receive: invalid name '" + fs + "@" + snap + "': " + why + "\n");

        // Check the destination, then stream without holding the lock.
        std::string tmp_id = random_id();
        StreamHeader eff = h;  // the header whose semantics apply (the first attempt's for resumes)
        std::optional<std::uint64_t> room;  // data bytes the pool can still take (none: unlimited)
        {
            Store::Guard guard(st);
            State s = st.load_for_update({target.substr(0, target.find('@'))});
            check_target(s, h, fs, snap, f);
            if (!f.dry) room = pool_room(st, s, fs);
            if (h.resume) {
                Dataset* d = s.find(fs);
                eff = *StreamHeader::from_json(d->partial->header);
                eff.resume = false;
                if (!f.dry) copy_file(st.tmp_path(d->partial->tmp_blob), st.tmp_path(tmp_id));
            }
        }
        if (h.resume && o.operands[0].find('@') == std::string::npos) snap = eff.snapshot_name();
        std::string kind = eff.fromguid != 0 ? "incremental" : "full";
        if (f.verbose || f.dry) {
            std::string line = f.dry ? "would receive " : "receiving ";
            line += (h.resume ? "resume stream of " : kind + " stream of ") + h.toname + " into " + fs + "@" +
                    snap + "\n";
            if (f.verbose) write_all(1, line);
        }

        int fd = -1;
        if (!f.dry) {
            fd = ::open(st.tmp_path(tmp_id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd < 0) throw SimError("zfs-sim: cannot create temporary data file\n");
        }
        auto cleanup_tmp = [&] {
            if (fd >= 0) ::close(fd);
            fd = -1;
        };
        std::uint64_t data_got = 0;
        bool truncated = false, corrupt = false, no_space = false;
        StreamHash hash;
        hash.update(json.data(), json.size());
        unsigned char lb[8];
        std::uint64_t data_len = 0;
        if (in.read_full(reinterpret_cast<char*>(lb), 8) < 8) {
            truncated = true;
        } else {
            data_len = get_u64(lb);
            std::vector<char> buf(1 << 17);
            while (data_got < data_len) {
                std::size_t want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), data_len - data_got));
                // A full pool: what fits is written, then zfs stops with ENOSPC (OpenZFS keeps
                // what was written as the partial state of a `recv -s`, and says only "out of
                // space": no resume hint, the token is in receive_resume_token).
                if (room) {
                    if (*room <= data_got) {
                        no_space = true;
                        break;
                    }
                    want = static_cast<std::size_t>(std::min<std::uint64_t>(want, *room - data_got));
                }
                std::size_t n = in.read_full(buf.data(), want);
                hash.update(buf.data(), n);
                if (fd >= 0 && n > 0 && !write_all(fd, buf.data(), n)) {
                    cleanup_tmp();
                    throw SimError(pre + "out of space\n");
                }
                data_got += n;
                if (n < want) {
                    truncated = true;
                    break;
                }
            }
            if (!truncated && !no_space) {
                unsigned char tr[16];
                if (in.read_full(reinterpret_cast<char*>(tr), 16) < 16)
                    truncated = true;
                else if (std::memcmp(tr, kTrailerMagic.data(), 8) != 0 || get_u64(tr + 8) != hash.value())
                    corrupt = true;
            }
        }
        cleanup_tmp();
        if (in.injected)
            std::fprintf(stderr,
                         "zfs-sim: receive failed after %llu bytes (injected by ZFS_SIM_FAIL_RECV_AFTER)\n",
                         static_cast<unsigned long long>(in.total));
        if (truncated || corrupt || no_space) {
            if (!f.resumable || f.dry) {
                ::unlink(st.tmp_path(tmp_id).c_str());
                throw SimError(pre + (no_space ? "out of space\n" : "invalid backup stream\n"));
            }
            // Keep what arrived so that `zfs send -t` can continue from there.
            Store::Guard guard(st);
            State s = st.load_for_update({target.substr(0, target.find('@'))});
            Dataset* d = s.find(fs);
            std::uint64_t attempt_bytes = in.total - start;
            if (h.resume) {
                if (d == nullptr || !d->partial) throw SimError(pre + "invalid backup stream\n");
                if (!corrupt) {
                    ::unlink(st.tmp_path(d->partial->tmp_blob).c_str());
                    d->partial->tmp_blob = tmp_id;
                    d->partial->data_bytes += data_got;
                    d->partial->stream_bytes += attempt_bytes;
                } else {
                    ::unlink(st.tmp_path(tmp_id).c_str());
                }
            } else {
                PartialRecv p;
                p.header = json;
                p.tmp_blob = tmp_id;
                p.data_bytes = corrupt ? 0 : data_got;
                p.stream_bytes = corrupt ? 0 : attempt_bytes;
                if (corrupt) ::truncate(st.tmp_path(tmp_id).c_str(), 0);
                if (d == nullptr) {
                    s.datasets[fs] =
                        make_dataset(s, fs, h.volume ? Kind::volume : Kind::filesystem, s.next_txg());
                    d = s.find(fs);
                    p.new_fs = true;
                    if (h.raw && h.encryption != "off") {
                        d->local[".encryption"] = h.encryption;
                        d->local[".keystatus"] = "unavailable";
                    }
                }
                d->partial = std::make_unique<PartialRecv>(std::move(p));
            }
            st.save(s);
            if (no_space) throw SimError(pre + "out of space\n");
            throw SimError(
                pre +
                "checksum mismatch or incomplete stream.\nPartially received snapshot is saved.\n"
                "A resuming stream can be generated on the sending system by running:\n    zfs send -t " +
                resume_token_of(*d) + "\n");
        }
        if (f.dry) continue;
        {
            Store::Guard guard(st);
            State s = st.load_for_update({target.substr(0, target.find('@'))});
            try {
                check_target(s, h, fs, snap, f);
            } catch (...) {
                ::unlink(st.tmp_path(tmp_id).c_str());
                throw;
            }
            std::uint64_t size = h.resume ? h.resume_offset + data_got : data_got;
            std::string blob = size == 0 ? std::string() : st.adopt_tmp(tmp_id);
            if (size == 0) ::unlink(st.tmp_path(tmp_id).c_str());
            apply(st, s, eff, fs, snap, blob, size, f);
            st.save(s);
        }
        if (f.verbose) {
            std::uint64_t b = in.total - start;
            write_all(1, "received " + nicenum(b) + " stream in 1 seconds (" + nicenum(b) + "/sec)\n");
        }
    }
    return 0;
}

}  // namespace zfssim
