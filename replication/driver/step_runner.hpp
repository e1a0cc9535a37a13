// Runs one replication step between a Sender and a Receiver whose streams are file
// descriptors (both local, or a local side and a transport that gives fds): send, receive,
// copy the stream counting its bytes, finish both, confirm with SendCompleted (zrepl's
// Step.doReplication, reference §3.2). Whatever fails, both transfers are stopped before this
// returns: no hang, no zfs child left behind, and on a resumable receiver the partial state
// stays for the next attempt. Cancelling the awaiting coroutine stops the step the same way.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "replication/logic/step.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace zferry::replication {

struct StepOutcome {
    std::uint64_t bytes = 0;  // stream bytes moved from sender to receiver
    bool used_resume_token = false;
};

// Arguments are taken by value: the coroutine may start after the caller's temporaries died
// (a test spawned it with a literal filesystem name: stack-use-after-scope under ASan).
// The first error that explains the failure: the receiver's when it refused or broke (zfs
// says why), else the sender's, else the copy's. `progress` (optional) sees the running total.
boost::asio::awaitable<Result<StepOutcome>> run_step(Sender& sender, Receiver& receiver,
                                                     std::string filesystem, Step step, Protection protection,
                                                     std::function<void(std::uint64_t)> progress = {});

}  // namespace zferry::replication
