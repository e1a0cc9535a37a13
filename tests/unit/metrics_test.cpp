// core/metrics: the text exposition format exactly, escaping, histogram buckets, and the
// registration checks.
#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

namespace zferry::metrics {
namespace {

TEST(Metrics, CountersAndGaugesInTheTextFormat) {
    Registry r;
    auto& c =
        r.counter("zrepl_replication_bytes_replicated", "bytes replicated", {"zrepl_job", "filesystem"});
    auto& g = r.gauge("zrepl_replication_last_successful", "last success", {}, {{"zrepl_job", "push"}});
    c.with({"push", "pool/b"}).inc(5);
    c.with({"push", "pool/a"}).inc(1.5);
    c.with({"push", "pool/a"}).inc(-3);  // a counter never goes down
    g.with().set(1764500000);
    EXPECT_EQ(r.expose(),
              "# HELP zrepl_replication_bytes_replicated bytes replicated\n"
              "# TYPE zrepl_replication_bytes_replicated counter\n"
              "zrepl_replication_bytes_replicated{zrepl_job=\"push\",filesystem=\"pool/a\"} 1.5\n"
              "zrepl_replication_bytes_replicated{zrepl_job=\"push\",filesystem=\"pool/b\"} 5\n"
              "# HELP zrepl_replication_last_successful last success\n"
              "# TYPE zrepl_replication_last_successful gauge\n"
              "zrepl_replication_last_successful{zrepl_job=\"push\"} 1764500000\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
    Registry r;
    auto& c = r.counter("x", "a \\ help\nwith \"quotes\"", {"filesystem"});
    c.with({"p/\"odd\\name\nx"}).inc();
    EXPECT_EQ(r.expose(),
              "# HELP x a \\\\ help\\nwith \"quotes\"\n"
              "# TYPE x counter\n"
              "x{filesystem=\"p/\\\"odd\\\\name\\nx\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeAndInclusive) {
    Registry r;
    auto& h = r.histogram("zrepl_zfscmd_runtime", "runtime", {"zfsverb"}, {0.1, 1, 10});
    for (double v : {0.05, 0.1, 0.5, 1.0, 20.0}) h.with({"list"}).observe(v);
    EXPECT_EQ(r.expose(),
              "# HELP zrepl_zfscmd_runtime runtime\n"
              "# TYPE zrepl_zfscmd_runtime histogram\n"
              "zrepl_zfscmd_runtime_bucket{zfsverb=\"list\",le=\"0.1\"} 2\n"
              "zrepl_zfscmd_runtime_bucket{zfsverb=\"list\",le=\"1\"} 4\n"
              "zrepl_zfscmd_runtime_bucket{zfsverb=\"list\",le=\"10\"} 4\n"
              "zrepl_zfscmd_runtime_bucket{zfsverb=\"list\",le=\"+Inf\"} 5\n"
              "zrepl_zfscmd_runtime_sum{zfsverb=\"list\"} 21.65\n"
              "zrepl_zfscmd_runtime_count{zfsverb=\"list\"} 5\n");
}

TEST(Metrics, SummaryQuantilesAreRanksOfTheWindowAndCountAndSumCoverEverything) {
    Registry r;
    auto& s = r.summary("zrepl_frameconn_shutdown_seconds", "shutdown", {}, {0.5, 0.9, 0.99});
    r.summary("zrepl_frameconn_shutdown_drain_seconds", "drain").with();  // no observation yet
    for (int i = 1; i <= 10; ++i) s.with().observe(i);
    EXPECT_EQ(r.expose(),
              "# HELP zrepl_frameconn_shutdown_seconds shutdown\n"
              "# TYPE zrepl_frameconn_shutdown_seconds summary\n"
              "zrepl_frameconn_shutdown_seconds{quantile=\"0.5\"} 5\n"
              "zrepl_frameconn_shutdown_seconds{quantile=\"0.9\"} 9\n"
              "zrepl_frameconn_shutdown_seconds{quantile=\"0.99\"} 10\n"
              "zrepl_frameconn_shutdown_seconds_sum 55\n"
              "zrepl_frameconn_shutdown_seconds_count 10\n"
              "# HELP zrepl_frameconn_shutdown_drain_seconds drain\n"
              "# TYPE zrepl_frameconn_shutdown_drain_seconds summary\n"
              "zrepl_frameconn_shutdown_drain_seconds{quantile=\"0.5\"} NaN\n"
              "zrepl_frameconn_shutdown_drain_seconds{quantile=\"0.9\"} NaN\n"
              "zrepl_frameconn_shutdown_drain_seconds{quantile=\"0.99\"} NaN\n"
              "zrepl_frameconn_shutdown_drain_seconds_sum 0\n"
              "zrepl_frameconn_shutdown_drain_seconds_count 0\n");
}

TEST(Metrics, SummaryQuantilesForgetWhatLeftTheWindow) {
    Summary s(std::vector<double>{0.5}, 4);
    for (double v : {100.0, 100.0, 100.0, 100.0, 1.0, 2.0, 3.0, 4.0}) s.observe(v);
    EXPECT_EQ(s.values(), std::vector<double>{2.0});
    EXPECT_EQ(s.count(), 8u);
    EXPECT_EQ(s.sum(), 410.0);
}

TEST(Metrics, ValuesUseTheShortestExactFormAndTheFormatsInfinities) {
    EXPECT_EQ(format_value(0.1), "0.1");
    EXPECT_EQ(format_value(1e21), "1e+21");
    EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(exponential_buckets(0.001, 4, 3), (std::vector<double>{0.001, 0.004, 0.016}));
}

TEST(Metrics, RegistrationMistakesAreRefused) {
    Registry r;
    r.counter("ok_name", "h", {"a"});
    EXPECT_THROW(r.counter("ok_name", "again"), std::invalid_argument);
    EXPECT_THROW(r.gauge("9starts_with_digit", "h"), std::invalid_argument);
    EXPECT_THROW(r.gauge("has-dash", "h"), std::invalid_argument);
    EXPECT_THROW(r.gauge("g1", "h", {"__reserved"}), std::invalid_argument);
    EXPECT_THROW(r.gauge("g2", "h", {"a", "a"}), std::invalid_argument);
    EXPECT_THROW(r.gauge("g3", "h", {"a"}, {{"a", "x"}}), std::invalid_argument);
    EXPECT_THROW(r.histogram("h1", "h", {"le"}, {1}), std::invalid_argument) << "le belongs to the buckets";
    EXPECT_THROW(r.histogram("h2", "h", {}, {2, 1}), std::invalid_argument);
    EXPECT_THROW(r.summary("s1", "h", {"quantile"}), std::invalid_argument) << "quantile is the summary's";
    EXPECT_THROW(r.summary("s2", "h", {}, {0.5, 1.0}), std::invalid_argument);
    EXPECT_THROW(r.summary("s3", "h", {}, {0.9, 0.5}), std::invalid_argument);
    auto& f = r.counter("c", "h", {"a", "b"});
    EXPECT_THROW(f.with({"only one"}), std::invalid_argument);
}

}  // namespace
}  // namespace zferry::metrics
