// "dataset is busy" is the one zfs refusal that goes away by itself (zfs-fuse tearing down an
// aborted receive, an asynchronous unmount): it is classified temporary, and retry_while_busy
// retries it on a bounded, doubling schedule while every other error is returned at once.
#include "zfs/busy_retry.hpp"

#include "tests/integration/test_support.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace zferry::zfs {
namespace {

using std::chrono::milliseconds;

TEST(BusyRetry, ScheduleDoublesUpToTheMaximumAndEndsAtTheBudget) {
    const BusyRetry p{milliseconds(50), milliseconds(400), milliseconds(1000)};
    struct Case {
        unsigned retry;
        milliseconds waited;
        std::optional<milliseconds> expect;
    };
    const std::vector<Case> cases = {
        {1, milliseconds(0), milliseconds(50)},    {2, milliseconds(50), milliseconds(100)},
        {3, milliseconds(150), milliseconds(200)}, {4, milliseconds(350), milliseconds(400)},
        {5, milliseconds(750), milliseconds(250)},  // shortened to end at the budget
        {6, milliseconds(1000), std::nullopt},      // budget spent
        {40, milliseconds(0), milliseconds(400)},   // no overflow for a large retry count
        {0, milliseconds(0), std::nullopt},         // retries count from 1
    };
    for (const auto& c : cases)
        EXPECT_EQ(p.delay(c.retry, c.waited), c.expect)
            << "retry " << c.retry << " after " << c.waited.count() << " ms";
    EXPECT_EQ((BusyRetry{milliseconds(0), milliseconds(10), milliseconds(100)}.delay(1, milliseconds(0))),
              std::nullopt)
        << "a zero first delay disables retrying";
}

TEST(BusyRetry, OnlyDatasetBusyIsTemporary) {
    EXPECT_TRUE(is_temporary(make_error_code(ZfsErrc::dataset_busy)));
    for (auto e : {ZfsErrc::command_failed, ZfsErrc::dataset_not_found, ZfsErrc::dataset_exists,
                   ZfsErrc::snapshot_held, ZfsErrc::more_recent_snapshots, ZfsErrc::unsupported,
                   ZfsErrc::snapshot_in_use, ZfsErrc::out_of_space})
        EXPECT_FALSE(is_temporary(make_error_code(e))) << make_error_code(e).message();
    const Error busy(make_error_code(ZfsErrc::dataset_busy), "zfs recv -u pool/a");
    EXPECT_EQ(busy.message(), "zfs recv -u pool/a: dataset is busy (temporary, retrying can help)");
    const Error held(make_error_code(ZfsErrc::snapshot_held), "destroying pool/a@s1");
    EXPECT_EQ(held.message(), "destroying pool/a@s1: snapshot is held (permanent)");
}

class RetryWhileBusy : public ::testing::Test {
protected:
    // An operation that fails with the given errors in turn, then succeeds.
    auto op(std::vector<Error> failures) {
        return [this, failures = std::move(failures)]() -> boost::asio::awaitable<Result<int>> {
            const auto i = calls_++;
            if (i < failures.size()) co_return failures[i];
            co_return static_cast<int>(i);
        };
    }
    template <class T>
    T run(boost::asio::awaitable<T> a) {
        return zferry::test::run(ctx_, std::move(a));
    }

    boost::asio::io_context ctx_;
    std::size_t calls_ = 0;
    const BusyRetry fast_{milliseconds(1), milliseconds(4), milliseconds(1000)};
    const Error busy_{make_error_code(ZfsErrc::dataset_busy), "zfs recv -u p/a"};
};

TEST_F(RetryWhileBusy, RetriesBusyUntilItSucceeds) {
    auto r = run(retry_while_busy(op({busy_, busy_}), fast_, Logger(), "receiving p/a"));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(*r, 2);
    EXPECT_EQ(calls_, 3u);
}

TEST_F(RetryWhileBusy, ReturnsOtherErrorsAtOnce) {
    const Error held(make_error_code(ZfsErrc::snapshot_held), "destroying p/a@s1");
    auto r = run(retry_while_busy(op({busy_, held}), fast_, Logger(), "destroying"));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ZfsErrc::snapshot_held);
    EXPECT_EQ(calls_, 2u);
    calls_ = 0;
    auto closed = run(retry_while_busy(op({Error(Errc::connection_closed, "stream")}), fast_, Logger(), "x"));
    ASSERT_FALSE(closed.has_value());
    EXPECT_EQ(calls_, 1u)
        << "a temporary network error is the replication driver's to retry, not this loop's";
}

TEST_F(RetryWhileBusy, GivesUpAtTheBudgetWithTheBusyError) {
    const BusyRetry tiny{milliseconds(1), milliseconds(2), milliseconds(5)};
    // Waits 1, 2, 2 ms: the budget of 5 is spent after the fourth attempt.
    auto r = run(retry_while_busy(op(std::vector<Error>(100, busy_)), tiny, Logger(), "receiving p/a"));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ZfsErrc::dataset_busy);
    EXPECT_TRUE(r.error().temporary());
    EXPECT_EQ(calls_, 4u);
    EXPECT_NE(r.error().message().find("receiving p/a: still busy after 4 attempts over 5 ms"),
              std::string::npos)
        << r.error().message();
}

}  // namespace
}  // namespace zferry::zfs
