// `zfs send` and `zfs recv` command lines (argv without the binary), reference §5.1.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zferry::zfs {

// The `send:` options of a job.
struct SendPolicy {
    bool encrypted = false;          // -w, and the dataset must be encrypted
    bool raw = false;                // -w
    bool send_properties = false;    // -p
    bool backup_properties = false;  // -b
    bool large_blocks = false;       // -L
    bool compressed = false;         // -c
    bool embedded_data = false;      // -e
    bool saved = false;              // -S
    friend bool operator==(const SendPolicy&, const SendPolicy&) = default;
};

// Flags in zrepl's order: -w -p -b -L -c -e -S.
std::vector<std::string> send_policy_flags(const SendPolicy& p);

struct SendSpec {
    std::string filesystem;    // "pool/fs"
    std::string from;          // "" (full send), "@snap" or "#bookmark"
    std::string to;            // "@snap"
    std::string resume_token;  // non-empty: `send -t TOKEN` and nothing else
    // `send -I @from ...`: every snapshot between from and to in one compound stream (the
    // planner's coalesced step). `from` must be a snapshot: zfs takes no bookmark with -I.
    bool intermediates = false;
};

// `send [flags] [-i fs@from|fs#from | -I fs@from] fs@to`, or `send -t TOKEN` (a token carries the flags
// and the versions; OpenZFS refuses other arguments with it).
std::vector<std::string> send_argv(const SendPolicy& p, const SendSpec& s);
// The dry run used for size estimates: `send -n -v -P <same args>`.
std::vector<std::string> dry_send_argv(const SendPolicy& p, const SendSpec& s);

struct RecvOptions {
    bool force_rollback = false;                                      // -F
    bool resumable = false;                                           // -s: keep partial state for `send -t`
    bool unmounted = false;                                           // -u
    std::vector<std::pair<std::string, std::string>> set_properties;  // -o k=v
    std::vector<std::string> exclude_properties;                      // -x k
};

// `recv [-F] [-s] [-u] [-o k=v]... [-x k]... fs@snap`.
std::vector<std::string> recv_argv(const RecvOptions& o, std::string_view target_snapshot);
// `recv -A fs`.
std::vector<std::string> recv_abort_argv(std::string_view filesystem);

}  // namespace zferry::zfs
