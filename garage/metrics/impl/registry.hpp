#pragma once

#include <stdexcept>
#include <type_traits>

namespace garage::metrics {

template <class Metric>
family<Metric>::family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : family_base(std::move(name), std::move(help), std::move(label_names), Metric::type),
      bounds_(std::move(bounds))
{
    if constexpr (std::is_same_v<Metric, histogram>) {
        histogram check(bounds_); // validates the bounds once, at registration
    }
}

template <class Metric>
template <class... Args>
Metric& family<Metric>::with(std::initializer_list<std::string_view> values, Args&&... args)
{
    return find_or_make(std::span<std::string_view const>(values.begin(), values.size()),
                        std::forward<Args>(args)...);
}

template <class Metric>
template <class... Args>
Metric& family<Metric>::with(std::span<std::string const> values, Args&&... args)
{
    std::vector<std::string_view> v(values.begin(), values.end());
    return find_or_make(std::span<std::string_view const>(v), std::forward<Args>(args)...);
}

template <class Metric>
template <class... Args>
Metric& family<Metric>::find_or_make(std::span<std::string_view const> values, Args&&... args)
{
    if (values.size() != label_names().size()) {
        throw std::invalid_argument("metric " + name() + ": " + std::to_string(label_names().size()) +
                                    " label values expected, got " + std::to_string(values.size()));
    }
    {
        std::shared_lock lock(mutex_);
        if (auto it = metrics_.find(values); it != metrics_.end()) {
            return *it->second;
        }
    }
    std::unique_lock lock(mutex_);
    auto it = metrics_.find(values);
    if (it == metrics_.end()) {
        it = metrics_.emplace(std::vector<std::string>(values.begin(), values.end()), nullptr).first;
    }
    auto& slot = it->second;
    if (!slot) {
        if constexpr (std::is_same_v<Metric, histogram>) {
            slot = std::make_unique<Metric>(bounds_);
        } else {
            slot = std::make_unique<Metric>(std::forward<Args>(args)...);
        }
    }
    return *slot;
}

template <class Metric>
family_snapshot family<Metric>::collect() const
{
    family_snapshot out{name(), help(), Metric::type, {}};
    auto labels_of = [this](std::vector<std::string> const& values) {
        std::vector<label> l;
        l.reserve(values.size() + 1);
        for (std::size_t i = 0; i < values.size(); ++i) {
            l.emplace_back(label_names()[i], values[i]);
        }
        return l;
    };
    std::shared_lock lock(mutex_);
    for (auto const& [values, metric] : metrics_) {
        if constexpr (std::is_same_v<Metric, counter>) {
            out.samples.push_back({"", labels_of(values), static_cast<double>(metric->value())});
        } else if constexpr (std::is_same_v<Metric, gauge>) {
            out.samples.push_back({"", labels_of(values), metric->value()});
        } else if constexpr (std::is_same_v<Metric, computed_gauge>) {
            if (auto v = metric->value()) {
                out.samples.push_back({"", labels_of(values), *v});
            }
        } else {
            auto const s = metric->read();
            for (std::size_t i = 0; i <= s.bounds.size(); ++i) {
                auto l = labels_of(values);
                l.emplace_back("le", i < s.bounds.size() ? format_value(s.bounds[i]) : "+Inf");
                out.samples.push_back({"_bucket", std::move(l), static_cast<double>(s.cumulative[i])});
            }
            out.samples.push_back({"_sum", labels_of(values), s.sum});
            out.samples.push_back({"_count", labels_of(values), static_cast<double>(s.count)});
        }
    }
    return out;
}

} // namespace garage::metrics
