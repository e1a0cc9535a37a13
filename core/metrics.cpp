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
        if constexpr (std::is_same_v<Metric, Histogram>)
            m = std::make_unique<Histogram>(buckets_);
        else
            m = std::make_unique<Metric>();
        it = children_.emplace(values, std::move(m)).first;
    }
    return *it->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
    Type type;
    std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                 std::unique_ptr<Family<Histogram>>>
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
        if (!valid_label_name(l) || l == "le")
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

namespace {

// {a="x",b="y"} with the constant labels first; `extra` (le) last. Empty: no braces.
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
