#include "daemon/hooks/command_hook.hpp"

#include "core/async.hpp"
#include "core/process.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <sstream>

namespace zferry::daemon {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

replication::FilesystemFilter all_filesystems() {
    replication::FilesystemFilter f;
    (void)f.add("<", true);
    return f;
}

HookEnv hook_environment(HookEdge edge, std::string_view phase, bool dry_run,
                         std::chrono::milliseconds timeout, const HookEnv& extra) {
    std::ostringstream type;
    type << edge << "_" << phase;
    HookEnv env = {
        {"ZREPL_DRYRUN", dry_run ? "true" : ""},
        {"ZREPL_HOOKTYPE", type.str()},
        {"ZREPL_TIMEOUT", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count())},
    };
    for (const auto& kv : extra) {
        auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == kv.first; });
        if (it != env.end())
            it->second = kv.second;
        else
            env.push_back(kv);
    }
    std::sort(env.begin(), env.end());
    return env;
}

std::string HookOutcome::describe(const CommandHook& hook, const HookEnv& env) const {
    // A copy-pastable shell line, as zrepl logs it.
    std::string s;
    for (const auto& [k, v] : env) s += k + "='" + v + "' ";
    s += hook.path + ": " + status;
    if (timed_out) s += " (timed out after " + std::to_string(hook.timeout.count()) + " ms)";
    if (dropped > 0) s += " (" + std::to_string(dropped) + " bytes of output not kept)";
    return s;
}

namespace {

// Sleeps until the timeout, then stops the hook's process group: TERM, then KILL after the
// grace. Never completes by itself afterwards: the || in run_command_hook ends it once wait()
// has reaped the child.
asio::awaitable<void> watchdog(ChildProcess& child, const CommandHook& hook, bool& timed_out) {
    asio::steady_timer timer(co_await asio::this_coro::executor, hook.timeout);
    auto [ec] = co_await timer.async_wait(use_ec);
    if (ec) co_return;
    timed_out = true;
    child.signal(SIGTERM);
    timer.expires_after(hook.kill_grace);
    std::tie(ec) = co_await timer.async_wait(use_ec);
    if (ec) co_return;
    child.signal(SIGKILL);
    timer.expires_after(std::chrono::hours(24 * 365));
    co_await timer.async_wait(use_ec);
}

void log_output(const Logger& log, std::string_view stream, const std::string& text) {
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) {
            if (stream == "stderr")
                log.warn("hook {}: {}", stream, std::string_view(text).substr(start, end - start));
            else
                log.info("hook {}: {}", stream, std::string_view(text).substr(start, end - start));
        }
        start = end + 1;
    }
}

}  // namespace

asio::awaitable<HookOutcome> run_command_hook(const CommandHook& hook, HookEdge edge, std::string_view phase,
                                              bool dry_run, const HookEnv& extra, const Logger& log) {
    HookOutcome o;
    const auto env = hook_environment(edge, phase, dry_run, hook.timeout, extra);
    ProcessSpec spec;
    spec.program = hook.path;
    spec.env = env;
    spec.max_stdout = hook.max_output;
    spec.kill_on_stdout_overflow = false;
    spec.max_stderr = hook.max_output;
    spec.kill_grace = hook.kill_grace;
    const auto started = std::chrono::steady_clock::now();
    auto child = ChildProcess::spawn(co_await asio::this_coro::executor, std::move(spec));
    if (!child) {
        o.status = child.error().message();
        log.error("{}", o.describe(hook, env));
        co_return o;
    }
    bool timed_out = false;
    auto waited = co_await (child->wait() || watchdog(*child, hook, timed_out));
    o.took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    o.timed_out = timed_out;
    if (waited.index() == 1) {
        // The watchdog cannot finish first (it sleeps after KILL); defensive.
        o.status = "not reaped";
        co_return o;
    }
    auto& r = std::get<0>(waited);
    if (!r) {
        o.status = r.error().message();
    } else {
        o.ok = r->ok() && !timed_out;
        o.status = r->status();
        o.out = std::move(r->out);
        o.err = std::move(r->err);
        o.dropped = r->out_dropped + r->err_dropped;
    }
    const Logger l = log.with("hook", hook.path);
    log_output(l, "stdout", o.out);
    log_output(l, "stderr", o.err);
    if (o.ok)
        l.info("{}", o.describe(hook, env));
    else
        l.error("{}", o.describe(hook, env));
    co_return o;
}

std::vector<const CommandHook*> hooks_for(const std::vector<CommandHook>& hooks,
                                          std::string_view filesystem) {
    std::vector<const CommandHook*> out;
    for (const auto& h : hooks) {
        auto passes = h.filesystems.passes(filesystem);
        if (passes && *passes) out.push_back(&h);
    }
    return out;
}

asio::awaitable<HookPlan> run_hooks(const std::vector<const CommandHook*>& hooks, std::string_view phase,
                                    bool dry_run, HookEnv extra, HookCallback callback, const Logger& log) {
    std::vector<bool> fatal;
    for (const auto* h : hooks) fatal.push_back(h->err_is_fatal);
    HookPlan plan(std::move(fatal));
    for (auto a = plan.next(); a.kind != HookPlan::Action::Kind::done; a = plan.next()) {
        if (a.kind == HookPlan::Action::Kind::run_callback) {
            const auto started = std::chrono::steady_clock::now();
            auto r = co_await callback();
            plan.complete(r.has_value(), r ? std::string() : r.error().message(),
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started));
            continue;
        }
        const CommandHook& h = *hooks[a.hook];
        const HookEdge edge = a.kind == HookPlan::Action::Kind::run_pre ? HookEdge::pre : HookEdge::post;
        auto o = co_await run_command_hook(h, edge, phase, dry_run, extra, log);
        plan.complete(o.ok, o.describe(h, hook_environment(edge, phase, dry_run, h.timeout, extra)), o.took);
        if (!o.ok && edge == HookEdge::pre && h.err_is_fatal)
            log.error(
                "fatal pre hook {} failed: no snapshot is taken, only the post edges of earlier hooks run",
                h.path);
    }
    co_return plan;
}

}  // namespace zferry::daemon
