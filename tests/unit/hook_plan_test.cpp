// The order of hook edges around a snapshot, as zrepl runs them: each row gives the hooks'
// err_is_fatal flags and the outcome of each action in turn, and the actions and final step
// statuses that must result.
#include "daemon/hooks/hook_plan.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace zferry::daemon {
namespace {

// Runs the plan, answering each action from `outcomes` in turn; returns the actions as text.
std::string drive(HookPlan& plan, const std::vector<bool>& outcomes) {
    std::ostringstream os;
    std::size_t i = 0;
    for (auto a = plan.next(); a.kind != HookPlan::Action::Kind::done; a = plan.next()) {
        const bool ok = i < outcomes.size() ? outcomes[i] : true;
        os << a << (ok ? "; " : " (fails); ");
        plan.complete(ok, ok ? "" : "failed");
        ++i;
    }
    return os.str();
}

std::string statuses(const HookPlan& plan) {
    std::ostringstream os;
    for (const auto& s : plan.steps()) {
        os << s.edge;
        if (s.edge != HookEdge::callback) os << s.hook;
        os << "=" << s.status << " ";
    }
    return os.str();
}

struct Case {
    const char* what;
    std::vector<bool> fatal;
    std::vector<bool> outcomes;
    const char* actions;
    const char* final_statuses;
    bool callback_ran;
    bool fatal_error;
};

TEST(HookPlan, RunsEdgesInZreplsOrder) {
    const std::vector<Case> cases = {
        {"no hooks: only the snapshot", {}, {}, "run the callback; ", "callback=ok ", true, false},
        {"two hooks, all fine: pre in order, post reversed",
         {false, false},
         {},
         "run pre edge of hook 0; run pre edge of hook 1; run the callback; run post edge of hook 1; run "
         "post edge of hook 0; ",
         "pre0=ok pre1=ok callback=ok post1=ok post0=ok ",
         true,
         false},
        {"a non-fatal pre failure: snapshot taken, that hook's post edge skipped",
         {false, false},
         {false, true, true, true},
         "run pre edge of hook 0 (fails); run pre edge of hook 1; run the callback; run post edge of hook "
         "1; ",
         "pre0=err pre1=ok callback=ok post1=ok post0=skipped (pre edge failed) ",
         true,
         false},
        {"a fatal pre failure: no snapshot, later hooks skipped, earlier post edges run",
         {false, true, false},
         {true, false, true},
         "run pre edge of hook 0; run pre edge of hook 1 (fails); run post edge of hook 0; ",
         "pre0=ok pre1=err pre2=skipped (fatal error) callback=skipped (fatal error) post2=skipped (fatal "
         "error) "
         "post1=skipped (fatal error) post0=ok ",
         false,
         true},
        {"a fatal first hook failing: nothing else runs",
         {true},
         {false},
         "run pre edge of hook 0 (fails); ",
         "pre0=err callback=skipped (fatal error) post0=skipped (fatal error) ",
         false,
         true},
        {"a failing snapshot still runs the post edges",
         {true},
         {true, false, true},
         "run pre edge of hook 0; run the callback (fails); run post edge of hook 0; ",
         "pre0=ok callback=err post0=ok ",
         true,
         false},
        {"a failing post edge does not stop the others",
         {false, false},
         {true, true, true, false, true},
         "run pre edge of hook 0; run pre edge of hook 1; run the callback; run post edge of hook 1 (fails); "
         "run post edge of hook 0; ",
         "pre0=ok pre1=ok callback=ok post1=err post0=ok ",
         true,
         false},
    };
    for (const auto& c : cases) {
        HookPlan plan(c.fatal);
        EXPECT_EQ(drive(plan, c.outcomes), c.actions) << c.what;
        EXPECT_EQ(statuses(plan), c.final_statuses) << c.what;
        EXPECT_EQ(plan.callback_ran(), c.callback_ran) << c.what;
        EXPECT_EQ(plan.had_fatal_error(), c.fatal_error) << c.what;
    }
}

TEST(HookPlan, CompleteAfterDoneChangesNothing) {
    HookPlan plan;
    plan.complete(true);
    const auto before = plan.steps();
    plan.complete(false, "late");
    EXPECT_EQ(plan.steps(), before);
    EXPECT_EQ(plan.next().kind, HookPlan::Action::Kind::done);
}

}  // namespace
}  // namespace zferry::daemon
