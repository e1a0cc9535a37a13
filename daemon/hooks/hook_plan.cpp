#include "daemon/hooks/hook_plan.hpp"

#include <algorithm>

namespace zferry::daemon {

std::ostream& operator<<(std::ostream& os, HookEdge e) {
    switch (e) {
        case HookEdge::pre: return os << "pre";
        case HookEdge::callback: return os << "callback";
        case HookEdge::post: return os << "post";
    }
    return os << "?";
}

std::ostream& operator<<(std::ostream& os, HookStepStatus s) {
    switch (s) {
        case HookStepStatus::pending: return os << "pending";
        case HookStepStatus::exec: return os << "exec";
        case HookStepStatus::ok: return os << "ok";
        case HookStepStatus::err: return os << "err";
        case HookStepStatus::skipped_due_to_fatal_err: return os << "skipped (fatal error)";
        case HookStepStatus::skipped_due_to_pre_err: return os << "skipped (pre edge failed)";
    }
    return os << "?";
}

std::ostream& operator<<(std::ostream& os, const HookPlan::Action& a) {
    switch (a.kind) {
        case HookPlan::Action::Kind::run_pre: return os << "run pre edge of hook " << a.hook;
        case HookPlan::Action::Kind::run_callback: return os << "run the callback";
        case HookPlan::Action::Kind::run_post: return os << "run post edge of hook " << a.hook;
        case HookPlan::Action::Kind::done: return os << "done";
    }
    return os << "?";
}

HookPlan::HookPlan(std::vector<bool> err_is_fatal) : fatal_flags_(std::move(err_is_fatal)) {
    const std::size_t n = fatal_flags_.size();
    for (std::size_t i = 0; i < n; ++i) steps_.push_back({i, HookEdge::pre});
    steps_.push_back({0, HookEdge::callback});
    for (std::size_t i = n; i-- > 0;) steps_.push_back({i, HookEdge::post});
    current_ = n > 0 ? Action{Action::Kind::run_pre, 0} : Action{Action::Kind::run_callback, 0};
    step(current_.kind == Action::Kind::run_pre ? HookEdge::pre : HookEdge::callback, 0).status =
        HookStepStatus::exec;
}

HookStep& HookPlan::step(HookEdge edge, std::size_t hook) {
    return *std::find_if(steps_.begin(), steps_.end(), [&](const HookStep& s) {
        return s.edge == edge && (edge == HookEdge::callback || s.hook == hook);
    });
}

HookPlan::Action HookPlan::next() const noexcept { return current_; }

void HookPlan::complete(bool ok, std::string report, std::chrono::milliseconds took) {
    if (current_.kind == Action::Kind::done) return;
    const HookEdge edge = current_.kind == Action::Kind::run_pre        ? HookEdge::pre
                          : current_.kind == Action::Kind::run_callback ? HookEdge::callback
                                                                        : HookEdge::post;
    HookStep& s = step(edge, current_.hook);
    s.status = ok ? HookStepStatus::ok : HookStepStatus::err;
    s.report = std::move(report);
    s.took = took;
    if (edge == HookEdge::pre) {
        ++pre_done_;
        if (!ok && fatal_flags_[current_.hook]) {
            fatal_ = true;
            // The callback and every later hook (both edges) are skipped, and the failed
            // hook's own post edge with them.
            step(HookEdge::post, current_.hook).status = HookStepStatus::skipped_due_to_fatal_err;
            for (std::size_t i = current_.hook + 1; i < fatal_flags_.size(); ++i) {
                step(HookEdge::pre, i).status = HookStepStatus::skipped_due_to_fatal_err;
                step(HookEdge::post, i).status = HookStepStatus::skipped_due_to_fatal_err;
            }
            step(HookEdge::callback, 0).status = HookStepStatus::skipped_due_to_fatal_err;
        }
    }
    advance();
}

void HookPlan::advance() {
    const std::size_t n = fatal_flags_.size();
    auto start = [&](Action a) {
        current_ = a;
        if (a.kind == Action::Kind::done) return;
        const HookEdge edge = a.kind == Action::Kind::run_pre        ? HookEdge::pre
                              : a.kind == Action::Kind::run_callback ? HookEdge::callback
                                                                     : HookEdge::post;
        step(edge, a.hook).status = HookStepStatus::exec;
    };
    if (current_.kind == Action::Kind::run_pre && !fatal_ && pre_done_ < n)
        return start({Action::Kind::run_pre, pre_done_});
    if (current_.kind == Action::Kind::run_pre && !fatal_) return start({Action::Kind::run_callback, 0});
    // Post edges, from the last pre edge that ran down to the first; a fatal pre edge's own
    // post edge was skipped already.
    std::size_t from = current_.kind == Action::Kind::run_post ? current_.hook : pre_done_;
    if (current_.kind == Action::Kind::run_pre && fatal_) from = pre_done_ - 1;  // skip the failed one
    while (from-- > 0) {
        HookStep& post = step(HookEdge::post, from);
        if (post.status != HookStepStatus::pending) continue;
        if (step(HookEdge::pre, from).status != HookStepStatus::ok) {
            post.status = HookStepStatus::skipped_due_to_pre_err;
            continue;
        }
        return start({Action::Kind::run_post, from});
    }
    current_ = {Action::Kind::done, 0};
}

bool HookPlan::callback_ran() const noexcept {
    auto it = std::find_if(steps_.begin(), steps_.end(),
                           [](const HookStep& s) { return s.edge == HookEdge::callback; });
    return it->status == HookStepStatus::ok || it->status == HookStepStatus::err;
}

bool HookPlan::had_error() const noexcept {
    return std::any_of(steps_.begin(), steps_.end(),
                       [](const HookStep& s) { return s.status == HookStepStatus::err; });
}

}  // namespace zferry::daemon
