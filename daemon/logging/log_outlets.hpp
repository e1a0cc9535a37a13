// global.logging of the configuration as the process's log outlets: stdout, syslog and tcp,
// each with its own level and format (human, logfmt, json), as zrepl has them.
#pragma once

#include "core/log.hpp"
#include "daemon/config/config.hpp"

namespace zferry::daemon {

// The outlets (a tcp outlet's sink starts its connecting thread here: it lives as long as the
// returned options' outlets, i.e. until log_init is called again).
LogOptions log_options_from(const config::Global& global);

}  // namespace zferry::daemon
