#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace zferry::metrics {

namespace {

bool valid_metric_name(std::string_view n) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

bool valid_label_name(std::string_view n) {
    if (n.empty() || n.starts_with("__") || n.find(':') != std::string_view::npos) return false;
    return valid_metric_name(n);
}

}  // namespace

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()), per_bucket_(upper_bounds.size() + 1, 0) {}

void Histogram::observe(double v) noexcept {
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);  // first bound >= v: le is inclusive
    per_bucket_[static_cast<std::size_t>(it - bounds_.begin())]++;
    ++count_;
    sum_ += v;
}

std::vector<std::uint64_t> Histogram::cumulative() const {
    std::vector<std::uint64_t> out(bounds_.size());
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) out[i] = acc += per_bucket_[i];
    return out;
}

Summary::Summary(std::span<const double> quantiles, std::size_t window)
    : quantiles_(quantiles.begin(), quantiles.end()), capacity_(std::max<std::size_t>(window, 1)) {}

void Summary::observe(double v) {
    if (window_.size() < capacity_) {
        window_.push_back(v);
    } else {
        window_[next_] = v;
        next_ = (next_ + 1) % capacity_;
    }
    ++count_;
    sum_ += v;
}

std::vector<double> Summary::values() const {
    std::vector<double> out(quantiles_.size(), std::nan(""));
    if (window_.empty()) return out;
    std::vector<double> sorted = window_;
    std::sort(sorted.begin(), sorted.end());
    const auto n = static_cast<double>(sorted.size());
    for (std::size_t i = 0; i < quantiles_.size(); ++i) {
        const double rank = std::ceil(quantiles_[i] * n);  // 1-based
        const auto at = static_cast<std::size_t>(std::clamp(rank, 1.0, n)) - 1;
        out[i] = sorted[at];
    }
    return out;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
    std::vector<double> out;
    for (double b = start; out.size() < count; b *= factor) out.push_back(b);
    return out;
}

template <class Metric>
Metric& Family<Metric>::with(const LabelValues& values) {
    if (values.size() != label_names_.size())
        throw std::invalid_argument("metric " + name_ + ": " + std::to_string(values.size()) +
                                    " label values for " + std::to_string(label_names_.size()) +
                                    " label names");
    auto it = children_.find(values);
    if (it == children_.end()) {
        std::unique_ptr<Metric> m;
        if constexpr (std::is_same_v<Metric, Histogram> || std::is_same_v<Metric, Summary>)
            m = std::make_unique<Metric>(buckets_);
        else
            m = std::make_unique<Metric>();
        it = children_.emplace(values, std::move(m)).first;
    }
    return *it->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;
template class Family<Summary>;

struct Registry::Entry {
    Type type;
    std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                 std::unique_ptr<Family<Histogram>>, std::unique_ptr<Family<Summary>>>
        family;
    const std::string& name() const {
        return std::visit([](const auto& f) -> const std::string& { return f->name(); }, family);
    }
};

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::check_new(const std::string& name, const std::vector<std::string>& label_names,
                         const ConstLabels& const_labels) const {
    if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
    for (const auto& e : entries_)
        if (e->name() == name) throw std::invalid_argument("metric " + name + " registered twice");
    std::vector<std::string> all = label_names;
    for (const auto& [k, v] : const_labels) all.push_back(k);
    for (const auto& l : all)
        if (!valid_label_name(l) || l == "le" || l == "quantile")
            throw std::invalid_argument("metric " + name + ": invalid label name '" + l + "'");
    std::sort(all.begin(), all.end());
    if (std::adjacent_find(all.begin(), all.end()) != all.end())
        throw std::invalid_argument("metric " + name + ": a label name appears twice");
}

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names,
                                   ConstLabels const_labels) {
    check_new(name, label_names, const_labels);
    auto f = std::unique_ptr<Family<Counter>>(new Family<Counter>(
        std::move(name), std::move(help), std::move(label_names), std::move(const_labels), {}));
    auto& ref = *f;
    entries_.push_back(std::make_unique<Entry>(Entry{Type::counter, std::move(f)}));
    return ref;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names,
                               ConstLabels const_labels) {
    check_new(name, label_names, const_labels);
    auto f = std::unique_ptr<Family<Gauge>>(new Family<Gauge>(
        std::move(name), std::move(help), std::move(label_names), std::move(const_labels), {}));
    auto& ref = *f;
    entries_.push_back(std::make_unique<Entry>(Entry{Type::gauge, std::move(f)}));
    return ref;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names, std::vector<double> buckets,
                                       ConstLabels const_labels) {
    check_new(name, label_names, const_labels);
    if (!std::is_sorted(buckets.begin(), buckets.end()) ||
        std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end() ||
        std::any_of(buckets.begin(), buckets.end(), [](double b) { return !std::isfinite(b); }))
        throw std::invalid_argument("histogram " + name +
                                    ": bucket bounds must be finite and strictly ascending");
    auto f = std::unique_ptr<Family<Histogram>>(
        new Family<Histogram>(std::move(name), std::move(help), std::move(label_names),
                              std::move(const_labels), std::move(buckets)));
    auto& ref = *f;
    entries_.push_back(std::make_unique<Entry>(Entry{Type::histogram, std::move(f)}));
    return ref;
}

Family<Summary>& Registry::summary(std::string name, std::string help, std::vector<std::string> label_names,
                                   std::vector<double> quantiles, ConstLabels const_labels) {
    check_new(name, label_names, const_labels);
    if (!std::is_sorted(quantiles.begin(), quantiles.end()) ||
        std::adjacent_find(quantiles.begin(), quantiles.end()) != quantiles.end() ||
        std::any_of(quantiles.begin(), quantiles.end(), [](double q) { return !(q > 0 && q < 1); }))
        throw std::invalid_argument("summary " + name + ": quantiles must be strictly ascending, in (0, 1)");
    auto f = std::unique_ptr<Family<Summary>>(
        new Family<Summary>(std::move(name), std::move(help), std::move(label_names), std::move(const_labels),
                            std::move(quantiles)));
    auto& ref = *f;
    entries_.push_back(std::make_unique<Entry>(Entry{Type::summary, std::move(f)}));
    return ref;
}

namespace {

// {a="x",b="y"} with the constant labels first; `extra` (le, quantile) last. Empty: no braces.
std::string label_set(const std::vector<std::string>& names, const LabelValues& values,
                      const ConstLabels& consts, const std::pair<std::string, std::string>* extra = nullptr) {
    std::string s;
    auto add = [&](const std::string& k, const std::string& v) {
        s += s.empty() ? "{" : ",";
        s += k;
        s += "=\"";
        s += escape_label_value(v);
        s += '"';
    };
    for (const auto& [k, v] : consts) add(k, v);
    for (std::size_t i = 0; i < names.size(); ++i) add(names[i], values[i]);
    if (extra) add(extra->first, extra->second);
    if (!s.empty()) s += '}';
    return s;
}

template <class F>
void header(std::string& out, const F& f, const char* type) {
    out += "# HELP " + f.name() + " " + escape_help(f.help()) + "\n";
    out += "# TYPE " + f.name() + " " + type + "\n";
}

}  // namespace

std::string Registry::expose() const {
    std::string out;
    for (const auto& e : entries_) {
        if (e->type == Type::counter || e->type == Type::gauge) {
            auto emit = [&](const auto& f, const char* type) {
                header(out, f, type);
                for (const auto& [values, m] : f.children())
                    out += f.name() + label_set(f.label_names(), values, f.const_labels()) + " " +
                           format_value(m->value()) + "\n";
            };
            if (e->type == Type::counter)
                emit(*std::get<0>(e->family), "counter");
            else
                emit(*std::get<1>(e->family), "gauge");
            continue;
        }
        if (e->type == Type::summary) {
            const auto& f = *std::get<3>(e->family);
            header(out, f, "summary");
            for (const auto& [values, s] : f.children()) {
                const auto qv = s->values();
                for (std::size_t i = 0; i < qv.size(); ++i) {
                    const std::pair<std::string, std::string> q{"quantile", format_value(s->quantiles()[i])};
                    out += f.name() + label_set(f.label_names(), values, f.const_labels(), &q) + " " +
                           format_value(qv[i]) + "\n";
                }
                const auto plain = label_set(f.label_names(), values, f.const_labels());
                out += f.name() + "_sum" + plain + " " + format_value(s->sum()) + "\n";
                out += f.name() + "_count" + plain + " " + std::to_string(s->count()) + "\n";
            }
            continue;
        }
        const auto& f = *std::get<2>(e->family);
        header(out, f, "histogram");
        for (const auto& [values, h] : f.children()) {
            const auto cum = h->cumulative();
            for (std::size_t i = 0; i < cum.size(); ++i) {
                const std::pair<std::string, std::string> le{"le", format_value(h->upper_bounds()[i])};
                out += f.name() + "_bucket" + label_set(f.label_names(), values, f.const_labels(), &le) +
                       " " + std::to_string(cum[i]) + "\n";
            }
            const std::pair<std::string, std::string> inf{"le", "+Inf"};
            out += f.name() + "_bucket" + label_set(f.label_names(), values, f.const_labels(), &inf) + " " +
                   std::to_string(h->count()) + "\n";
            const auto plain = label_set(f.label_names(), values, f.const_labels());
            out += f.name() + "_sum" + plain + " " + format_value(h->sum()) + "\n";
            out += f.name() + "_count" + plain + " " + std::to_string(h->count()) + "\n";
        }
    }
    return out;
}

}  // namespace zferry::metrics
