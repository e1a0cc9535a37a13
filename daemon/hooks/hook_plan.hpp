// The order in which a snapshot's hooks run, as zrepl runs them (reference §6.3): the pre
// edges in configuration order, then the callback (the `zfs snapshot`), then the post edges of
// the hooks whose pre edge succeeded, in reverse order. A failed pre edge of a hook with
// err_is_fatal stops everything after it: the callback and the remaining hooks are skipped,
// and only the post edges of the pre edges that succeeded run. A post edge failure never stops
// the others. Pure: the driver asks next(), runs it, and reports complete(); the steps are the
// report that `zferry status` shows.
#pragma once

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace zferry::daemon {

enum class HookEdge { pre, callback, post };
std::ostream& operator<<(std::ostream& os, HookEdge e);

enum class HookStepStatus {
    pending,
    exec,
    ok,
    err,
    skipped_due_to_fatal_err,  // an earlier fatal pre edge failed
    skipped_due_to_pre_err,    // a post edge whose own pre edge failed
};
std::ostream& operator<<(std::ostream& os, HookStepStatus s);

struct HookStep {
    std::size_t hook = 0;  // index into the plan's hooks (unused for the callback)
    HookEdge edge = HookEdge::pre;
    HookStepStatus status = HookStepStatus::pending;
    std::string report;  // what the hook (or the callback) said, for the log and status
    std::chrono::milliseconds took{};
    friend bool operator==(const HookStep&, const HookStep&) = default;
};

class HookPlan {
public:
    // What to run now: a hook's pre or post edge, the callback, or nothing more.
    struct Action {
        enum class Kind { run_pre, run_callback, run_post, done };
        Kind kind = Kind::done;
        std::size_t hook = 0;
        friend bool operator==(const Action&, const Action&) = default;
    };

    // One entry per hook that applies: whether its pre-edge failure is fatal.
    explicit HookPlan(std::vector<bool> err_is_fatal);
    HookPlan() : HookPlan(std::vector<bool>{}) {}  // no hooks: only the callback

    Action next() const noexcept;
    // The outcome of the action next() returned (its step becomes ok or err).
    void complete(bool ok, std::string report = {}, std::chrono::milliseconds took = {});

    // Execution order: pre edges, callback, post edges reversed.
    const std::vector<HookStep>& steps() const noexcept { return steps_; }
    bool callback_ran() const noexcept;
    bool had_fatal_error() const noexcept { return fatal_; }
    bool had_error() const noexcept;

private:
    HookStep& step(HookEdge edge, std::size_t hook);
    void advance();

    std::vector<bool> fatal_flags_;
    std::vector<HookStep> steps_;
    Action current_;
    std::size_t pre_done_ = 0;  // pre edges run so far
    bool fatal_ = false;
};

std::ostream& operator<<(std::ostream& os, const HookPlan::Action& a);

}  // namespace zferry::daemon
