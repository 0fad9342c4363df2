#include <garage/api/s3/bucket_config.hpp>

#include <garage/api/s3/xml.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>

namespace garage::api::s3 {

namespace {

s3_error malformed(std::string msg)
{
    return s3_error::malformed_xml(std::move(msg));
}

/// The element children of `n`.
std::vector<pugi::xml_node> elements(pugi::xml_node n)
{
    std::vector<pugi::xml_node> out;
    for (auto c : n.children()) {
        if (c.type() == pugi::node_element) {
            out.push_back(c);
        }
    }
    return out;
}

std::string_view name_of(pugi::xml_node n)
{
    return n.name();
}

std::string value_of(pugi::xml_node n)
{
    return n.child_value();
}

std::optional<std::uint64_t> parse_number(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    if (s.empty() || s.size() > 18) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

/// Parses `body` and checks the root element's name.
config_result<pugi::xml_node> root_of(pugi::xml_document& doc, std::string_view body, std::string_view root)
{
    if (!parse_xml(doc, body)) {
        return malformed("The XML you provided was not well-formed or did not validate against our "
                         "published schema");
    }
    auto r = doc.document_element();
    if (name_of(r) != root) {
        return malformed("Expected " + std::string(root) + " as the root element");
    }
    return r;
}

/// Sets `slot` from `n`, failing on a duplicate element.
config_result<void> set_once(std::optional<std::string>& slot, pugi::xml_node n)
{
    if (slot) {
        return malformed("Duplicate element " + std::string(name_of(n)));
    }
    slot = value_of(n);
    return {};
}

config_result<void> set_once_number(std::optional<std::uint64_t>& slot, pugi::xml_node n)
{
    if (slot) {
        return malformed("Duplicate element " + std::string(name_of(n)));
    }
    auto v = parse_number(value_of(n));
    if (!v) {
        return malformed("Invalid number in " + std::string(name_of(n)));
    }
    slot = *v;
    return {};
}

// ---- CORS ---------------------------------------------------------------------------------------

config_result<model::cors_rule> parse_cors_rule(pugi::xml_node n)
{
    model::cors_rule r;
    for (auto c : elements(n)) {
        auto const nm = name_of(c);
        if (nm == "ID") {
            if (auto e = set_once(r.id, c); !e) {
                return e.error();
            }
            if (r.id->size() > 255) {
                return s3_error::invalid_argument("The ID of a CORS rule is longer than 255 characters");
            }
        } else if (nm == "MaxAgeSeconds") {
            if (auto e = set_once_number(r.max_age_seconds, c); !e) {
                return e.error();
            }
        } else if (nm == "AllowedOrigin") {
            r.allow_origins.push_back(value_of(c));
        } else if (nm == "AllowedMethod") {
            r.allow_methods.push_back(value_of(c));
        } else if (nm == "AllowedHeader") {
            r.allow_headers.push_back(value_of(c));
        } else if (nm == "ExposeHeader") {
            r.expose_headers.push_back(value_of(c));
        } else {
            return malformed("Unexpected element in CORSRule: " + std::string(nm));
        }
    }
    if (r.allow_origins.empty() || r.allow_methods.empty()) {
        return malformed("A CORSRule needs at least one AllowedOrigin and one AllowedMethod");
    }
    static constexpr std::array<std::string_view, 5> methods{"GET", "PUT", "HEAD", "POST", "DELETE"};
    for (auto const& m : r.allow_methods) {
        if (std::find(methods.begin(), methods.end(), m) == methods.end()) {
            return s3_error::invalid_request(
                "Found unsupported HTTP method in CORS config. Unsupported method is " + m);
        }
    }
    for (auto const& o : r.allow_origins) {
        if (o.empty() || std::count(o.begin(), o.end(), '*') > 1) {
            return s3_error::invalid_request("AllowedOrigin \"" + o +
                                             "\" can not have more than one wildcard.");
        }
    }
    for (auto const& h : r.allow_headers) {
        if (std::count(h.begin(), h.end(), '*') > 1) {
            return s3_error::invalid_request("AllowedHeader \"" + h +
                                             "\" can not have more than one wildcard.");
        }
    }
    return r;
}

// ---- website ------------------------------------------------------------------------------------

config_result<void> check_protocol(std::optional<std::string> const& p)
{
    if (p && *p != "http" && *p != "https") {
        return s3_error::invalid_request("Invalid protocol, protocol can be http or https. If not defined "
                                         "the protocol will be selected automatically.");
    }
    return {};
}

config_result<model::website_routing_rule> parse_routing_rule(pugi::xml_node n)
{
    model::website_routing_rule rule;
    bool has_redirect = false;
    bool has_condition = false;
    for (auto c : elements(n)) {
        auto const nm = name_of(c);
        if (nm == "Condition") {
            if (has_condition) {
                return malformed("Duplicate element Condition");
            }
            has_condition = true;
            for (auto d : elements(c)) {
                auto const dn = name_of(d);
                if (dn == "KeyPrefixEquals") {
                    if (auto e = set_once(rule.condition.key_prefix_equals, d); !e) {
                        return e.error();
                    }
                } else if (dn == "HttpErrorCodeReturnedEquals") {
                    std::optional<std::uint64_t> code;
                    if (auto e = set_once_number(code, d); !e) {
                        return e.error();
                    }
                    if (*code < 400 || *code > 599) {
                        return s3_error::invalid_argument("The provided HTTP error code (" +
                                                          std::to_string(*code) +
                                                          ") is not valid. Valid "
                                                          "codes are 4XX or 5XX.");
                    }
                    rule.condition.http_error_code_returned_equals = static_cast<std::uint16_t>(*code);
                } else {
                    return malformed("Unexpected element in Condition: " + std::string(dn));
                }
            }
        } else if (nm == "Redirect") {
            if (has_redirect) {
                return malformed("Duplicate element Redirect");
            }
            has_redirect = true;
            auto& r = rule.redirect;
            for (auto d : elements(c)) {
                auto const dn = name_of(d);
                config_result<void> e;
                if (dn == "HostName") {
                    e = set_once(r.host_name, d);
                } else if (dn == "Protocol") {
                    e = set_once(r.protocol, d);
                } else if (dn == "ReplaceKeyPrefixWith") {
                    e = set_once(r.replace_key_prefix_with, d);
                } else if (dn == "ReplaceKeyWith") {
                    e = set_once(r.replace_key_with, d);
                } else if (dn == "HttpRedirectCode") {
                    std::optional<std::uint64_t> code;
                    e = set_once_number(code, d);
                    if (e && (*code < 301 || *code > 399)) {
                        return s3_error::invalid_request("The provided HTTP redirect code (" +
                                                         std::to_string(*code) +
                                                         ") is not valid. Valid codes are 3XX except 300.");
                    }
                    if (e) {
                        r.http_redirect_code = static_cast<std::uint16_t>(*code);
                    }
                } else {
                    return malformed("Unexpected element in Redirect: " + std::string(dn));
                }
                if (!e) {
                    return e.error();
                }
            }
            if (auto e = check_protocol(r.protocol); !e) {
                return e.error();
            }
            if (r.replace_key_prefix_with && r.replace_key_with) {
                return s3_error::invalid_request(
                    "You can only define ReplaceKeyPrefix or ReplaceKey but not both.");
            }
        } else {
            return malformed("Unexpected element in RoutingRule: " + std::string(nm));
        }
    }
    if (!has_redirect) {
        return malformed("A RoutingRule needs a Redirect");
    }
    return rule;
}

// ---- lifecycle ----------------------------------------------------------------------------------

s3_error lifecycle_not_implemented(std::string_view what)
{
    return {"NotImplemented", 501,
            "Lifecycle " + std::string(what) +
                " is not implemented: only Expiration (Days or Date) and "
                "AbortIncompleteMultipartUpload are supported"};
}

/// Reads one filter condition into `f`; `in_and` forbids a nested And.
config_result<void> parse_filter_condition(pugi::xml_node c, model::lifecycle_filter& f)
{
    auto const nm = name_of(c);
    if (nm == "Prefix") {
        return set_once(f.prefix, c);
    }
    if (nm == "ObjectSizeGreaterThan") {
        return set_once_number(f.size_gt, c);
    }
    if (nm == "ObjectSizeLessThan") {
        return set_once_number(f.size_lt, c);
    }
    if (nm == "Tag") {
        return lifecycle_not_implemented("Tag filters");
    }
    return malformed("Unexpected element in Filter: " + std::string(nm));
}

config_result<model::lifecycle_filter> parse_filter(pugi::xml_node n)
{
    model::lifecycle_filter f;
    auto const cs = elements(n);
    if (cs.size() > 1) {
        return malformed("A Filter with several conditions must put them inside And");
    }
    if (cs.size() == 1) {
        if (name_of(cs[0]) == "And") {
            for (auto c : elements(cs[0])) {
                if (name_of(c) == "And") {
                    return malformed("And cannot be nested");
                }
                if (auto e = parse_filter_condition(c, f); !e) {
                    return e.error();
                }
            }
        } else if (auto e = parse_filter_condition(cs[0], f); !e) {
            return e.error();
        }
    }
    if (f.size_gt && f.size_lt && *f.size_gt >= *f.size_lt) {
        return s3_error::invalid_argument("ObjectSizeGreaterThan must be less than ObjectSizeLessThan");
    }
    return f;
}

config_result<model::lifecycle_rule> parse_lifecycle_rule(pugi::xml_node n)
{
    model::lifecycle_rule r;
    std::optional<std::string> status;
    bool has_filter = false;
    bool has_prefix = false;
    bool has_expiration = false;
    for (auto c : elements(n)) {
        auto const nm = name_of(c);
        if (nm == "ID") {
            if (auto e = set_once(r.id, c); !e) {
                return e.error();
            }
            if (r.id->size() > 255) {
                return s3_error::invalid_argument("ID length should not exceed allowed limit of 255");
            }
        } else if (nm == "Status") {
            if (auto e = set_once(status, c); !e) {
                return e.error();
            }
        } else if (nm == "Filter" || nm == "Prefix") {
            if (has_filter || has_prefix) {
                return malformed("A Rule has at most one Filter or Prefix");
            }
            if (nm == "Filter") {
                has_filter = true;
                auto f = parse_filter(c);
                if (!f) {
                    return f.error();
                }
                r.filter = std::move(*f);
            } else {
                has_prefix = true;
                r.filter.prefix = value_of(c);
            }
        } else if (nm == "Expiration") {
            if (has_expiration) {
                return malformed("Duplicate element Expiration");
            }
            has_expiration = true;
            std::optional<std::uint64_t> days;
            std::optional<std::string> date;
            for (auto d : elements(c)) {
                auto const dn = name_of(d);
                if (dn == "Days") {
                    if (auto e = set_once_number(days, d); !e) {
                        return s3_error::invalid_argument("'Days' for Expiration action must be a positive "
                                                          "integer");
                    }
                } else if (dn == "Date") {
                    if (auto e = set_once(date, d); !e) {
                        return e.error();
                    }
                } else if (dn == "ExpiredObjectDeleteMarker") {
                    return lifecycle_not_implemented("ExpiredObjectDeleteMarker");
                } else {
                    return malformed("Unexpected element in Expiration: " + std::string(dn));
                }
            }
            if (days.has_value() == date.has_value()) {
                return malformed("Expiration needs exactly one of Days and Date");
            }
            if (days) {
                if (*days == 0) {
                    return s3_error::invalid_argument(
                        "'Days' for Expiration action must be a positive integer");
                }
                r.expiration = model::expire_after_days{*days};
            } else {
                auto parsed = parse_midnight_date(*date);
                if (!parsed) {
                    return s3_error::invalid_argument("'Date' must be at midnight GMT");
                }
                r.expiration = model::expire_at_date{*parsed};
            }
        } else if (nm == "AbortIncompleteMultipartUpload") {
            if (r.abort_incomplete_mpu_days) {
                return malformed("Duplicate element AbortIncompleteMultipartUpload");
            }
            auto const ds = elements(c);
            if (ds.size() != 1 || name_of(ds[0]) != "DaysAfterInitiation") {
                return malformed("AbortIncompleteMultipartUpload needs DaysAfterInitiation");
            }
            auto v = parse_number(value_of(ds[0]));
            if (!v || *v == 0) {
                return s3_error::invalid_argument("'DaysAfterInitiation' for AbortIncompleteMultipartUpload "
                                                  "action must be a positive integer");
            }
            r.abort_incomplete_mpu_days = *v;
        } else if (nm == "Transition" || nm == "Transitions" || nm == "NoncurrentVersionExpiration" ||
                   nm == "NoncurrentVersionTransition" || nm == "NoncurrentVersionTransitions") {
            return lifecycle_not_implemented(nm);
        } else {
            return malformed("Unexpected element in Rule: " + std::string(nm));
        }
    }
    if (!status) {
        return malformed("A Rule needs a Status");
    }
    if (*status == "Enabled") {
        r.enabled = true;
    } else if (*status == "Disabled") {
        r.enabled = false;
    } else {
        return malformed("Status must be Enabled or Disabled");
    }
    if (!r.expiration && !r.abort_incomplete_mpu_days) {
        return s3_error::invalid_request("At least one action needs to be specified in a rule");
    }
    if (r.abort_incomplete_mpu_days && (r.filter.size_gt || r.filter.size_lt)) {
        return s3_error::invalid_request(
            "AbortIncompleteMultipartUpload cannot be specified with an object size filter");
    }
    return r;
}

void render_filter(pugi::xml_node rule, model::lifecycle_filter const& f)
{
    auto filter = rule.append_child("Filter");
    int const n = (f.prefix ? 1 : 0) + (f.size_gt ? 1 : 0) + (f.size_lt ? 1 : 0);
    auto target = n > 1 ? filter.append_child("And") : filter;
    if (f.prefix) {
        xml_writer::text(target, "Prefix", *f.prefix);
    }
    if (f.size_gt) {
        xml_writer::text(target, "ObjectSizeGreaterThan", std::to_string(*f.size_gt));
    }
    if (f.size_lt) {
        xml_writer::text(target, "ObjectSizeLessThan", std::to_string(*f.size_lt));
    }
}

bool is_leap(int y) noexcept
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool all_digits(std::string_view s) noexcept
{
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view s) noexcept
{
    int v = 0;
    for (char c : s) {
        v = v * 10 + (c - '0');
    }
    return v;
}

} // namespace

// ---- public functions ---------------------------------------------------------------------------

config_result<std::vector<model::cors_rule>> parse_cors_configuration(std::string_view body)
{
    pugi::xml_document doc;
    auto root = root_of(doc, body, "CORSConfiguration");
    if (!root) {
        return root.error();
    }
    std::vector<model::cors_rule> rules;
    for (auto c : elements(*root)) {
        if (name_of(c) != "CORSRule") {
            return malformed("Unexpected element in CORSConfiguration: " + std::string(name_of(c)));
        }
        auto r = parse_cors_rule(c);
        if (!r) {
            return r.error();
        }
        rules.push_back(std::move(*r));
    }
    if (rules.empty()) {
        return malformed("A CORSConfiguration needs at least one CORSRule");
    }
    if (rules.size() > 100) {
        return s3_error::invalid_request("A CORSConfiguration has at most 100 rules");
    }
    return rules;
}

std::string render_cors_configuration(std::span<model::cors_rule const> rules)
{
    xml_writer w("CORSConfiguration");
    for (auto const& r : rules) {
        auto n = w.child("CORSRule");
        if (r.id) {
            xml_writer::text(n, "ID", *r.id);
        }
        for (auto const& o : r.allow_origins) {
            xml_writer::text(n, "AllowedOrigin", o);
        }
        for (auto const& m : r.allow_methods) {
            xml_writer::text(n, "AllowedMethod", m);
        }
        for (auto const& h : r.allow_headers) {
            xml_writer::text(n, "AllowedHeader", h);
        }
        for (auto const& h : r.expose_headers) {
            xml_writer::text(n, "ExposeHeader", h);
        }
        if (r.max_age_seconds) {
            xml_writer::text(n, "MaxAgeSeconds", std::to_string(*r.max_age_seconds));
        }
    }
    return w.str();
}

config_result<model::website_config> parse_website_configuration(std::string_view body)
{
    pugi::xml_document doc;
    auto root = root_of(doc, body, "WebsiteConfiguration");
    if (!root) {
        return root.error();
    }
    model::website_config cfg;
    std::optional<std::string> index;
    bool has_error_doc = false;
    bool has_rules = false;
    for (auto c : elements(*root)) {
        auto const nm = name_of(c);
        if (nm == "IndexDocument") {
            if (index) {
                return malformed("Duplicate element IndexDocument");
            }
            auto const s = c.child("Suffix");
            if (!s || elements(c).size() != 1) {
                return malformed("IndexDocument needs exactly one Suffix");
            }
            index = value_of(s);
            if (index->empty() || index->find('/') != std::string::npos) {
                return s3_error::invalid_argument("The IndexDocument Suffix is not well formed");
            }
        } else if (nm == "ErrorDocument") {
            if (has_error_doc) {
                return malformed("Duplicate element ErrorDocument");
            }
            has_error_doc = true;
            auto const k = c.child("Key");
            if (!k || elements(c).size() != 1) {
                return malformed("ErrorDocument needs exactly one Key");
            }
            if (value_of(k).empty()) {
                return s3_error::invalid_argument("The ErrorDocument Key is not well formed");
            }
            cfg.error_document = value_of(k);
        } else if (nm == "RedirectAllRequestsTo") {
            if (cfg.redirect_all_requests_to) {
                return malformed("Duplicate element RedirectAllRequestsTo");
            }
            model::website_redirect_all ra;
            std::optional<std::string> host;
            for (auto d : elements(c)) {
                config_result<void> e;
                if (name_of(d) == "HostName") {
                    e = set_once(host, d);
                } else if (name_of(d) == "Protocol") {
                    e = set_once(ra.protocol, d);
                } else {
                    return malformed("Unexpected element in RedirectAllRequestsTo: " +
                                     std::string(name_of(d)));
                }
                if (!e) {
                    return e.error();
                }
            }
            if (!host || host->empty()) {
                return malformed("RedirectAllRequestsTo needs a HostName");
            }
            if (auto e = check_protocol(ra.protocol); !e) {
                return e.error();
            }
            ra.host_name = std::move(*host);
            cfg.redirect_all_requests_to = std::move(ra);
        } else if (nm == "RoutingRules") {
            if (has_rules) {
                return malformed("Duplicate element RoutingRules");
            }
            has_rules = true;
            for (auto d : elements(c)) {
                if (name_of(d) != "RoutingRule") {
                    return malformed("Unexpected element in RoutingRules: " + std::string(name_of(d)));
                }
                auto r = parse_routing_rule(d);
                if (!r) {
                    return r.error();
                }
                cfg.routing_rules.push_back(std::move(*r));
            }
            if (cfg.routing_rules.size() > 50) {
                return s3_error::invalid_request("A website configuration has at most 50 routing rules");
            }
        } else {
            return malformed("Unexpected element in WebsiteConfiguration: " + std::string(nm));
        }
    }
    if (cfg.redirect_all_requests_to) {
        if (index || has_error_doc || has_rules) {
            return s3_error::invalid_argument("RedirectAllRequestsTo cannot be provided in conjunction with "
                                              "other Routing/Redirect configurations.");
        }
        return cfg;
    }
    if (!index) {
        return s3_error::invalid_argument(
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty");
    }
    cfg.index_document = std::move(*index);
    return cfg;
}

std::string render_website_configuration(model::website_config const& cfg)
{
    xml_writer w("WebsiteConfiguration");
    if (cfg.redirect_all_requests_to) {
        auto n = w.child("RedirectAllRequestsTo");
        xml_writer::text(n, "HostName", cfg.redirect_all_requests_to->host_name);
        if (cfg.redirect_all_requests_to->protocol) {
            xml_writer::text(n, "Protocol", *cfg.redirect_all_requests_to->protocol);
        }
        return w.str();
    }
    xml_writer::text(w.child("IndexDocument"), "Suffix", cfg.index_document);
    if (cfg.error_document) {
        xml_writer::text(w.child("ErrorDocument"), "Key", *cfg.error_document);
    }
    if (!cfg.routing_rules.empty()) {
        auto rules = w.child("RoutingRules");
        for (auto const& r : cfg.routing_rules) {
            auto n = rules.append_child("RoutingRule");
            if (r.condition.key_prefix_equals || r.condition.http_error_code_returned_equals) {
                auto c = n.append_child("Condition");
                if (r.condition.key_prefix_equals) {
                    xml_writer::text(c, "KeyPrefixEquals", *r.condition.key_prefix_equals);
                }
                if (r.condition.http_error_code_returned_equals) {
                    xml_writer::text(c, "HttpErrorCodeReturnedEquals",
                                     std::to_string(*r.condition.http_error_code_returned_equals));
                }
            }
            auto d = n.append_child("Redirect");
            auto const& rd = r.redirect;
            if (rd.host_name) {
                xml_writer::text(d, "HostName", *rd.host_name);
            }
            if (rd.http_redirect_code) {
                xml_writer::text(d, "HttpRedirectCode", std::to_string(*rd.http_redirect_code));
            }
            if (rd.protocol) {
                xml_writer::text(d, "Protocol", *rd.protocol);
            }
            if (rd.replace_key_prefix_with) {
                xml_writer::text(d, "ReplaceKeyPrefixWith", *rd.replace_key_prefix_with);
            }
            if (rd.replace_key_with) {
                xml_writer::text(d, "ReplaceKeyWith", *rd.replace_key_with);
            }
        }
    }
    return w.str();
}

config_result<std::vector<model::lifecycle_rule>> parse_lifecycle_configuration(std::string_view body)
{
    pugi::xml_document doc;
    auto root = root_of(doc, body, "LifecycleConfiguration");
    if (!root) {
        return root.error();
    }
    std::vector<model::lifecycle_rule> rules;
    std::set<std::string> ids;
    for (auto c : elements(*root)) {
        if (name_of(c) != "Rule") {
            return malformed("Unexpected element in LifecycleConfiguration: " + std::string(name_of(c)));
        }
        auto r = parse_lifecycle_rule(c);
        if (!r) {
            return r.error();
        }
        if (r->id && !ids.insert(*r->id).second) {
            return s3_error::invalid_argument("Rule ID must be unique. Found same ID for more than one rule");
        }
        rules.push_back(std::move(*r));
    }
    if (rules.empty()) {
        return malformed("A LifecycleConfiguration needs at least one Rule");
    }
    if (rules.size() > 1000) {
        return s3_error::invalid_argument("A LifecycleConfiguration has at most 1000 rules");
    }
    return rules;
}

std::string render_lifecycle_configuration(std::span<model::lifecycle_rule const> rules)
{
    xml_writer w("LifecycleConfiguration");
    for (auto const& r : rules) {
        auto n = w.child("Rule");
        if (r.id) {
            xml_writer::text(n, "ID", *r.id);
        }
        render_filter(n, r.filter);
        xml_writer::text(n, "Status", r.enabled ? "Enabled" : "Disabled");
        if (r.expiration) {
            auto e = n.append_child("Expiration");
            if (auto const* d = std::get_if<model::expire_after_days>(&*r.expiration)) {
                xml_writer::text(e, "Days", std::to_string(d->days));
            } else {
                xml_writer::text(e, "Date",
                                 std::get<model::expire_at_date>(*r.expiration).date + "T00:00:00.000Z");
            }
        }
        if (r.abort_incomplete_mpu_days) {
            auto a = n.append_child("AbortIncompleteMultipartUpload");
            xml_writer::text(a, "DaysAfterInitiation", std::to_string(*r.abort_incomplete_mpu_days));
        }
    }
    return w.str();
}

std::optional<std::string> parse_midnight_date(std::string_view text)
{
    if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !all_digits(text.substr(0, 4)) ||
        !all_digits(text.substr(5, 2)) || !all_digits(text.substr(8, 2))) {
        return std::nullopt;
    }
    int const y = to_int(text.substr(0, 4));
    int const m = to_int(text.substr(5, 2));
    int const d = to_int(text.substr(8, 2));
    static constexpr std::array<int, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 ||
        d > days[static_cast<std::size_t>(m - 1)] + (m == 2 && is_leap(y) ? 1 : 0)) {
        return std::nullopt;
    }
    auto rest = text.substr(10);
    if (!rest.empty()) {
        // T00:00:00, then optional fraction of zeros, then Z or +00:00 / -00:00
        if (!rest.starts_with("T00:00:00")) {
            return std::nullopt;
        }
        rest.remove_prefix(9);
        if (rest.starts_with(".")) {
            rest.remove_prefix(1);
            std::size_t n = 0;
            while (n < rest.size() && rest[n] == '0') {
                ++n;
            }
            if (n == 0) {
                return std::nullopt;
            }
            rest.remove_prefix(n);
        }
        if (rest != "Z" && rest != "+00:00" && rest != "-00:00") {
            return std::nullopt;
        }
    }
    return std::string(text.substr(0, 10));
}

} // namespace garage::api::s3
