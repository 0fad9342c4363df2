#include <garage/metrics/api_metrics.hpp>

namespace garage::metrics {

namespace {

std::string full_name(std::string_view name, api_metrics::prefix p, std::string_view what)
{
    std::string out = p == api_metrics::prefix::api ? "api_" : "";
    out += name;
    out += '_';
    out += what;
    return out;
}

} // namespace

api_metrics::api_metrics(registry& reg, std::string_view name, prefix p)
    : requests_(reg.counter_family(full_name(name, p, "request_counter"),
                                   "Number of API calls to the various endpoints", {"api_endpoint"})),
      errors_(reg.counter_family(full_name(name, p, "error_counter"),
                                 "Number of API calls to the various endpoints that resulted in errors",
                                 {"api_endpoint", "status_code"})),
      durations_(reg.histogram_family(full_name(name, p, "request_duration"),
                                      "Duration of API calls to the various endpoints (seconds)",
                                      {"api_endpoint"}))
{
}

void api_metrics::record(std::string_view endpoint, unsigned status, std::chrono::nanoseconds duration)
{
    requests_.with({endpoint}).inc();
    durations_.with({endpoint}).observe(duration);
    if (status >= 400) {
        auto const code = std::to_string(status);
        errors_.with({endpoint, std::string_view(code)}).inc();
    }
}

} // namespace garage::metrics
