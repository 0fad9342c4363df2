#include <garage/metrics/registry.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace garage::metrics {

std::string_view to_string(metric_type t) noexcept
{
    switch (t) {
    case metric_type::counter:
        return "counter";
    case metric_type::gauge:
        return "gauge";
    case metric_type::histogram:
        return "histogram";
    }
    return "untyped";
}

std::vector<double> default_buckets()
{
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ---- histogram

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds))
{
    for (double b : bounds_) {
        if (!std::isfinite(b)) {
            throw std::invalid_argument("histogram bounds must be finite");
        }
    }
    std::sort(bounds_.begin(), bounds_.end());
    bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
    buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        buckets_[i].store(0, std::memory_order_relaxed);
    }
}

void histogram::observe(double v) noexcept
{
    if (std::isnan(v)) {
        buckets_[bounds_.size()].fetch_add(1, std::memory_order_relaxed);
        return;
    }
    auto const i =
        static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const
{
    snapshot s;
    s.bounds = bounds_;
    s.cumulative.resize(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative[i] = running;
    }
    s.count = running;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

// ---- names and families

bool valid_metric_name(std::string_view name) noexcept
{
    if (name.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        char const c = name[i];
        bool const alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

bool valid_label_name(std::string_view name) noexcept
{
    if (name.empty() || name.starts_with("__")) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        char const c = name[i];
        bool const alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

family_base::family_base(std::string name, std::string help, std::vector<std::string> label_names,
                         metric_type t)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names))
{
    if (!valid_metric_name(name_)) {
        throw std::invalid_argument("invalid metric name: '" + name_ + "'");
    }
    std::set<std::string_view> seen;
    for (auto const& l : label_names_) {
        if (!valid_label_name(l)) {
            throw std::invalid_argument("metric " + name_ + ": invalid label name '" + l + "'");
        }
        if (t == metric_type::histogram && l == "le") {
            throw std::invalid_argument("metric " + name_ + ": a histogram may not have a label 'le'");
        }
        if (!seen.insert(l).second) {
            throw std::invalid_argument("metric " + name_ + ": label '" + l + "' given twice");
        }
    }
}

std::optional<double> family_snapshot::value(std::initializer_list<std::string_view> labels,
                                             std::string_view suffix) const
{
    for (auto const& s : samples) {
        if (s.suffix != suffix) {
            continue;
        }
        // buckets carry `le` last; it is not compared
        if (s.labels.size() < labels.size()) {
            continue;
        }
        bool match = true;
        std::size_t i = 0;
        for (auto v : labels) {
            if (s.labels[i++].second != v) {
                match = false;
                break;
            }
        }
        if (match) {
            return s.value;
        }
    }
    return std::nullopt;
}

// ---- registry

template <class Metric>
family<Metric>& registry::add(std::string name, std::string help, std::vector<std::string> label_names,
                              std::vector<double> bounds)
{
    std::lock_guard lock(mutex_);
    for (auto const& f : families_) {
        if (f->name() != name) {
            continue;
        }
        auto* same = dynamic_cast<family<Metric>*>(f.get());
        if (same == nullptr || f->label_names() != label_names) {
            throw std::invalid_argument("metric " + name +
                                        " is already registered with another type or labels");
        }
        return *same;
    }
    auto f = std::make_unique<family<Metric>>(std::move(name), std::move(help), std::move(label_names),
                                              std::move(bounds));
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

family<counter>& registry::counter_family(std::string name, std::string help,
                                          std::vector<std::string> label_names)
{
    return add<counter>(std::move(name), std::move(help), std::move(label_names), {});
}

family<gauge>& registry::gauge_family(std::string name, std::string help,
                                      std::vector<std::string> label_names)
{
    return add<gauge>(std::move(name), std::move(help), std::move(label_names), {});
}

family<computed_gauge>& registry::computed_gauge_family(std::string name, std::string help,
                                                        std::vector<std::string> label_names)
{
    return add<computed_gauge>(std::move(name), std::move(help), std::move(label_names), {});
}

family<histogram>& registry::histogram_family(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              std::vector<double> bounds)
{
    return add<histogram>(std::move(name), std::move(help), std::move(label_names), std::move(bounds));
}

std::vector<family_snapshot> registry::collect() const
{
    std::vector<family_base const*> fams;
    {
        std::lock_guard lock(mutex_);
        for (auto const& f : families_) {
            fams.push_back(f.get());
        }
    }
    // Families are never removed, so they may be read without the registry's lock (a computed
    // gauge may take a while, and may itself register nothing).
    std::vector<family_snapshot> out;
    out.reserve(fams.size());
    for (auto const* f : fams) {
        out.push_back(f->collect());
    }
    return out;
}

std::optional<family_snapshot> registry::collect(std::string_view name) const
{
    family_base const* found = nullptr;
    {
        std::lock_guard lock(mutex_);
        for (auto const& f : families_) {
            if (f->name() == name) {
                found = f.get();
                break;
            }
        }
    }
    if (found == nullptr) {
        return std::nullopt;
    }
    return found->collect();
}

std::string registry::render() const
{
    auto const fams = collect();
    return metrics::render(fams);
}

// ---- text format

std::string format_value(double v)
{
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) { // 2^53: exact as an integer
        return fmt::format("{}", static_cast<std::int64_t>(v));
    }
    return fmt::format("{}", v);
}

std::string escape_label_value(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
    return out;
}

namespace {

std::string escape_help(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace

std::string render(std::span<family_snapshot const> families)
{
    std::string out;
    for (auto const& f : families) {
        out += "# HELP ";
        out += f.name;
        out += ' ';
        out += escape_help(f.help);
        out += "\n# TYPE ";
        out += f.name;
        out += ' ';
        out += to_string(f.type);
        out += '\n';
        for (auto const& s : f.samples) {
            out += f.name;
            out += s.suffix;
            if (!s.labels.empty()) {
                out += '{';
                bool first = true;
                for (auto const& [k, v] : s.labels) {
                    if (!first) {
                        out += ',';
                    }
                    first = false;
                    out += k;
                    out += "=\"";
                    out += escape_label_value(v);
                    out += '"';
                }
                out += '}';
            }
            out += ' ';
            out += format_value(s.value);
            out += '\n';
        }
    }
    return out;
}

} // namespace garage::metrics
