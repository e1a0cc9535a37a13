// Prometheus metrics without I/O: counters, gauges, histograms and summaries in labelled families, and
// their text exposition format (version 0.0.4), which a /metrics endpoint serves as is.
// Single-threaded like the daemon (one io_context): no atomics. Names and label names are
// fixed by the code and checked at registration (std::invalid_argument: a programming
// error); label values come from the world (filesystem names) and are escaped on output.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace zferry::metrics {

class Counter {
public:
    void inc(double by = 1) noexcept {
        if (by > 0) value_ += by;  // a counter only goes up
    }
    double value() const noexcept { return value_; }

private:
    double value_ = 0;
};

class Gauge {
public:
    void set(double v) noexcept { value_ = v; }
    void inc(double by = 1) noexcept { value_ += by; }
    void dec(double by = 1) noexcept { value_ -= by; }
    double value() const noexcept { return value_; }

private:
    double value_ = 0;
};

class Histogram {
public:
    explicit Histogram(std::span<const double> upper_bounds);  // ascending, +Inf implied
    void observe(double v) noexcept;
    const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
    // Cumulative counts per bound (as exposed), then the +Inf bucket = count().
    std::vector<std::uint64_t> cumulative() const;
    std::uint64_t count() const noexcept { return count_; }
    double sum() const noexcept { return sum_; }

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> per_bucket_;  // not cumulative; size = bounds + 1
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// Quantiles (e.g. 0.5, 0.9, 0.99) of the most recent observations, plus the count and sum of
// all of them. The window is a number of observations, not a time (zrepl's Go client ages out
// after ten minutes): a count needs no clock and bounds the memory all the same. A quantile q
// is the observation of rank ceil(q * n) among the n in the window (exact, not estimated); NaN
// while there are none, as the Go client exposes it.
class Summary {
public:
    static constexpr std::size_t kDefaultWindow = 1024;
    explicit Summary(std::span<const double> quantiles, std::size_t window = kDefaultWindow);
    void observe(double v);
    const std::vector<double>& quantiles() const noexcept { return quantiles_; }
    // One value per quantile, in the order of quantiles().
    std::vector<double> values() const;
    std::uint64_t count() const noexcept { return count_; }
    double sum() const noexcept { return sum_; }

private:
    std::vector<double> quantiles_;
    std::vector<double> window_;  // a ring once full
    std::size_t capacity_;
    std::size_t next_ = 0;
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// The quantiles of zrepl's summaries (client_golang's former default objectives).
inline constexpr double kDefaultQuantiles[] = {0.5, 0.9, 0.99};

// Exponential bucket bounds: start, start*factor, ... (count of them).
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

enum class Type { counter, gauge, histogram, summary };

using LabelValues = std::vector<std::string>;
using ConstLabels = std::vector<std::pair<std::string, std::string>>;

template <class Metric>
class Family {
public:
    // The child with these label values (in the order of the family's label names), created
    // at zero on first use. A wrong number of values is a programming error.
    Metric& with(const LabelValues& values);
    Metric& with() { return with(LabelValues{}); }
    void remove(const LabelValues& values) { children_.erase(values); }

    const std::string& name() const noexcept { return name_; }
    const std::string& help() const noexcept { return help_; }
    const std::vector<std::string>& label_names() const noexcept { return label_names_; }
    const ConstLabels& const_labels() const noexcept { return const_labels_; }
    const std::map<LabelValues, std::unique_ptr<Metric>>& children() const noexcept { return children_; }

private:
    friend class Registry;
    Family(std::string name, std::string help, std::vector<std::string> label_names, ConstLabels const_labels,
           std::vector<double> buckets)
        : name_(std::move(name)),
          help_(std::move(help)),
          label_names_(std::move(label_names)),
          const_labels_(std::move(const_labels)),
          buckets_(std::move(buckets)) {}

    std::string name_, help_;
    std::vector<std::string> label_names_;
    ConstLabels const_labels_;
    std::vector<double> buckets_;  // histograms: bucket bounds; summaries: quantiles
    std::map<LabelValues, std::unique_ptr<Metric>> children_;
};

class Registry {
public:
    Registry();
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> label_names = {},
                             ConstLabels const_labels = {});
    Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> label_names = {},
                         ConstLabels const_labels = {});
    Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                 std::vector<double> buckets, ConstLabels const_labels = {});
    // Quantiles strictly between 0 and 1, ascending.
    Family<Summary>& summary(std::string name, std::string help, std::vector<std::string> label_names = {},
                             std::vector<double> quantiles = {std::begin(kDefaultQuantiles),
                                                              std::end(kDefaultQuantiles)},
                             ConstLabels const_labels = {});

    // Every family in registration order, children sorted by label values.
    std::string expose() const;

private:
    struct Entry;
    void check_new(const std::string& name, const std::vector<std::string>& label_names,
                   const ConstLabels& const_labels) const;
    std::vector<std::unique_ptr<Entry>> entries_;
};

// The text format's escaping: label values escape backslash, double quote and newline; HELP
// text escapes backslash and newline.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// Shortest round-trip form of a sample value; "+Inf", "-Inf", "NaN" as the format spells them.
std::string format_value(double v);

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;
extern template class Family<Summary>;

}  // namespace zferry::metrics
