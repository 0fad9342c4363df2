#pragma once
/** @file
    Browser-based uploads (S3 `PostObject`, GARAGE-REFERENCE §1.5 "POST Object"): the pure
    parts, independent of the HTTP library.

    - @ref garage::api::post::form_parser reads a `multipart/form-data` body incrementally:
      the fields first, then the `file` part as a stream (AWS requires it to be the last
      field that matters; later fields are ignored by the S3 handler).
    - @ref garage::api::post::decode_policy reads the policy document (base64 of a JSON
      object with `expiration` and `conditions`); @ref garage::api::post::check_policy checks
      it against the form fields.
    - @ref garage::api::post::parse_credential and @ref garage::api::post::verify_signature
      authenticate the form: the signature is the hex HMAC-SHA256 of the base64 policy under
      the usual SigV4 signing key.

    A typical handler:
    @code
    post::form_parser p(value_or_fail(post::form_boundary(content_type)));
    std::vector<post::form_field> fields;
    for (;;) {
        auto ev = p.next();                       // feed() more bytes on need_input
        if (*ev == post::form_event::field) fields.push_back({p.head().name, p.value()});
        if (*ev == post::form_event::file) break; // then read_file() streams the content
    }
    auto cred = post::parse_credential(fields, {"garage", sigv4::service::s3}, now);
    auto policy = post::decode_policy(*post::find_field(fields, "policy"));
    auto range = post::check_policy(*policy, fields_with_bucket, now);
    @endcode
*/

#include <garage/api/common/sigv4.hpp>
#include <garage/util/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

/** Browser-based uploads (S3 `PostObject`): the `multipart/form-data` parser
    (@ref garage::api::post::form_parser), the policy document and its check
    (@ref garage::api::post::check_policy), and the authentication of the form
    (@ref garage::api::post::parse_credential, @ref garage::api::post::verify_signature). Pure
    functions, independent of the HTTP library; the S3 handler drives them. Part of
    `//garage/api/common`.
*/
namespace garage::api::post {

/// The error codes of POST uploads (category `"garage.api.post"`).
enum class error {
    malformed_form = 1, ///< the body is not well-formed `multipart/form-data` (S3 `MalformedPOSTRequest`)
    invalid_argument,   ///< a required field is missing, repeated or invalid (`InvalidArgument`)
    invalid_policy,     ///< the policy is not base64 of a valid policy document (`InvalidPolicyDocument`)
    policy_expired,     ///< the policy's expiration has passed (`AccessDenied`)
    condition_failed,   ///< a policy condition does not hold, or a field is not covered (`AccessDenied`)
    request_expired,    ///< `x-amz-date` is too old (`AccessDenied`)
    signature_mismatch, ///< the signature of the policy is wrong (`AccessDenied`)
    entity_too_small,   ///< the file is smaller than `content-length-range` allows (`EntityTooSmall`)
    entity_too_large,   ///< the file is larger than `content-length-range` allows (`EntityTooLarge`)
};

/** The category of @ref garage::api::post::error.
    @return The single category object, named `"garage.api.post"`; its conditions are
            `forbidden` for the policy, date and signature errors and `bad_request` for the
            others. */
boost::system::error_category const& post_category() noexcept;

/** Makes an error code of POST uploads (found by ADL).
    @param e The error. @return `{e, post_category()}`. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), post_category()};
}

/** The S3 error code to answer for a POST upload error.
    @param e The error.
    @return `"MalformedPOSTRequest"`, `"InvalidArgument"`, `"InvalidPolicyDocument"`,
            `"AccessDenied"` (expired policy or date, failed condition, wrong signature),
            `"EntityTooSmall"` or `"EntityTooLarge"`; `"InternalError"` for a value outside the
            enumeration. */
std::string_view s3_error_code(error e) noexcept;

/** The HTTP status to answer for a POST upload error.
    @param e The error.
    @return 403 for `policy_expired`, `condition_failed`, `request_expired` and
            `signature_mismatch`; 400 for every other error. */
unsigned http_status(error e) noexcept;

} // namespace garage::api::post

namespace boost::system {
template <>
struct is_error_code_enum<garage::api::post::error> : std::true_type {
};
} // namespace boost::system

namespace garage::api::post {

// ---- multipart/form-data ------------------------------------------------------------------------

/** The boundary of a `multipart/form-data` body.
    @param content_type The request's `Content-Type`, e.g.
           `multipart/form-data; boundary=----x` (the boundary may be quoted).
    @return The boundary; `error::malformed_form` if the type is not `multipart/form-data` or
            has no valid boundary (1 to 70 characters). */
util::result<std::string> form_boundary(std::string_view content_type);

/// Bounds on what @ref form_parser keeps in memory.
struct form_limits {
    std::size_t max_field_size = 16 * 1024;  ///< the longest field value (Garage: 16 KiB)
    std::size_t max_header_size = 16 * 1024; ///< the longest header block of one part
    /// The most parts read with @ref garage::api::post::form_parser::next.
    std::size_t max_fields = 1000;
};

/// The head of one part of the form.
struct part_head {
    std::string name;                        ///< the field name (`Content-Disposition` `name`), lower-cased
    std::optional<std::string> filename;     ///< the `filename` parameter, if any
    std::optional<std::string> content_type; ///< the part's own `Content-Type`, if any
};

/// What @ref garage::api::post::form_parser::next found.
enum class form_event {
    need_input, ///< more bytes are needed: @ref form_parser::feed (or @ref form_parser::end_of_input)
    field,      ///< a complete field: @ref form_parser::head and @ref form_parser::value
    file,       ///< the head of the part named `file`: its content follows via @ref form_parser::read_file
    end,        ///< the closing delimiter: there are no more parts
};

/** An incremental parser of a `multipart/form-data` body (RFC 7578).

    Bytes are pushed with @ref feed; parts are pulled with @ref next. A field's value is
    buffered (at most `max_field_size` bytes); the part named `file` is not: once @ref next
    returned @ref form_event::file, its content is taken in pieces with @ref read_file, which
    holds back only the few bytes that might begin the next delimiter.

    Field names are lower-cased. A body that ends before its closing delimiter is malformed.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class form_parser {
public:
    /** @param boundary The boundary, from @ref garage::api::post::form_boundary.
        @param limits   Memory bounds. */
    explicit form_parser(std::string boundary, form_limits limits = {});

    /** Appends body bytes.
        @param data The next bytes of the body. */
    void feed(std::string_view data);

    /// Records that the body has ended (no more @ref feed).
    void end_of_input() noexcept;

    /** Parses the next part. While the `file` part's content is still being read, skips it.
        @return The event; `error::malformed_form` for a malformed body, a field or header
                block beyond the limits, or a body that ends early. */
    util::result<form_event> next();

    /// @return The head of the part returned last by @ref next.
    part_head const& head() const noexcept { return head_; }
    /// @return The value of the field returned last by @ref next.
    std::string const& value() const noexcept { return value_; }

    /** Appends the next available bytes of the `file` part's content to `out`.
        @param out Where the content goes.
        @return True once the whole content has been appended (then @ref next may read the
                parts that follow); false if more input is needed (nothing, or only part of
                what was fed, was appended); `error::malformed_form` if the body ended first. */
    util::result<bool> read_file(std::string& out);

private:
    enum class state { preamble, delimiter, head, field, file, done };

    util::result<void> parse_head(std::string_view block);
    /// After a delimiter: `--` ends the body, optional blanks and CRLF start a part.
    util::result<bool> after_delimiter();

    std::string delimiter_; ///< `\r\n--` + boundary
    form_limits limits_;
    std::string buf_;
    std::size_t pos_ = 0; ///< bytes of buf_ already consumed
    bool input_ended_ = false;
    state state_ = state::preamble;
    std::size_t parts_ = 0;
    part_head head_;
    std::string value_;
};

// ---- policy ---------------------------------------------------------------------------------------

/// One field of the form: its lower-cased name and its value.
struct form_field {
    std::string name;  ///< lower-cased
    std::string value; ///< as sent

    /// Equal when both the names and the values are equal.
    friend bool operator==(form_field const&, form_field const&) = default;
};

/** Looks a field up by name.
    @param fields The form fields.
    @param name   The lower-case name (compared exactly).
    @return A view of the value of the first field named `name` (it borrows from `fields`);
            nullopt if there is none. */
std::optional<std::string_view> find_field(std::span<form_field const> fields,
                                           std::string_view name) noexcept;

/// The kind of a policy condition.
enum class condition_op {
    eq,                   ///< `{"field": "v"}` or `["eq", "$field", "v"]`
    starts_with,          ///< `["starts-with", "$field", "prefix"]`
    content_length_range, ///< `["content-length-range", min, max]`
};

/// One condition of a policy document.
struct policy_condition {
    condition_op op = condition_op::eq; ///< the kind
    std::string field;                  ///< the lower-cased field name, without `$` (empty for a range)
    std::string value;                  ///< `eq`: the value; `starts_with`: the prefix
    std::uint64_t min = 0;              ///< `content_length_range`: the least size, inclusive
    std::uint64_t max = 0;              ///< `content_length_range`: the largest size, inclusive

    /** The condition as JSON, for error messages.
        @return The array form, whatever form the policy used: `["eq", "$key", "a.txt"]`,
                `["starts-with", "$key", "user/"]` (the value as a JSON string) or
                `["content-length-range", 1, 1024]`. */
    std::string to_string() const;

    /// Equal when every member is equal (including the unused ones of the kind).
    friend bool operator==(policy_condition const&, policy_condition const&) = default;
};

/// A decoded policy document.
struct policy_document {
    std::chrono::system_clock::time_point expiration; ///< when the policy stops being valid
    std::vector<policy_condition> conditions;         ///< every condition, in order
};

/** Parses an ISO 8601 / RFC 3339 date-time, `2024-01-02T03:04:05[.678](Z|+hh:mm|-hh:mm)`.
    @param text The date-time: the `T` may also be `t` or a space, the fraction (any number of
                digits, kept to the millisecond) is optional, and the zone is required.
    @return The time, in UTC; `error::invalid_policy` if malformed (including an invalid
            calendar date or a trailing character). */
util::result<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

/** Parses a policy document (the JSON text).

    A condition is either an object `{"field": "v"}` (each member is an `eq` condition; a
    leading `$` in the name is dropped) or a three-element array (`eq`, `starts-with` or
    `content-length-range`, the operator case-insensitive). Field names are lower-cased;
    numeric values are accepted as their decimal text.

    @param json The policy document, as decoded from the `policy` field.
    @return The document; `error::invalid_policy` if it is not a JSON object with a string
            `expiration` and an array `conditions` of well-formed conditions. */
util::result<policy_document> parse_policy(std::string_view json);

/** Decodes the `policy` field (base64 of the JSON) and parses it with
    @ref garage::api::post::parse_policy.
    @param base64 The value of the `policy` field, as sent.
    @return The document; `error::invalid_policy` for bad base64 or a bad document. */
util::result<policy_document> decode_policy(std::string_view base64);

/// The sizes of file the policy allows (`content-length-range`), inclusive.
struct length_range {
    std::uint64_t min = 0;                                         ///< the least size
    std::uint64_t max = std::numeric_limits<std::uint64_t>::max(); ///< the largest size

    /** @param size The file's size (so far, for `max`).
        @return Whether `size` does not exceed `max`; else `error::entity_too_large`. */
    util::result<void> check_max(std::uint64_t size) const;
    /** @param size The file's final size.
        @return Whether `size` is within the range; else `error::entity_too_small` or
                `error::entity_too_large`. */
    util::result<void> check(std::uint64_t size) const;
};

/** Whether a field needs no policy condition.
    @param name The lower-case field name.
    @return True for `policy`, `x-amz-signature`, `file` and names starting with `x-ignore-`;
            false for every other field, which some condition must name. */
bool is_exempt_field(std::string_view name) noexcept;

/** Checks a policy against the form (AWS's rules).

    The policy must not have expired. Every condition must hold: `eq` compares whole values,
    `starts-with` prefixes (for `content-type`, every comma-separated value must start with the
    prefix), and a condition on a field absent from the form fails. Every field except the
    exempt ones (@ref garage::api::post::is_exempt_field) must be named by at least one
    condition. The bucket is checked like a field: the caller adds `{"bucket", <bucket name>}`
    to `fields`.

    @param policy The decoded policy.
    @param fields The form fields (lower-case names), with `bucket`.
    @param now    The current time.
    @return The allowed file sizes (the intersection of every `content-length-range`);
            `error::policy_expired`, or `error::condition_failed` with a message naming the
            condition or the field. */
util::result<length_range> check_policy(policy_document const& policy, std::span<form_field const> fields,
                                        std::chrono::system_clock::time_point now);

// ---- authentication -------------------------------------------------------------------------------

/// What the `x-amz-credential` and `x-amz-date` fields say.
struct post_credential {
    std::string access_key_id;               ///< the key that signed
    std::string short_date;                  ///< `yyyymmdd` of the scope
    std::string amz_date;                    ///< `x-amz-date` as sent
    std::chrono::sys_seconds date{};         ///< `x-amz-date` parsed
    std::string region;                      ///< the scope's region (the expected one)
    sigv4::service svc = sigv4::service::s3; ///< the scope's service
};

/** Checks the authentication fields of a form, except the signature.

    Requires `x-amz-algorithm` = `AWS4-HMAC-SHA256`, `x-amz-credential` =
    `<key id>/<yyyymmdd>/<region>/<service>/aws4_request` with the expected region and service
    and the date of `x-amz-date`, and `x-amz-date` (`YYYYMMDDTHHMMSSZ`) at most `max_age` old.

    @param fields   The form fields (lower-case names).
    @param expected The server's region and the endpoint's service.
    @param now      The current time.
    @param max_age  How old `x-amz-date` may be.
    @return The credential; `error::invalid_argument` for a missing or malformed field, a
            wrong algorithm or scope; `error::request_expired` for an old date. */
util::result<post_credential> parse_credential(std::span<form_field const> fields,
                                               sigv4::service_scope const& expected,
                                               std::chrono::system_clock::time_point now,
                                               std::chrono::seconds max_age = std::chrono::hours(24));

/** Checks the signature of a form: `signature_hex` must be the hex HMAC-SHA256 of
    `policy_base64` (the `policy` field as sent) under `key`, compared in constant time.
    @param policy_base64 The `policy` field, as sent (the string that was signed).
    @param signature_hex The `x-amz-signature` field (hex, either case).
    @param key           The signing key of the credential's secret key, date, region and
                         service (see @ref garage::api::sigv4::derive_signing_key).
    @return Success, or `error::signature_mismatch` (also when `signature_hex` is not 64 hex
            digits). */
util::result<void> verify_signature(std::string_view policy_base64, std::string_view signature_hex,
                                    sigv4::signing_key const& key);

/** Replaces every `${filename}` in a `key` field by the file's name.
    @param key The `key` field. @param filename The `filename` of the file part.
    @return The object key. */
std::string substitute_filename(std::string_view key, std::string_view filename);

} // namespace garage::api::post
