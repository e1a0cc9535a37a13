// The step queue as a table of events: filesystems with their steps' target dates, steps
// ending well or badly, and what the queue says to do next, printed as sentences.
#include "replication/logic/step_queue.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace zferry::replication {
namespace {

std::string text(const std::vector<QueueAction>& actions) {
    std::ostringstream os;
    const char* sep = "";
    for (const auto& a : actions) {
        os << sep << a;
        sep = "; ";
    }
    return os.str();
}

TEST(StepQueue, OldestSnapshotFirstAcrossFilesystems) {
    StepQueue q(1);
    q.add_filesystem("p/a", {10, 30}, true);
    q.add_filesystem("p/b", {20, 25}, true);
    EXPECT_EQ(text(q.next()), "start step 0 of p/a");
    EXPECT_EQ(text(q.next()), "") << "one slot";
    q.step_done("p/a", true);
    EXPECT_EQ(text(q.next()), "start step 0 of p/b");
    q.step_done("p/b", true);
    EXPECT_EQ(text(q.next()), "start step 1 of p/b");
    q.step_done("p/b", true);
    EXPECT_EQ(text(q.next()), "start step 1 of p/a");
    EXPECT_FALSE(q.finished());
    q.step_done("p/a", true);
    EXPECT_EQ(text(q.next()), "");
    EXPECT_TRUE(q.finished());
}

TEST(StepQueue, ConcurrencyRunsFilesystemsInParallelButEachOneInOrder) {
    StepQueue q(3);
    q.add_filesystem("p/a", {1, 2, 3}, true);
    q.add_filesystem("p/b", {5}, true);
    EXPECT_EQ(text(q.next()), "start step 0 of p/a; start step 0 of p/b");
    EXPECT_EQ(q.running(), 2u);
    q.step_done("p/a", true);
    EXPECT_EQ(text(q.next()), "start step 1 of p/a");
}

TEST(StepQueue, TiesGoToTheFirstName) {
    StepQueue q(1);
    q.add_filesystem("p/b", {7}, true);
    q.add_filesystem("p/a", {7}, true);
    EXPECT_EQ(text(q.next()), "start step 0 of p/a");
}

TEST(StepQueue, ChildrenWaitForTheParentsInitialReplication) {
    StepQueue q(4);
    q.add_filesystem("p", {1}, true);          // on the receiver already: no wait
    q.add_filesystem("p/a", {50, 60}, false);  // initial replication
    q.add_filesystem("p/a/b", {10}, false);    // older, but waits for p/a
    q.add_filesystem("p/other", {5}, false);
    EXPECT_EQ(text(q.next()), "start step 0 of p; start step 0 of p/other; start step 0 of p/a");
    EXPECT_EQ(q.blocked_on("p/a/b"), BlockedOn::parent_initial_replication);
    q.step_done("p/a", true);  // the first step arrived: p/a is on the receiver
    EXPECT_EQ(text(q.next()), "start step 0 of p/a/b; start step 1 of p/a") << "oldest target first";
}

TEST(StepQueue, AFailedParentFailsItsChildrenWithZreplsMessage) {
    StepQueue q(1);
    q.add_filesystem("p/a", {1}, false);
    q.add_filesystem("p/a/b", {2}, false);
    q.add_filesystem("p/a/b/c", {3}, false);
    q.add_filesystem("p/z", {4}, false);
    EXPECT_EQ(text(q.next()), "start step 0 of p/a");
    q.step_done("p/a", false);
    EXPECT_EQ(text(q.next()),
              "fail p/a/b: parent(s) failed during initial replication: [p/a]; "
              "fail p/a/b/c: parent(s) failed during initial replication: [p/a p/a/b]; "
              "start step 0 of p/z");
    q.step_done("p/z", true);
    EXPECT_EQ(text(q.next()), "");
    EXPECT_TRUE(q.finished());
}

TEST(StepQueue, AParentThatFailsLaterOrIsOnTheReceiverDoesNotStopChildren) {
    StepQueue q(1);
    q.add_filesystem("p/a", {1, 3}, false);
    q.add_filesystem("p/a/b", {2}, false);
    q.add_failed_filesystem("p/c", true);  // planning failed, but the receiver has it
    q.add_filesystem("p/c/d", {4}, false);
    EXPECT_EQ(text(q.next()), "start step 0 of p/a");
    q.step_done("p/a", true);
    EXPECT_EQ(text(q.next()), "start step 0 of p/a/b");
    q.step_done("p/a/b", true);
    EXPECT_EQ(text(q.next()), "start step 1 of p/a");
    q.step_done("p/a", false);  // an incremental failed: p/a is still on the receiver
    EXPECT_EQ(text(q.next()), "start step 0 of p/c/d");
    q.step_done("p/c/d", true);
    EXPECT_TRUE(q.finished());
}

TEST(StepQueue, APlanningFailureOfAMissingParentFailsItsChildren) {
    StepQueue q(1);
    q.add_failed_filesystem("p/a", false);
    q.add_filesystem("p/a/b", {1}, false);
    EXPECT_EQ(text(q.next()), "fail p/a/b: parent(s) failed during initial replication: [p/a]");
    EXPECT_TRUE(q.finished());
}

TEST(StepQueue, FilesystemsWithoutStepsArePresentAndDone) {
    StepQueue q(1);
    q.add_filesystem("p/a", {}, false);  // e.g. a placeholder on the sender
    q.add_filesystem("p/a/b", {1}, false);
    EXPECT_EQ(text(q.next()), "start step 0 of p/a/b");
    EXPECT_EQ(q.blocked_on("p/a"), BlockedOn::nothing);
}

TEST(StepQueue, BlockedOnNames) {
    EXPECT_EQ(to_string(BlockedOn::nothing), "nothing");
    EXPECT_EQ(to_string(BlockedOn::plan_queue), "plan-queue");
    EXPECT_EQ(to_string(BlockedOn::parent_initial_replication), "parent-initial-repl");
    EXPECT_EQ(to_string(BlockedOn::replication_queue), "repl-queue");
}

}  // namespace
}  // namespace zferry::replication
