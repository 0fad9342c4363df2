#pragma once
/** @file
    The metrics of an HTTP API, under Garage's names (GARAGE-REFERENCE §3.1):
    `api_<api>_request_counter{api_endpoint}`, `api_<api>_error_counter{api_endpoint,status_code}`
    and `api_<api>_request_duration{api_endpoint}` (a histogram, in seconds).
*/

#include <garage/metrics/registry.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace garage::metrics {

/** Counts the requests, errors and durations of one API (`s3`, `k2v`, `admin`, or `web` whose
    names have no `api_` prefix: pass the full prefix `"web"` with @ref api_metrics::prefix).

    @par Thread Safety
    Shared objects: safe. Per request: a shared-lock lookup of the endpoint's metrics, then
    relaxed atomics (errors, which are rarer, look up their status code too).

    @par Example
    @code
    metrics::api_metrics s3(reg, "s3");
    s3.record("PutObject", 200, std::chrono::milliseconds(3));
    // api_s3_request_counter{api_endpoint="PutObject"} 1
    @endcode
*/
class api_metrics {
public:
    /// Selects the naming: `api_<name>_...` (the APIs) or `<name>_...` (the web endpoint).
    enum class prefix { api, bare };

    /** Registers (or finds) the three families of an API.
        @param reg  The registry; it must outlive this object.
        @param name The API's name (`"s3"`, `"admin"`, `"k2v"`, `"web"`).
        @param p    Whether the names take the `api_` prefix. */
    api_metrics(registry& reg, std::string_view name, prefix p = prefix::api);

    /** Records one answered request.
        @param endpoint The endpoint's name (e.g. `"GetObject"`).
        @param status   The HTTP status answered; 400 and above also count as an error.
        @param duration From the request's arrival to the end of its response. */
    void record(std::string_view endpoint, unsigned status, std::chrono::nanoseconds duration);

    /// @return The request counter family.
    family<counter>& requests() noexcept { return requests_; }
    /// @return The error counter family.
    family<counter>& errors() noexcept { return errors_; }
    /// @return The duration histogram family.
    family<histogram>& durations() noexcept { return durations_; }

private:
    family<counter>& requests_;
    family<counter>& errors_;
    family<histogram>& durations_;
};

} // namespace garage::metrics
