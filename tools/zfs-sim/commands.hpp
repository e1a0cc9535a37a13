// The subcommands. Each takes its arguments, runs under the state lock as needed and
// returns the exit status (or throws SimError / UsageError).
#pragma once

#include "tools/zfs-sim/common.hpp"

namespace zfssim {

int cmd_create(Store& st, const Context& c);
int cmd_set(Store& st, const Context& c);
int cmd_inherit(Store& st, const Context& c);
int cmd_snapshot(Store& st, const Context& c);
int cmd_bookmark(Store& st, const Context& c);
int cmd_rollback(Store& st, const Context& c);
int cmd_hold(Store& st, const Context& c);
int cmd_holds(Store& st, const Context& c);
int cmd_release(Store& st, const Context& c);
int cmd_destroy(Store& st, const Context& c);
int cmd_list(Store& st, const Context& c);
int cmd_get(Store& st, const Context& c);
int cmd_send(Store& st, const Context& c);
int cmd_recv(Store& st, const Context& c);

// Helpers that are not part of zfs.
int cmd_sim_create_pool(Store& st, const Context& c);
int cmd_sim_write(Store& st, const Context& c);
int cmd_sim_read(Store& st, const Context& c);
// A pool's capacity in bytes (receives beyond it fail with ENOSPC), or none (unlimited).
int cmd_sim_set_pool_size(Store& st, const Context& c);

}  // namespace zfssim
