#pragma once
/** @file
    The error model shared by every layer.

    Each layer owns one `enum class error` with an error category named `"garage.<layer>"`
    (registered with `boost::system::is_error_code_enum`). Every layer's category maps its
    codes onto the generic @ref garage::util::condition, so that an API front end can turn any
    error into its wire format (S3 XML, JSON) by asking `ec == condition::not_found`.

    Synchronous fallible functions return @ref garage::util::result, a `boost::system::result`
    whose error side is a @ref garage::util::failure, which is an error code plus a human message that
    names what failed (the table and key, the file and line, the configuration key).
*/

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

/** The `util` layer: what every layer shares — byte strings and 32-byte ids, hex and base64,
    hashing, time, the error model (@ref garage::util::result, @ref garage::util::failure), the
    `garage.toml` configuration, cereal encoding, atomically persisted files and background
    workers. Bazel target `//garage/util`.
*/
namespace garage::util {

/// The error code type of every asynchronous completion signature.
using error_code = boost::system::error_code;

/** Generic error conditions: what a front end needs to pick a status code.

    Every layer category maps its codes to one of these through `default_error_condition`.
*/
enum class condition {
    bad_request = 1,     ///< the caller sent something invalid
    forbidden,           ///< authenticated but not allowed
    not_found,           ///< the thing asked for does not exist
    conflict,            ///< the request conflicts with the current state
    precondition_failed, ///< a stated precondition does not hold
    quorum_not_reached,  ///< not enough nodes answered
    unavailable,         ///< a resource is temporarily unavailable (full, busy, shutting down)
    corrupt_data,        ///< stored data failed an integrity check
    io_error,            ///< the operating system reported an I/O failure
    internal,            ///< a bug or an unexpected state
};

/// The error codes of the `util` layer (category `"garage.util"`).
enum class error {
    invalid_hex = 1,      ///< a hexadecimal string is malformed or of the wrong length
    invalid_base64,       ///< a base64 string is malformed
    io_error,             ///< a file operation failed
    decode_error,         ///< stored or received bytes could not be decoded
    config_parse_error,   ///< garage.toml is not valid TOML
    config_missing_key,   ///< a required configuration key is absent
    config_invalid_value, ///< a configuration key has the wrong type or an invalid value
    insecure_secret_file, ///< a secret file is readable by other users
    crypto_error,         ///< OpenSSL reported a failure
    timeout,              ///< an operation did not finish in time
    shutting_down,        ///< the component is stopping
};

} // namespace garage::util

// Registered before first use: `failure::is` below compares an error_code with a condition.
namespace boost::system {
template <>
struct is_error_code_enum<garage::util::error> : std::true_type {
};
template <>
struct is_error_condition_enum<garage::util::condition> : std::true_type {
};
} // namespace boost::system

namespace garage::util {

/// @return The category of the generic conditions (`"garage.condition"`).
boost::system::error_category const& condition_category() noexcept;
/// @return The category of @ref garage::util::error (`"garage.util"`).
boost::system::error_category const& util_category() noexcept;

/** Makes a `boost::system::error_condition` from a generic condition (found by ADL).
    @param c The condition.
    @return `{c, condition_category()}`. */
inline boost::system::error_condition make_error_condition(condition c) noexcept
{
    return {static_cast<int>(c), condition_category()};
}

/** Makes an error code of the `util` layer (found by ADL).
    @param e The error.
    @return `{e, util_category()}`. */
inline error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), util_category()};
}

/** An error code with a message saying what failed.

    The message names the object concerned (table and key, file and line, configuration key)
    and never contains secrets.
*/
struct failure {
    error_code code;     ///< what kind of error
    std::string message; ///< a sentence for humans; may be empty

    failure() = default;
    /** From a code alone: the message is the code's own.
        @param ec The code. */
    failure(error_code ec) : code(ec), message(ec.message()) {}
    /** From a code and a message saying which object failed.
        @param ec  The code.
        @param msg The message. */
    failure(error_code ec, std::string msg) : code(ec), message(std::move(msg)) {}
    /** From any layer's error enum and a message.
        @tparam E   A layer's `enum class error` (an error-code enum).
        @param  e   The error.
        @param  msg The message. */
    template <class E>
    requires boost::system::is_error_code_enum<E>::value failure(E e, std::string msg)
        : code(make_error_code(e)), message(std::move(msg))
    {
    }
    /** From any layer's error enum alone: the message is the code's own.
        @tparam E A layer's `enum class error` (an error-code enum).
        @param  e The error. */
    template <class E>
    requires boost::system::is_error_code_enum<E>::value failure(E e)
        : code(make_error_code(e)), message(code.message())
    {
    }

    /** Tests the generic condition of the code.
        @param c A condition.
        @return True when the code maps to `c`. */
    bool is(condition c) const noexcept { return code == c; }
    /// Equal when the codes are equal; the messages are not compared.
    friend bool operator==(failure const& a, failure const& b) noexcept { return a.code == b.code; }
};

/// The exception thrown by `result<T>::value()` on an error (programming errors only).
class failure_exception : public std::runtime_error {
public:
    /** @param f The failure; `what()` is its message (or its code's, if empty). */
    explicit failure_exception(failure f)
        : std::runtime_error(f.message.empty() ? f.code.message() : f.message), failure_(std::move(f))
    {
    }
    /// @return The failure that was accessed as a value.
    failure const& get() const noexcept { return failure_; }

private:
    failure failure_;
};

/** Called by `boost::system::result` when `value()` is taken from an error (found by ADL).
    @param f   The failure.
    @param loc Where `value()` was called.
    @throws failure_exception always. */
[[noreturn]] void throw_exception_from_error(failure const& f, boost::source_location const& loc);

/** The return type of synchronous fallible functions.

    @par Example
    @code
    util::result<int> parse(std::string_view s);
    if (auto r = parse("12"); r) { use(*r); } else { log(r.error().message); }
    @endcode
*/
template <class T>
using result = boost::system::result<T, failure>;

/** Writes a failure as `message [category:value]`, for logs and test output.
    @param os The stream.
    @param f  The failure.
    @return `os`. */
template <class CharT, class Traits>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, failure const& f)
{
    return os << f.message << " [" << f.code.category().name() << ':' << f.code.value() << ']';
}

/** Writes a result: `value:` and the value (or just `value` when the value type cannot be
    streamed), or `error:` and the failure.

    More specialized than Boost's own `operator<<` for `result`, which fails to compile for a
    value type without `operator<<` although test frameworks (Catch2) detect it as usable.
    @param os The stream.
    @param r  The result.
    @return `os`.
*/
template <class CharT, class Traits, class T>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, result<T> const& r)
{
    if (!r) {
        return os << "error:" << r.error();
    }
    if constexpr (requires { os << *r; }) {
        return os << "value:" << *r;
    } else {
        return os << "value";
    }
}

/** Writes a `result<void>`: `value`, or `error:` and the failure.
    @param os The stream.
    @param r  The result.
    @return `os`. */
template <class CharT, class Traits>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, result<void> const& r)
{
    if (!r) {
        return os << "error:" << r.error();
    }
    return os << "value";
}

} // namespace garage::util
