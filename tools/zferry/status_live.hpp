// The driver of the live `zferry status` view: polls the control socket about once a second,
// redraws in place on the alternate screen, reads keys without waiting for Enter (`q` quits),
// re-renders on SIGWINCH, and restores the terminal on every way out (q, SIGINT, SIGTERM,
// SIGHUP, an exception). Rendering is `status_view`'s pure function.
#pragma once

#include <string>

namespace zferry::cli {

bool stdout_is_terminal();

// Runs until `q` or a terminating signal; the exit status (0 on a clean exit).
int run_live_status(const std::string& sockpath, const std::string& only_job);

}  // namespace zferry::cli
