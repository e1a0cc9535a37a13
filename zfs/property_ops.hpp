// Properties with their sources (local, inherited, received, default, ...), `zfs set`, and
// zrepl's placeholder flag (`zrepl:placeholder`, only a local value counts).
#pragma once

#include "core/error.hpp"
#include "zfs/properties.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <utility>
#include <vector>

namespace zferry::zfs {

struct GetPropertiesOptions {
    bool recursive = false;
    int depth = -1;                 // with recursive: -d N (-1: unlimited)
    bool filesystems_only = false;  // drop snapshots and bookmarks (`-t filesystem,volume`, or filtered
                                    // here on zfs-fuse, whose get has no -t)
};

// `zfs get -Hp -o name,property,value,source PROPS PATH` (one invocation, recursive or not).
// Every returned dataset carries every requested property (zfs prints '-' with source none
// for an unset user property). Errors: PATH missing (ZfsErrc::dataset_not_found, names it),
// a property this zfs does not know, e.g. `encryption` on zfs-fuse (ZfsErrc::unsupported,
// names the property), unparsable output (Errc::parse_error), bad names (Errc::invalid_argument).
boost::asio::awaitable<Result<std::vector<DatasetProperties>>> get_properties(ZfsRunner& runner, std::string path,
                                                                             std::vector<std::string> props,
                                                                             GetPropertiesOptions opts = {});

// One property of one dataset (snapshots and bookmarks too); errors as get_properties.
boost::asio::awaitable<Result<PropertyValue>> get_property(ZfsRunner& runner, std::string path, std::string prop);

// `zfs set k=v ... PATH`: one invocation on OpenZFS; one per property where zfs takes only one
// (zfs-fuse, and any zfs without resumable receive: the multi-property set came with it in
// OpenZFS 0.7). Setting a value that is already set is a no-op for zfs, so this is idempotent.
// Not atomic across properties on zfs-fuse: a failure names the property it stopped at.
// Errors: PATH missing (ZfsErrc::dataset_not_found), zfs refusing a value
// (ZfsErrc::command_failed quoting zfs), bad names (Errc::invalid_argument; nothing run).
boost::asio::awaitable<Result<void>> set_properties(ZfsRunner& runner, std::string path,
                                                    std::vector<std::pair<std::string, std::string>> props);

struct PlaceholderState {
    bool exists = false;          // false: the filesystem does not exist (not an error here)
    bool is_placeholder = false;  // local `zrepl:placeholder` is "on" or the legacy hash value
    std::string raw_local_value;  // the local value, empty when not set locally
};

// One `zfs get`; a missing filesystem is `exists = false`, not an error.
boost::asio::awaitable<Result<PlaceholderState>> get_placeholder_state(ZfsRunner& runner, std::string filesystem);

// `zfs set zrepl:placeholder=on|off FS` (idempotent). Errors as set_properties.
boost::asio::awaitable<Result<void>> set_placeholder(ZfsRunner& runner, std::string filesystem, bool placeholder);

enum class PlaceholderEncryption {
    inherit,  // whatever the parent has
    off,      // `-o encryption=off` (omitted where zfs has no encryption: nothing can be encrypted there)
};

// `zfs create -o zrepl:placeholder=on -o mountpoint=none [-o encryption=off] FS`. Not
// idempotent on purpose: an existing dataset is ZfsErrc::dataset_exists (the caller decides
// whether an existing filesystem may become a placeholder). A missing parent is
// ZfsErrc::dataset_not_found naming the parent.
boost::asio::awaitable<Result<void>> create_placeholder(ZfsRunner& runner, std::string filesystem,
                                                        PlaceholderEncryption encryption);

}  // namespace zferry::zfs
