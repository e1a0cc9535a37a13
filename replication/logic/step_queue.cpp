#include "replication/logic/step_queue.hpp"

#include "core/overloaded.hpp"

#include <algorithm>

namespace zferry::replication {

std::string_view to_string(BlockedOn b) noexcept {
    switch (b) {
        case BlockedOn::nothing: return "nothing";
        case BlockedOn::plan_queue: return "plan-queue";
        case BlockedOn::parent_initial_replication: return "parent-initial-repl";
        case BlockedOn::replication_queue: return "repl-queue";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& os, BlockedOn b) { return os << to_string(b); }

std::ostream& operator<<(std::ostream& os, const QueueAction& a) {
    std::visit(
        Overloaded{[&](const StartStep& s) { os << "start step " << s.step << " of " << s.filesystem; },
                   [&](const FailFilesystem& f) { os << "fail " << f.filesystem << ": " << f.reason; }},
        a);
    return os;
}

StepQueue::StepQueue(std::size_t concurrency) : concurrency_(std::max<std::size_t>(concurrency, 1)) {}

void StepQueue::add_filesystem(std::string filesystem, std::vector<std::int64_t> target_dates,
                               bool receiver_has_filesystem) {
    Fs fs;
    fs.dates = std::move(target_dates);
    fs.receiver_has = receiver_has_filesystem;
    fss_[std::move(filesystem)] = std::move(fs);
    linked_ = false;
}

void StepQueue::add_failed_filesystem(std::string filesystem, bool receiver_has_filesystem) {
    Fs fs;
    fs.failed = true;
    fs.receiver_has = receiver_has_filesystem;
    fss_[std::move(filesystem)] = std::move(fs);
    linked_ = false;
}

void StepQueue::link_ancestors() {
    for (auto& [name, fs] : fss_) {
        fs.ancestors.clear();
        for (auto pos = name.rfind('/'); pos != std::string::npos && pos > 0;
             pos = name.rfind('/', pos - 1)) {
            std::string parent = name.substr(0, pos);
            if (fss_.contains(parent)) fs.ancestors.insert(fs.ancestors.begin(), std::move(parent));
        }
    }
    linked_ = true;
    ready_.clear();
    for (const auto& [name, fs] : fss_) consider(name, fs);
}

void StepQueue::consider(const std::string& name, const Fs& fs) {
    if (fs.pending() && wait_for_parents(fs, nullptr) == Wait::none) ready_.emplace(fs.dates[fs.next], name);
}

void StepQueue::consider_descendants(const std::string& name) {
    const std::string prefix = name + "/";
    for (auto it = fss_.lower_bound(prefix); it != fss_.end() && it->first.rfind(prefix, 0) == 0; ++it)
        consider(it->first, it->second);
}

StepQueue::Wait StepQueue::wait_for_parents(const Fs& fs, std::vector<std::string>* failed) const {
    Wait w = Wait::none;
    for (const auto& a : fs.ancestors) {
        const Fs& p = fss_.at(a);
        if (p.present()) continue;
        if (p.failed_initial()) {
            if (failed) failed->push_back(a);
            w = Wait::failed_parent;
        } else if (w == Wait::none) {
            w = Wait::parent;
        }
    }
    return w;
}

std::vector<QueueAction> StepQueue::next() {
    if (!linked_) link_ancestors();
    std::vector<QueueAction> out;
    // Children of failed parents fail first (only after a failure: the pass visits every
    // filesystem). Name order visits parents before children, so one pass is enough.
    if (check_failed_parents_) {
        check_failed_parents_ = false;
        for (auto& [name, fs] : fss_) {
            if (fs.failed || fs.running || fs.present()) continue;
            std::vector<std::string> failed;
            if (wait_for_parents(fs, &failed) != Wait::failed_parent) continue;
            fs.failed = true;
            if (!fs.dates.empty() && fs.next < fs.dates.size()) ready_.erase({fs.dates[fs.next], name});
            std::string reason = "parent(s) failed during initial replication: [";
            for (std::size_t i = 0; i < failed.size(); ++i) reason += (i ? " " : "") + failed[i];
            out.push_back(FailFilesystem{name, reason + "]"});
        }
    }
    // Oldest target first; ties go to the first name (the set's order).
    while (running_ < concurrency_ && !ready_.empty()) {
        auto node = ready_.extract(ready_.begin());
        Fs& fs = fss_.at(node.value().second);
        fs.running = true;
        ++running_;
        out.push_back(StartStep{std::move(node.value().second), fs.next++});
    }
    return out;
}

void StepQueue::step_done(const std::string& filesystem, bool ok) {
    auto it = fss_.find(filesystem);
    if (it == fss_.end() || !it->second.running) return;
    Fs& fs = it->second;
    const bool was_present = fs.present();
    fs.running = false;
    --running_;
    if (ok) {
        ++fs.completed;
        consider(filesystem, fs);
        if (!was_present && fs.present()) consider_descendants(filesystem);
    } else {
        fs.failed = true;
        check_failed_parents_ = true;
    }
}

bool StepQueue::finished() const noexcept {
    if (running_ > 0) return false;
    for (const auto& [name, fs] : fss_)
        if (fs.pending()) {
            // A pending filesystem waits only for a parent that is pending or running (a
            // failed parent fails it in next()): the queue is not finished.
            return false;
        }
    return true;
}

BlockedOn StepQueue::blocked_on(const std::string& filesystem) const {
    auto it = fss_.find(filesystem);
    if (it == fss_.end() || !it->second.pending()) return BlockedOn::nothing;
    if (linked_ && wait_for_parents(it->second, nullptr) != Wait::none)
        return BlockedOn::parent_initial_replication;
    return BlockedOn::replication_queue;
}

}  // namespace zferry::replication
