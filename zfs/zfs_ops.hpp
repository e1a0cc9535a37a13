// The asynchronous zfs operations on top of ZfsRunner, all in one include: listing,
// properties and placeholders, holds, bookmarks, batch destroy, rollback and `recv -A`.
// Each function takes the runner by reference (it must outlive the awaitable) and returns
// Result<...>; its comment states what is idempotent and which ZfsErrc each refusal carries.
#pragma once

#include "zfs/bookmark_ops.hpp"
#include "zfs/destroy_ops.hpp"
#include "zfs/hold_ops.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/property_ops.hpp"
#include "zfs/rollback_ops.hpp"
#include "zfs/snapshot_ops.hpp"
#include "zfs/zfs_error.hpp"
