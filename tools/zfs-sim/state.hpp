// The simulated pools: every dataset (filesystem, volume, snapshot, bookmark) with its
// identity, properties, holds and data, kept in one text file in $ZFS_SIM_STATE and
// guarded by an flock on $ZFS_SIM_STATE/lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zfssim {

enum class Kind { filesystem, volume, snapshot, bookmark };

const char* kind_name(Kind k);

// State of an interrupted `zfs recv -s`, kept on the receiving filesystem.
struct PartialRecv {
    std::string header;              // the stream header (JSON) of the first attempt
    std::string tmp_blob;            // data received so far (file name under tmp/)
    std::uint64_t data_bytes = 0;    // data received so far
    std::uint64_t stream_bytes = 0;  // stream bytes read over all attempts
    bool new_fs = false;             // the filesystem exists only because of this receive
};

struct Dataset {
    std::string name;
    Kind kind = Kind::filesystem;
    std::uint64_t guid = 0, createtxg = 0, creation = 0;
    std::string blob;  // data blob id under blobs/ ("" = empty)
    std::uint64_t size = 0;
    std::map<std::string, std::string> local;     // locally set properties
    std::map<std::string, std::string> received;  // received properties
    std::map<std::string, std::uint64_t> holds;   // tag -> time (snapshots)
    std::unique_ptr<PartialRecv> partial;         // rare: kept out of line to keep Dataset small

    // "p/a" for "p/a", "p/a@s" and "p/a#b".
    std::string fs_name() const;
    // "s" for "p/a@s" / "b" for "p/a#b"; "" for filesystems.
    std::string short_name() const;
};

struct State {
    std::uint64_t txg = 1;
    std::map<std::string, Dataset> datasets;
    bool gc_needed = false;  // blobs may have become unreferenced
    // Lines of datasets a command did not need (load_for_update), saved back verbatim.
    std::string passthrough;

    Dataset* find(const std::string& name);
    bool exists(const std::string& name) const { return datasets.count(name) != 0; }
    // Snapshots (and bookmarks if asked) of filesystem `fs`, oldest first by createtxg.
    std::vector<Dataset*> versions_of(const std::string& fs, bool snapshots, bool bookmarks);
    // Filesystems/volumes strictly below `fs` (not their snapshots).
    std::vector<Dataset*> children_of(const std::string& fs, bool recursive);
    std::uint64_t next_txg() { return ++txg; }
    void erase(const std::string& name);
};

// The state directory and its lock. Every command loads the state under the lock and saves
// it (if it changed) before unlocking. Data blobs are immutable files under blobs/.
class Store {
public:
    // Reads $ZFS_SIM_STATE; throws SimError when it is unset.
    Store();
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    void lock();
    void unlock();
    // Holds the state lock for its lifetime.
    class Guard {
    public:
        explicit Guard(Store& s) : s_(s) { s_.lock(); }
        ~Guard() { s_.unlock(); }
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;

    private:
        Store& s_;
    };
    State load() const;
    // Read-only view: only the datasets at or below `roots` and their ancestors (what list,
    // get and holds on those names can show). Never save() such a state.
    State load_subset(const std::vector<std::string>& roots) const;
    // Read-only view of the datasets named and their ancestors, without anything below them
    // (what a non-recursive get shows: no property depends on a dataset's descendants).
    State load_ancestry(const std::vector<std::string>& names) const;
    // For a command that changes only datasets related to `roots` (see load_subset): the rest
    // is kept as text and written back unchanged by save().
    State load_for_update(const std::vector<std::string>& roots) const;
    void save(const State& s) const;

    const std::string& dir() const { return dir_; }
    std::string blob_path(const std::string& id) const { return dir_ + "/blobs/" + id; }
    std::string tmp_path(const std::string& id) const { return dir_ + "/tmp/" + id; }
    // Moves tmp/<tmp_id> to blobs/ and returns the blob id.
    std::string adopt_tmp(const std::string& tmp_id) const;
    // Writes bytes as a new blob.
    std::string write_blob(const std::string& bytes) const;
    // Removes blobs no dataset references (call under the lock).
    void gc(const State& s) const;

private:
    State load_filtered(const std::vector<std::string>* roots, bool keep_rest, bool descendants = true) const;
    std::string dir_;
    int lock_fd_ = -1;
};

std::uint64_t random_u64();
std::string random_id();
// The simulated host's clock: the system clock plus the offset in seconds that the file
// named by ZFS_SIM_CLOCK_FILE holds, re-read at each call (tests jump a host's clock by
// rewriting the file); a file that is set but unreadable or not an integer is an error.
std::uint64_t now_seconds();

}  // namespace zfssim
