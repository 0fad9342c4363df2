#pragma once
/** @file
    Prometheus metrics: counters, gauges and histograms with labels, kept in a
    @ref garage::metrics::registry and rendered in the Prometheus text exposition format
    (version 0.0.4), under Garage's metric names (GARAGE-REFERENCE §3.1).

    The hot path is one relaxed atomic operation: a caller looks a labelled metric up once
    (`family.with({"PutObject"})`), keeps the reference (it lives as long as the registry), and
    increments or observes it from any thread.
*/

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/** Prometheus metrics (counters, gauges, histograms with labels) and their text format:
    @ref garage::metrics::registry. Bazel target `//garage/metrics`.
*/
namespace garage::metrics {

/// The kind of a metric family, as its `# TYPE` line names it.
enum class metric_type {
    counter,   ///< a monotonically increasing count
    gauge,     ///< a value that goes up and down
    histogram, ///< counts of observations in cumulative buckets, with their sum
};

/** The name of a metric type.
    @param t The type.
    @return `"counter"`, `"gauge"` or `"histogram"`. */
std::string_view to_string(metric_type t) noexcept;

/** A monotonically increasing count (`# TYPE counter`).

    @par Thread Safety
    Shared objects: safe (a relaxed atomic).
*/
class counter {
public:
    /// The family type of this metric.
    static constexpr metric_type type = metric_type::counter;

    /** Adds `n`.
        @param n The increment. */
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    /// @return The current count.
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

/** A value that goes up and down (`# TYPE gauge`), set by its owner.

    @par Thread Safety
    Shared objects: safe (atomics).
*/
class gauge {
public:
    /// The family type of this metric.
    static constexpr metric_type type = metric_type::gauge;

    /** Sets the value.
        @param v The new value. */
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    /** Adds `d` (negative to subtract).
        @param d The change. */
    void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
    /// @return The current value.
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

/** A gauge whose value is computed when it is read (at each scrape): table sizes, queue
    lengths, cluster health. The function may fail (`nullopt`): the sample is then left out of
    that scrape.

    @par Thread Safety
    Shared objects: as safe as the function, which may be called from any thread.
*/
class computed_gauge {
public:
    /// The family type of this metric.
    static constexpr metric_type type = metric_type::gauge;
    /// What computes the value.
    using function = std::function<std::optional<double>()>;

    /** @param f Computes the value; `nullopt` when it cannot be read now. */
    explicit computed_gauge(function f) : f_(std::move(f)) {}
    /// @return The value computed now; `nullopt` if it cannot be read.
    std::optional<double> value() const { return f_ ? f_() : std::nullopt; }

private:
    function f_;
};

/** Prometheus' default histogram buckets (seconds): 5 ms to 10 s.
    @return `{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}`. */
std::vector<double> default_buckets();

/** Counts observations in buckets of upper bounds (`le`), with their count and sum
    (`# TYPE histogram`). An observation `v` goes to the first bucket whose bound is `>= v`,
    or to `+Inf`; NaN goes to `+Inf` and is not added to the sum.

    @par Thread Safety
    Shared objects: safe (one relaxed atomic per bucket, and the sum). A reading taken while
    observations are made may count an observation in the buckets and not yet in the sum.
*/
class histogram {
public:
    /// The family type of this metric.
    static constexpr metric_type type = metric_type::histogram;

    /// A reading of a histogram.
    struct snapshot {
        std::vector<double> bounds;            ///< the finite upper bounds, increasing
        std::vector<std::uint64_t> cumulative; ///< per bound, then `+Inf`: observations `<=` it
        std::uint64_t count = 0;               ///< every observation (equals the `+Inf` bucket)
        double sum = 0;                        ///< the sum of the observations
    };

    /** @param bounds The finite upper bounds; sorted and de-duplicated here.
        @throws std::invalid_argument if a bound is NaN or infinite. */
    explicit histogram(std::vector<double> bounds);

    /** Records one observation.
        @param v The value. */
    void observe(double v) noexcept;
    /** Records a duration, in seconds (Prometheus' base unit).
        @param d The duration. */
    template <class Rep, class Period>
    void observe(std::chrono::duration<Rep, Period> d) noexcept
    {
        observe(std::chrono::duration<double>(d).count());
    }
    /// @return The current counts and sum.
    snapshot read() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_; // bounds_.size() + 1 (+Inf)
    std::atomic<double> sum_{0.0};
};

/// A label's name and value.
using label = std::pair<std::string, std::string>;

/** One line of the exposition: `<family name><suffix>{labels} value`. */
struct sample {
    std::string suffix;        ///< `""`, or `"_bucket"`, `"_sum"`, `"_count"` for histograms
    std::vector<label> labels; ///< in the family's label order (then `le` for buckets)
    double value = 0;          ///< the value
};

/** A reading of one metric family: what its `# HELP`, `# TYPE` and sample lines say. */
struct family_snapshot {
    std::string name;                      ///< the metric name
    std::string help;                      ///< the help text
    metric_type type = metric_type::gauge; ///< the type
    std::vector<sample> samples;           ///< by label values, in lexicographic order

    /** Finds the value of a sample.
        @param labels The label values, in the family's label order (`le` not included).
        @param suffix The sample suffix (`"_count"`, `"_sum"` for a histogram).
        @return The first sample with those values, or `nullopt`. */
    std::optional<double> value(std::initializer_list<std::string_view> labels = {},
                                std::string_view suffix = {}) const;
};

/** The part of a family that does not depend on the metric type.

    @par Thread Safety
    Shared objects: safe.
*/
class family_base {
public:
    virtual ~family_base() = default;
    /// @return The metric name.
    std::string const& name() const noexcept { return name_; }
    /// @return The help text.
    std::string const& help() const noexcept { return help_; }
    /// @return The label names, in order.
    std::vector<std::string> const& label_names() const noexcept { return label_names_; }
    /// @return The metric type.
    virtual metric_type type() const noexcept = 0;
    /// @return The current samples of every labelled metric of the family.
    virtual family_snapshot collect() const = 0;

protected:
    /** @param name The metric name; @param help The help text; @param label_names The labels;
        @param t The metric type.
        @throws std::invalid_argument if a name is not a valid Prometheus name, or a label name
                is repeated, reserved (`__*`) or, for histograms, `le`. */
    family_base(std::string name, std::string help, std::vector<std::string> label_names, metric_type t);

private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
};

/** The metrics of one name, one per set of label values (`api_s3_request_counter{api_endpoint="PutObject"}`).

    A labelled metric is created on its first `with()` and kept until the family is destroyed:
    references to it stay valid, so a caller looks it up once and keeps it.

    @tparam Metric @ref counter, @ref gauge, @ref computed_gauge or @ref histogram.

    @par Thread Safety
    Shared objects: safe (`with` takes a shared lock to find, an exclusive one to create).
*/
template <class Metric>
class family final : public family_base {
public:
    /** A family; made by @ref garage::metrics::registry.
        @param name        The metric name.
        @param help        The help text.
        @param label_names The label names.
        @param bounds      For histograms: the bucket bounds of every metric of the family. */
    family(std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds = {});

    /** The metric of a set of label values, created if it is new.
        @param values The label values, one per label name, in order.
        @param args   For a @ref garage::metrics::computed_gauge, its function (used only when the
                      metric is created).
        @return The metric; valid as long as the family.
        @throws std::invalid_argument if the number of values is not the number of labels. */
    template <class... Args>
    Metric& with(std::initializer_list<std::string_view> values, Args&&... args);
    /// @copydoc with
    template <class... Args>
    Metric& with(std::span<std::string const> values, Args&&... args);

    metric_type type() const noexcept override { return Metric::type; }
    family_snapshot collect() const override;

private:
    /// Orders label values; transparent, so that a lookup by `string_view`s allocates nothing.
    struct values_less {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(A const& a, B const& b) const
        {
            return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                                [](std::string_view x, std::string_view y) { return x < y; });
        }
    };

    template <class... Args>
    Metric& find_or_make(std::span<std::string_view const> values, Args&&... args);

    std::vector<double> bounds_;
    mutable std::shared_mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>, values_less> metrics_;
};

/** The metrics of one node, rendered together at `GET /metrics`.

    Families are registered once, at start-up, by the code that updates them; registering a
    name again with the same type and labels returns the existing family (so two servers of
    one API share it), with another type or other labels throws.

    @par Thread Safety
    Shared objects: safe.

    @par Example
    @code
    metrics::registry reg;
    auto& requests = reg.counter_family("api_s3_request_counter", "Number of API calls", {"api_endpoint"});
    auto& put = requests.with({"PutObject"}); // once
    put.inc();                                // per request
    std::string text = reg.render();          // api_s3_request_counter{api_endpoint="PutObject"} 1
    @endcode
*/
class registry {
public:
    registry() = default;
    registry(registry const&) = delete;
    registry& operator=(registry const&) = delete;

    /** Registers (or finds) a counter family.
        @param name The metric name; @param help Its help text; @param label_names Its labels.
        @return The family, valid as long as the registry.
        @throws std::invalid_argument for an invalid name or a conflicting registration. */
    family<counter>& counter_family(std::string name, std::string help,
                                    std::vector<std::string> label_names = {});
    /// @copydoc counter_family
    family<gauge>& gauge_family(std::string name, std::string help,
                                std::vector<std::string> label_names = {});
    /// @copydoc counter_family
    family<computed_gauge>& computed_gauge_family(std::string name, std::string help,
                                                  std::vector<std::string> label_names = {});
    /** Registers (or finds) a histogram family.
        @param name The metric name; @param help Its help text; @param label_names Its labels;
        @param bounds The finite bucket bounds.
        @return The family, valid as long as the registry.
        @throws std::invalid_argument as @ref counter_family, or for a bad bound. */
    family<histogram>& histogram_family(std::string name, std::string help,
                                        std::vector<std::string> label_names = {},
                                        std::vector<double> bounds = default_buckets());

    /// @return A reading of every family, in registration order.
    std::vector<family_snapshot> collect() const;
    /** @param name A metric name.
        @return A reading of that family, or `nullopt` if none has that name. */
    std::optional<family_snapshot> collect(std::string_view name) const;
    /// @return Every family in the Prometheus text format (`text/plain; version=0.0.4`).
    std::string render() const;

private:
    template <class Metric>
    family<Metric>& add(std::string name, std::string help, std::vector<std::string> label_names,
                        std::vector<double> bounds);

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<family_base>> families_;
};

/// The `Content-Type` of the text format.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

/** Renders readings in the Prometheus text format: for each family a `# HELP` line (with `\`
    and newlines escaped), a `# TYPE` line, then one line per sample (label values with `\`,
    `"` and newlines escaped; values as integers when they are, `+Inf`, `-Inf`, `NaN`).
    @param families The readings.
    @return The text, each line ending in `\n`. */
std::string render(std::span<family_snapshot const> families);

/** Formats a sample value as the text format wants it.
    @param v The value.
    @return E.g. `"42"`, `"0.25"`, `"+Inf"`, `"NaN"`. */
std::string format_value(double v);

/** Escapes a label value (`\` → `\\`, `"` → `\"`, newline → `\n`).
    @param v The raw value.
    @return The escaped value, without quotes. */
std::string escape_label_value(std::string_view v);

/** @param name A candidate metric name.
    @return Whether it matches `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
bool valid_metric_name(std::string_view name) noexcept;
/** @param name A candidate label name.
    @return Whether it matches `[a-zA-Z_][a-zA-Z0-9_]*` and does not start with `__`. */
bool valid_label_name(std::string_view name) noexcept;

} // namespace garage::metrics

#include <garage/metrics/impl/registry.hpp>
