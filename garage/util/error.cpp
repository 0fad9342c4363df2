#include <garage/util/error.hpp>

#include <boost/throw_exception.hpp>

namespace garage::util {
namespace {

class condition_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.condition"; }
    std::string message(int ev) const override
    {
        switch (static_cast<condition>(ev)) {
        case condition::bad_request:
            return "bad request";
        case condition::forbidden:
            return "forbidden";
        case condition::not_found:
            return "not found";
        case condition::conflict:
            return "conflict";
        case condition::precondition_failed:
            return "precondition failed";
        case condition::quorum_not_reached:
            return "quorum not reached";
        case condition::unavailable:
            return "unavailable";
        case condition::corrupt_data:
            return "corrupt data";
        case condition::io_error:
            return "I/O error";
        case condition::internal:
            return "internal error";
        }
        return "unknown condition";
    }
};

class util_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.util"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::invalid_hex:
            return "invalid hexadecimal string";
        case error::invalid_base64:
            return "invalid base64 string";
        case error::io_error:
            return "I/O error";
        case error::decode_error:
            return "decoding error";
        case error::config_parse_error:
            return "configuration file is not valid TOML";
        case error::config_missing_key:
            return "missing required configuration key";
        case error::config_invalid_value:
            return "invalid configuration value";
        case error::insecure_secret_file:
            return "secret file is readable by other users";
        case error::crypto_error:
            return "cryptographic library error";
        case error::timeout:
            return "timed out";
        case error::shutting_down:
            return "shutting down";
        }
        return "unknown util error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::invalid_hex:
        case error::invalid_base64:
        case error::config_parse_error:
        case error::config_missing_key:
        case error::config_invalid_value:
        case error::insecure_secret_file:
            return condition::bad_request;
        case error::io_error:
            return condition::io_error;
        case error::decode_error:
            return condition::corrupt_data;
        case error::timeout:
        case error::shutting_down:
            return condition::unavailable;
        case error::crypto_error:
            return condition::internal;
        }
        return condition::internal;
    }
};

} // namespace

boost::system::error_category const& condition_category() noexcept
{
    static condition_category_impl const instance;
    return instance;
}

boost::system::error_category const& util_category() noexcept
{
    static util_category_impl const instance;
    return instance;
}

void throw_exception_from_error(failure const& f, boost::source_location const& loc)
{
    boost::throw_exception(failure_exception(f), loc);
}

} // namespace garage::util
