// Which step runs next, without I/O (zrepl's step queue and initial-replication ordering,
// reference §3.4): the oldest pending snapshot first across all filesystems ("replicate
// evenly"), at most `concurrency` steps at once, the steps of one filesystem one after the
// other, and a filesystem whose parent is not yet on the receiver waits for it. A parent that
// fails its initial replication fails its children with zrepl's message instead of leaving
// them to create placeholders where the parent should have arrived.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace zferry::replication {

// Start step `step` (an index into the filesystem's plan) of `filesystem`.
struct StartStep {
    std::string filesystem;
    std::size_t step = 0;
    friend bool operator==(const StartStep&, const StartStep&) = default;
};

// The filesystem cannot run: an ancestor failed its initial replication.
struct FailFilesystem {
    std::string filesystem;
    std::string reason;
    friend bool operator==(const FailFilesystem&, const FailFilesystem&) = default;
};

using QueueAction = std::variant<StartStep, FailFilesystem>;
std::ostream& operator<<(std::ostream& os, const QueueAction& a);

// zrepl's FsBlockedOn (the report's "BlockedOn").
enum class BlockedOn { nothing, plan_queue, parent_initial_replication, replication_queue };
std::string_view to_string(BlockedOn b) noexcept;  // "nothing", "plan-queue", ...
std::ostream& operator<<(std::ostream& os, BlockedOn b);

class StepQueue {
public:
    explicit StepQueue(std::size_t concurrency);

    // A planned filesystem: the creation time (unix seconds) of each step's target, oldest
    // first, and whether the receiver already has the filesystem (as data or placeholder):
    // then its children never wait for it. Without steps it counts as present.
    void add_filesystem(std::string filesystem, std::vector<std::int64_t> target_dates,
                        bool receiver_has_filesystem);
    // A filesystem whose planning failed: it runs nothing, and its children wait for nothing
    // only if the receiver has it already.
    void add_failed_filesystem(std::string filesystem, bool receiver_has_filesystem);

    // What to do now: steps to start (as many as free slots allow, oldest target first, ties
    // by name) and filesystems to fail because of a failed ancestor. Call again after each
    // step_done until finished().
    std::vector<QueueAction> next();
    // The step started last for `filesystem` ended. A failure stops the filesystem.
    void step_done(const std::string& filesystem, bool ok);

    // Nothing runs and nothing can start any more.
    bool finished() const noexcept;
    std::size_t running() const noexcept { return running_; }
    BlockedOn blocked_on(const std::string& filesystem) const;

private:
    struct Fs {
        std::vector<std::int64_t> dates;
        std::size_t next = 0;       // first step not yet started
        std::size_t completed = 0;  // steps that succeeded
        bool running = false;
        bool failed = false;
        bool receiver_has = false;
        std::vector<std::string> ancestors;  // those in the queue, nearest last
        bool present() const noexcept { return receiver_has || completed > 0 || (!failed && dates.empty()); }
        // An initial replication that can no longer bring the filesystem to the receiver.
        bool failed_initial() const noexcept { return failed && !present(); }
        bool pending() const noexcept { return !failed && !running && next < dates.size(); }
    };
    enum class Wait { none, parent, failed_parent };
    Wait wait_for_parents(const Fs& fs, std::vector<std::string>* failed) const;
    void link_ancestors();
    // Puts `name` into ready_ when it can start now (pending, parents present).
    void consider(const std::string& name, const Fs& fs);
    // After `name` arrived on the receiver: its descendants may be ready now.
    void consider_descendants(const std::string& name);

    std::size_t concurrency_;
    std::size_t running_ = 0;
    bool linked_ = false;
    bool check_failed_parents_ = true;  // a filesystem failed since the last next()
    std::map<std::string, Fs> fss_;
    // Filesystems that can start a step now, by (target date of that step, name): next() takes
    // the first, so choosing is O(log n) however many filesystems there are.
    std::set<std::pair<std::int64_t, std::string>> ready_;
};

}  // namespace zferry::replication
