// What the installed `zfs` can do, derived from the usage text and exit code of a few
// harmless probe invocations. OpenZFS 2.x supports everything; zfs-fuse (pool v23) answers
// unknown options with "invalid option 'X'" / "unrecognized command 'X'" and rc=2.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

struct Capabilities {
    bool resumable_send = false;          // `send -t TOKEN`
    bool resumable_recv = false;          // `recv -s`, `recv -A`
    bool bookmarks = false;               // `zfs bookmark`, `list -t bookmark`, `send -i fs#bm`
    bool raw_send = false;                // `send -w` (encrypted datasets)
    bool list_parsable = false;           // `list -p`; without it use `zfs get -Hp`
    bool send_size_estimate = false;      // `send -n -v -P`
    bool holds_listing = false;           // `zfs holds`; without it only the userrefs count is known
    bool destroy_comma_list = false;      // `destroy fs@a,b,c`
    bool recv_property_options = false;   // `recv -o k=v -x k`
    bool send_large_blocks = false;       // -L
    bool send_compressed = false;         // -c
    bool send_embedded_data = false;      // -e
    bool send_backup_properties = false;  // -b
    bool send_saved = false;              // -S / --saved
    friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct ProbeResult {
    int exit_code = 0;
    std::string output;  // stdout and stderr together
};

enum class Probe { send, receive, destroy, list, bookmark, holds };

// argv (without the binary) of each probe. None of them changes anything: without
// arguments zfs prints the usage; the list probe lists at most the pools' root datasets.
std::vector<std::string> probe_argv(Probe p);

struct CapabilityProbes {
    ProbeResult send, receive, destroy, list, bookmark, holds;
};

// The flag letters of the `[-abc]` groups of the usage lines for `verb` ("send", ...).
std::string usage_flags(std::string_view usage, std::string_view verb);

void apply_send_probe(Capabilities& c, const ProbeResult& r);
void apply_receive_probe(Capabilities& c, const ProbeResult& r);
void apply_destroy_probe(Capabilities& c, const ProbeResult& r);
void apply_list_probe(Capabilities& c, const ProbeResult& r);
void apply_bookmark_probe(Capabilities& c, const ProbeResult& r);
void apply_holds_probe(Capabilities& c, const ProbeResult& r);

Capabilities derive_capabilities(const CapabilityProbes& probes);

// A probe that never reached ZFS (binary missing, zfs-fuse daemon not running, libzfs
// failing to initialise) says nothing about capabilities: report it instead of silently
// degrading. Returns what went wrong, or nullopt when the probe ran.
std::optional<std::string> probe_failure(const ProbeResult& r);

// One line per missing capability, for the "degraded" log message.
std::vector<std::string> describe_missing(const Capabilities& c);

}  // namespace zferry::zfs
