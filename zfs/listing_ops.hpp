// Listing filesystems and versions with ONE zfs invocation per call, however many datasets
// the tree holds (a host with 10 000 filesystems and 100 000 snapshots must not cost 10 000
// zfs processes). On OpenZFS the listings use `zfs list -p`; on a zfs without `list -p`
// (zfs-fuse) the numbers come from one recursive `zfs get -Hp` instead, announced once with
// an info line. Read-only, so trivially idempotent.
#pragma once

#include "core/error.hpp"
#include "zfs/filesystem_listing.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <string>
#include <vector>

namespace zferry::zfs {

// Every filesystem and volume at and below `root` (empty: every pool), with the values of
// `props` in request order (numbers exact). One invocation: `list -H -p -o name,PROPS -r -t
// filesystem,volume`; on zfs-fuse `list -H` without -p when every property is a user or
// string property, else `get -H -p -r` (whose snapshot lines are dropped).
// Errors: root missing (ZfsErrc::dataset_not_found, names root), an invalid property
// (ZfsErrc::command_failed quoting zfs), unparsable output (Errc::parse_error).
boost::asio::awaitable<Result<std::vector<FilesystemListEntry>>> list_filesystems(
    ZfsRunner& runner, std::string root, std::vector<std::string> props = {});

struct VersionsQuery {
    bool recursive = false;  // false: the versions of `filesystem` only; true: of every filesystem below too
    bool snapshots = true;
    bool bookmarks = true;  // silently none where zfs has no bookmarks (zfs-fuse)
};

// Snapshots and bookmarks with guid, createtxg, creation and userrefs (absent for bookmarks),
// sorted by filesystem name, then createtxg (a bookmark and its snapshot share a txg; their order
// is zfs's). One
// invocation per call, recursive or not: `list -H -p -o name,guid,createtxg,creation,userrefs
// [-d 1] -r -t bookmark,snapshot -s createtxg FS`, or on zfs-fuse `get -H -p -o
// name,property,value guid,createtxg,creation,userrefs [-d 1] -r FS`.
// Errors: the filesystem does not exist (ZfsErrc::dataset_not_found), invalid name
// (Errc::invalid_argument, nothing run), unparsable output (Errc::parse_error).
boost::asio::awaitable<Result<std::vector<FilesystemVersion>>> list_versions(ZfsRunner& runner,
                                                                            std::string filesystem,
                                                                            VersionsQuery query = {});

// The versions of a recursive listing per filesystem (each still sorted by createtxg).
// Filesystems without versions do not appear.
std::map<std::string, std::vector<FilesystemVersion>> group_by_filesystem(std::vector<FilesystemVersion> versions);

}  // namespace zferry::zfs
