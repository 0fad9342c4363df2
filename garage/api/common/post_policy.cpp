#include <garage/api/common/post_policy.hpp>

#include <garage/api/common/request_view.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/encoding.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace garage::api::post {
namespace {

using util::condition;

class post_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.api.post"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::malformed_form:
            return "the body of the POST request is not well-formed multipart/form-data";
        case error::invalid_argument:
            return "invalid POST form field";
        case error::invalid_policy:
            return "invalid policy document";
        case error::policy_expired:
            return "policy expired";
        case error::condition_failed:
            return "policy condition failed";
        case error::request_expired:
            return "request date too old";
        case error::signature_mismatch:
            return "policy signature does not match";
        case error::entity_too_small:
            return "file smaller than the policy allows";
        case error::entity_too_large:
            return "file larger than the policy allows";
        }
        return "unknown POST upload error";
    }

    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::policy_expired:
        case error::condition_failed:
        case error::request_expired:
        case error::signature_mismatch:
            return condition::forbidden;
        case error::malformed_form:
        case error::invalid_argument:
        case error::invalid_policy:
        case error::entity_too_small:
        case error::entity_too_large:
            return condition::bad_request;
        }
        return condition::internal;
    }
};

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

util::failure malformed(std::string msg)
{
    return {error::malformed_form,
            "The body of your POST request is not well-formed multipart/form-data: " + std::move(msg)};
}

/// Splits `a; b="c;d"; e` at the semicolons outside quotes.
std::vector<std::string_view> split_params(std::string_view s)
{
    std::vector<std::string_view> out;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char const c = s[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ';' && !quoted) {
            out.push_back(trim(s.substr(start, i - start)));
            start = i + 1;
        }
    }
    out.push_back(trim(s.substr(start)));
    return out;
}

/// A parameter value, unquoted (backslash escapes resolved) if quoted.
std::optional<std::string> param_value(std::string_view v)
{
    if (v.empty() || v.front() != '"') {
        return std::string(v);
    }
    if (v.size() < 2 || v.back() != '"') {
        return std::nullopt;
    }
    v = v.substr(1, v.size() - 2);
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            ++i;
        }
        out.push_back(v[i]);
    }
    return out;
}

util::failure bad_policy(std::string msg)
{
    return {error::invalid_policy, "Invalid Policy: " + std::move(msg)};
}

/// A condition value that must be a string (numbers are accepted as their decimal text).
std::optional<std::string> string_value(boost::json::value const& v)
{
    if (v.is_string()) {
        return std::string(v.get_string());
    }
    if (v.is_int64()) {
        return std::to_string(v.get_int64());
    }
    if (v.is_uint64()) {
        return std::to_string(v.get_uint64());
    }
    return std::nullopt;
}

/// A `content-length-range` bound: a non-negative integer, or its decimal text.
std::optional<std::uint64_t> bound_value(boost::json::value const& v)
{
    if (v.is_int64()) {
        return v.get_int64() < 0 ? std::nullopt : std::optional<std::uint64_t>(v.get_int64());
    }
    if (v.is_uint64()) {
        return v.get_uint64();
    }
    if (v.is_string()) {
        std::string_view s = v.get_string();
        if (s.empty() || s.size() > 19) {
            return std::nullopt;
        }
        std::uint64_t n = 0;
        for (char c : s) {
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return n;
    }
    return std::nullopt;
}

util::result<policy_condition> parse_condition(boost::json::value const& v)
{
    if (!v.is_array()) {
        return bad_policy("a condition must be an object or an array");
    }
    auto const& a = v.get_array();
    if (a.size() != 3 || !a[0].is_string()) {
        return bad_policy("a condition array must have three elements: " + boost::json::serialize(v));
    }
    auto const op = lower(a[0].get_string());
    policy_condition c;
    if (op == "content-length-range") {
        auto lo = bound_value(a[1]);
        auto hi = bound_value(a[2]);
        if (!lo || !hi) {
            return bad_policy("invalid content-length-range: " + boost::json::serialize(v));
        }
        c.op = condition_op::content_length_range;
        c.min = *lo;
        c.max = *hi;
        return c;
    }
    if (op == "eq") {
        c.op = condition_op::eq;
    } else if (op == "starts-with") {
        c.op = condition_op::starts_with;
    } else {
        return bad_policy("unknown condition: " + boost::json::serialize(v));
    }
    if (!a[1].is_string() || !a[1].get_string().starts_with("$") || a[1].get_string().size() < 2) {
        return bad_policy("the field of a condition must be \"$name\": " + boost::json::serialize(v));
    }
    auto value = string_value(a[2]);
    if (!value) {
        return bad_policy("the value of a condition must be a string: " + boost::json::serialize(v));
    }
    c.field = lower(std::string_view(a[1].get_string()).substr(1));
    c.value = std::move(*value);
    return c;
}

int digits(std::string_view s, std::size_t pos, std::size_t n)
{
    if (pos + n > s.size()) {
        return -1;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

} // namespace

boost::system::error_category const& post_category() noexcept
{
    static post_category_impl const instance;
    return instance;
}

std::string_view s3_error_code(error e) noexcept
{
    switch (e) {
    case error::malformed_form:
        return "MalformedPOSTRequest";
    case error::invalid_argument:
        return "InvalidArgument";
    case error::invalid_policy:
        return "InvalidPolicyDocument";
    case error::policy_expired:
    case error::condition_failed:
    case error::request_expired:
    case error::signature_mismatch:
        return "AccessDenied";
    case error::entity_too_small:
        return "EntityTooSmall";
    case error::entity_too_large:
        return "EntityTooLarge";
    }
    return "InternalError";
}

unsigned http_status(error e) noexcept
{
    switch (e) {
    case error::policy_expired:
    case error::condition_failed:
    case error::request_expired:
    case error::signature_mismatch:
        return 403;
    default:
        return 400;
    }
}

// ---- multipart/form-data ------------------------------------------------------------------------

util::result<std::string> form_boundary(std::string_view content_type)
{
    auto params = split_params(content_type);
    if (!iequals(params.front(), "multipart/form-data")) {
        return util::failure(error::malformed_form,
                             "The Content-Type of a POST upload must be multipart/form-data, not '" +
                                 std::string(content_type) + "'");
    }
    for (std::size_t i = 1; i < params.size(); ++i) {
        auto const eq = params[i].find('=');
        if (eq == std::string_view::npos || !iequals(trim(params[i].substr(0, eq)), "boundary")) {
            continue;
        }
        auto b = param_value(trim(params[i].substr(eq + 1)));
        if (!b || b->empty() || b->size() > 70) {
            break;
        }
        return std::move(*b);
    }
    return util::failure(error::malformed_form, "The Content-Type of a POST upload has no valid boundary");
}

form_parser::form_parser(std::string boundary, form_limits limits)
    : delimiter_("\r\n--" + boundary), limits_(limits), buf_("\r\n") // a boundary may open the body
{
}

void form_parser::feed(std::string_view data)
{
    if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(data);
}

void form_parser::end_of_input() noexcept
{
    input_ended_ = true;
}

util::result<bool> form_parser::after_delimiter()
{
    std::string_view rest = std::string_view(buf_).substr(pos_);
    if (rest.size() >= 2 && rest.starts_with("--")) {
        pos_ += 2;
        state_ = state::done;
        return true;
    }
    std::size_t i = 0;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t') && i < 256) {
        ++i;
    }
    if (i + 2 <= rest.size()) {
        if (rest.substr(i, 2) != "\r\n") {
            return malformed("bad delimiter line");
        }
        pos_ += i + 2;
        if (++parts_ > limits_.max_fields) {
            return malformed("too many fields");
        }
        head_ = part_head{};
        value_.clear();
        state_ = state::head;
        return true;
    }
    if (i >= 256 || input_ended_) {
        return malformed(input_ended_ ? "the body ends inside a delimiter" : "bad delimiter line");
    }
    return false;
}

util::result<void> form_parser::parse_head(std::string_view block)
{
    bool disposition = false;
    while (!block.empty()) {
        auto const eol = block.find("\r\n");
        std::string_view line = block.substr(0, eol);
        block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
        auto const colon = line.find(':');
        if (colon == std::string_view::npos) {
            return malformed("bad part header line");
        }
        auto const name = trim(line.substr(0, colon));
        auto const value = trim(line.substr(colon + 1));
        if (iequals(name, "content-type")) {
            head_.content_type = std::string(value);
        } else if (iequals(name, "content-disposition")) {
            auto params = split_params(value);
            if (!iequals(params.front(), "form-data")) {
                return malformed("a part's Content-Disposition must be form-data");
            }
            for (std::size_t i = 1; i < params.size(); ++i) {
                auto const eq = params[i].find('=');
                if (eq == std::string_view::npos) {
                    continue;
                }
                auto const pname = trim(params[i].substr(0, eq));
                auto pvalue = param_value(trim(params[i].substr(eq + 1)));
                if (!pvalue) {
                    return malformed("bad Content-Disposition parameter");
                }
                if (iequals(pname, "name")) {
                    head_.name = lower(*pvalue);
                    disposition = true;
                } else if (iequals(pname, "filename")) {
                    head_.filename = std::move(*pvalue);
                }
            }
        }
    }
    if (!disposition) {
        return malformed("a part has no Content-Disposition name");
    }
    return {};
}

util::result<form_event> form_parser::next()
{
    for (;;) {
        std::string_view const cur = std::string_view(buf_).substr(pos_);
        switch (state_) {
        case state::preamble: {
            auto const at = cur.find(delimiter_);
            if (at == std::string_view::npos) {
                // keep what may be the start of the first delimiter
                auto const keep = std::min(cur.size(), delimiter_.size() - 1);
                pos_ += cur.size() - keep;
                if (input_ended_) {
                    return malformed("no boundary found");
                }
                return form_event::need_input;
            }
            pos_ += at + delimiter_.size();
            state_ = state::delimiter;
            break;
        }
        case state::delimiter: {
            auto r = after_delimiter();
            if (!r) {
                return r.error();
            }
            if (!*r) {
                return form_event::need_input;
            }
            break;
        }
        case state::head: {
            std::size_t end = std::string_view::npos;
            std::size_t skip = 0;
            if (cur.starts_with("\r\n")) {
                end = 0; // a part without headers
                skip = 2;
            } else if (auto at = cur.find("\r\n\r\n"); at != std::string_view::npos) {
                end = at;
                skip = 4;
            }
            if (end == std::string_view::npos) {
                if (cur.size() > limits_.max_header_size) {
                    return malformed("part headers too long");
                }
                if (input_ended_) {
                    return malformed("the body ends inside part headers");
                }
                return form_event::need_input;
            }
            if (end > limits_.max_header_size) {
                return malformed("part headers too long");
            }
            if (auto r = parse_head(cur.substr(0, end)); !r) {
                return r.error();
            }
            pos_ += end + skip;
            if (head_.name == "file") {
                state_ = state::file;
                return form_event::file;
            }
            state_ = state::field;
            break;
        }
        case state::field: {
            auto const at = cur.find(delimiter_);
            if (at == std::string_view::npos) {
                if (cur.size() > limits_.max_field_size + delimiter_.size()) {
                    return malformed("field '" + head_.name + "' is too long");
                }
                if (input_ended_) {
                    return malformed("the body ends inside field '" + head_.name + "'");
                }
                return form_event::need_input;
            }
            if (at > limits_.max_field_size) {
                return malformed("field '" + head_.name + "' is too long");
            }
            value_.assign(cur.substr(0, at));
            pos_ += at + delimiter_.size();
            state_ = state::delimiter;
            return form_event::field;
        }
        case state::file: {
            std::string skipped;
            auto r = read_file(skipped);
            if (!r) {
                return r.error();
            }
            if (!*r) {
                return form_event::need_input;
            }
            break;
        }
        case state::done:
            return form_event::end;
        }
    }
}

util::result<bool> form_parser::read_file(std::string& out)
{
    if (state_ != state::file) {
        return true;
    }
    std::string_view const cur = std::string_view(buf_).substr(pos_);
    auto const at = cur.find(delimiter_);
    if (at != std::string_view::npos) {
        out.append(cur.substr(0, at));
        pos_ += at + delimiter_.size();
        state_ = state::delimiter;
        return true;
    }
    auto const keep = delimiter_.size() - 1;
    if (cur.size() > keep) {
        out.append(cur.substr(0, cur.size() - keep));
        pos_ += cur.size() - keep;
    }
    if (input_ended_) {
        return malformed("the body ends inside the file");
    }
    return false;
}

// ---- policy ---------------------------------------------------------------------------------------

std::optional<std::string_view> find_field(std::span<form_field const> fields, std::string_view name) noexcept
{
    for (auto const& f : fields) {
        if (f.name == name) {
            return std::string_view(f.value);
        }
    }
    return std::nullopt;
}

std::string policy_condition::to_string() const
{
    switch (op) {
    case condition_op::content_length_range:
        return "[\"content-length-range\", " + std::to_string(min) + ", " + std::to_string(max) + "]";
    case condition_op::eq:
        return "[\"eq\", \"$" + field + "\", " + boost::json::serialize(boost::json::value(value)) + "]";
    case condition_op::starts_with:
        return "[\"starts-with\", \"$" + field + "\", " + boost::json::serialize(boost::json::value(value)) +
               "]";
    }
    return {};
}

util::result<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s)
{
    auto bad = [&] {
        return util::failure(error::invalid_policy, "Invalid Policy: bad date '" + std::string(s) + "'");
    };
    int const y = digits(s, 0, 4);
    int const mo = digits(s, 5, 2);
    int const d = digits(s, 8, 2);
    int const h = digits(s, 11, 2);
    int const mi = digits(s, 14, 2);
    int const se = digits(s, 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' || h > 23 || mi > 59 ||
        se > 60) {
        return bad();
    }
    std::chrono::year_month_day const ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                          std::chrono::day(static_cast<unsigned>(d))};
    if (!ymd.ok()) {
        return bad();
    }
    std::size_t i = 19;
    std::chrono::milliseconds frac{0};
    if (i < s.size() && s[i] == '.') {
        ++i;
        int scale = 100;
        std::size_t const start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            frac += std::chrono::milliseconds((s[i] - '0') * scale);
            scale /= 10;
            ++i;
        }
        if (i == start) {
            return bad();
        }
    }
    std::chrono::minutes offset{0};
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int const oh = digits(s, i + 1, 2);
        int const om = digits(s, i + 4, 2);
        if (oh < 0 || om < 0 || s[i + 3] != ':') {
            return bad();
        }
        offset = std::chrono::minutes(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return bad();
    }
    if (i != s.size()) {
        return bad();
    }
    auto const t = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                   std::chrono::seconds(se) + frac - offset;
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(t);
}

util::result<policy_document> parse_policy(std::string_view json)
{
    boost::system::error_code ec;
    auto const v = boost::json::parse(json, ec);
    if (ec || !v.is_object()) {
        return bad_policy("the policy is not a JSON object");
    }
    auto const& o = v.get_object();
    auto const* exp = o.if_contains("expiration");
    if (exp == nullptr || !exp->is_string()) {
        return bad_policy("the policy has no expiration");
    }
    policy_document doc;
    auto t = parse_iso8601(exp->get_string());
    if (!t) {
        return t.error();
    }
    doc.expiration = *t;
    auto const* conds = o.if_contains("conditions");
    if (conds == nullptr || !conds->is_array()) {
        return bad_policy("the policy has no conditions array");
    }
    for (auto const& c : conds->get_array()) {
        if (c.is_object()) {
            for (auto const& [k, val] : c.get_object()) {
                auto value = string_value(val);
                if (!value) {
                    return bad_policy("the value of a condition must be a string: " +
                                      boost::json::serialize(c));
                }
                std::string_view name = k;
                if (name.starts_with("$")) {
                    name.remove_prefix(1);
                }
                doc.conditions.push_back(policy_condition{condition_op::eq, lower(name), std::move(*value)});
            }
            continue;
        }
        auto pc = parse_condition(c);
        if (!pc) {
            return pc.error();
        }
        doc.conditions.push_back(std::move(*pc));
    }
    return doc;
}

util::result<policy_document> decode_policy(std::string_view base64)
{
    auto json = util::from_base64(base64);
    if (!json) {
        return bad_policy("the policy is not valid base64");
    }
    return parse_policy(*json);
}

util::result<void> length_range::check_max(std::uint64_t size) const
{
    if (size > max) {
        return util::failure(error::entity_too_large,
                             "Your proposed upload exceeds the maximum allowed size (" + std::to_string(max) +
                                 " bytes)");
    }
    return {};
}

util::result<void> length_range::check(std::uint64_t size) const
{
    if (size < min) {
        return util::failure(error::entity_too_small,
                             "Your proposed upload is smaller than the minimum allowed size (" +
                                 std::to_string(min) + " bytes)");
    }
    return check_max(size);
}

bool is_exempt_field(std::string_view name) noexcept
{
    return name == "policy" || name == "x-amz-signature" || name == "file" || name.starts_with("x-ignore-");
}

util::result<length_range> check_policy(policy_document const& policy, std::span<form_field const> fields,
                                        std::chrono::system_clock::time_point now)
{
    if (now > policy.expiration) {
        return util::failure(error::policy_expired, "Invalid according to Policy: Policy expired.");
    }
    length_range range;
    std::set<std::string, std::less<>> covered;
    for (auto const& c : policy.conditions) {
        if (c.op == condition_op::content_length_range) {
            range.min = std::max(range.min, c.min);
            range.max = std::min(range.max, c.max);
            continue;
        }
        covered.insert(c.field);
        auto const v = find_field(fields, c.field);
        bool ok = v.has_value();
        if (ok && c.op == condition_op::eq) {
            ok = *v == c.value;
        } else if (ok && c.field == "content-type") {
            std::string_view rest = *v;
            for (;;) {
                auto const comma = rest.find(',');
                ok = ok && trim(rest.substr(0, comma)).starts_with(c.value);
                if (comma == std::string_view::npos) {
                    break;
                }
                rest.remove_prefix(comma + 1);
            }
        } else if (ok) {
            ok = v->starts_with(c.value);
        }
        if (!ok) {
            return util::failure(error::condition_failed,
                                 "Invalid according to Policy: Policy Condition failed: " + c.to_string());
        }
    }
    for (auto const& f : fields) {
        if (!is_exempt_field(f.name) && !covered.contains(f.name)) {
            return util::failure(error::condition_failed,
                                 "Invalid according to Policy: Extra input fields: " + f.name);
        }
    }
    return range;
}

// ---- authentication -------------------------------------------------------------------------------

util::result<post_credential> parse_credential(std::span<form_field const> fields,
                                               sigv4::service_scope const& expected,
                                               std::chrono::system_clock::time_point now,
                                               std::chrono::seconds max_age)
{
    auto required = [&](std::string_view name) -> util::result<std::string_view> {
        if (auto v = find_field(fields, name)) {
            return *v;
        }
        return util::failure(error::invalid_argument,
                             "Bucket POST must contain a field named '" + std::string(name) + "'");
    };
    auto algo = required("x-amz-algorithm");
    if (!algo) {
        return algo.error();
    }
    if (*algo != sigv4::algorithm) {
        return util::failure(error::invalid_argument, "Unsupported x-amz-algorithm '" + std::string(*algo) +
                                                          "': only AWS4-HMAC-SHA256");
    }
    auto cred = required("x-amz-credential");
    if (!cred) {
        return cred.error();
    }
    auto date = required("x-amz-date");
    if (!date) {
        return date.error();
    }
    std::vector<std::string_view> parts;
    std::string_view rest = *cred;
    for (;;) {
        auto const slash = rest.find('/');
        parts.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    auto bad_cred = [&](std::string why) {
        return util::failure(error::invalid_argument,
                             "Invalid x-amz-credential '" + std::string(*cred) + "': " + std::move(why));
    };
    if (parts.size() != 5 || parts[0].empty() || parts[4] != "aws4_request") {
        return bad_cred("expected <key>/<date>/<region>/<service>/aws4_request");
    }
    if (parts[2] != expected.region) {
        return bad_cred("the region must be '" + std::string(expected.region) + "'");
    }
    if (parts[3] != sigv4::to_string(expected.svc)) {
        return bad_cred("the service must be '" + std::string(sigv4::to_string(expected.svc)) + "'");
    }
    auto t = sigv4::parse_amz_date(*date);
    if (!t) {
        return util::failure(error::invalid_argument, "Invalid x-amz-date '" + std::string(*date) + "'");
    }
    if (!date->starts_with(parts[1]) || parts[1].size() != 8) {
        return bad_cred("its date must be the date of x-amz-date");
    }
    if (now - *t > max_age) {
        return util::failure(error::request_expired, "Invalid according to Policy: x-amz-date is too old");
    }
    post_credential out;
    out.access_key_id = std::string(parts[0]);
    out.short_date = std::string(parts[1]);
    out.amz_date = std::string(*date);
    out.date = *t;
    out.region = std::string(expected.region);
    out.svc = expected.svc;
    return out;
}

util::result<void> verify_signature(std::string_view policy_base64, std::string_view signature_hex,
                                    sigv4::signing_key const& key)
{
    auto sent = util::hash32::from_hex(lower(signature_hex));
    if (!sent || !sigv4::signatures_equal(*sent, sigv4::compute_signature(key, policy_base64))) {
        return util::failure(error::signature_mismatch,
                             "The request signature we calculated does not match the signature you provided");
    }
    return {};
}

std::string substitute_filename(std::string_view key, std::string_view filename)
{
    static constexpr std::string_view var = "${filename}";
    std::string out;
    for (;;) {
        auto const at = key.find(var);
        out.append(key.substr(0, at));
        if (at == std::string_view::npos) {
            break;
        }
        out.append(filename);
        key.remove_prefix(at + var.size());
    }
    return out;
}

} // namespace garage::api::post
