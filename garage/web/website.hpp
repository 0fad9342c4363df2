#pragma once
/** @file
    The pure rules of the static-website endpoint (GARAGE-REFERENCE §2): which bucket a `Host`
    names, which key a path names, where `RedirectAllRequestsTo` and `RoutingRules` send a
    request, and the plain HTML error page. No server, no storage: the endpoint
    (`garage/web/web_server.hpp`) applies them. */

#include <garage/api/s3/error.hpp>
#include <garage/model/bucket.hpp>

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

/** The static-website endpoint (`[s3_web]`): @ref garage::web::web_server and its rules.
    Bazel target `//garage/web`. */
namespace garage::web {

/** A value, or the error the endpoint answers (its status and message; the code names it in
    the HTML error page). */
template <class T>
using web_result = boost::system::result<T, api::s3::s3_error>;

/** The bucket a `Host` header names: the port is dropped and letters lower-cased; a host
    under `root_domain` (`site.example.com.web.garage` with root `.web.garage`) names the
    labels before it, any other host names itself.
    @param host        The `Host` header.
    @param root_domain `[s3_web] root_domain`, with or without its leading dot.
    @return The bucket name; 400 `InvalidRequest` for an empty or malformed host. */
web_result<std::string> host_to_bucket(std::string_view host, std::string_view root_domain);

/** The key a request path asks for. */
struct path_key {
    std::string request_key; ///< the decoded path without its leading `/` (what routing rules match)
    std::string key;         ///< the object key: `request_key`, plus the index document after a `/`
};

/** Maps a request path to its object key: `/` → `<index>`, `/dir/` → `dir/<index>`,
    `/name` → `name` (GARAGE-REFERENCE §2).

    The path is strictly percent-decoded. It must start with `/`; an invalid `%` escape, an
    encoded slash or backslash (`%2F`, `%5C`), a NUL byte, or a `.` or `..` segment (raw or
    encoded) is refused: keys are flat names, and a path that tries to climb out of its
    directory is a mistake or an attack, answered `400` rather than mapped to a surprising key.
    @param raw_path The request target's path, without the query, still percent-encoded.
    @param index    The index document suffix (`index.html`).
    @return The keys; 400 `InvalidRequest` naming what is wrong. */
web_result<path_key> path_to_key(std::string_view raw_path, std::string_view index);

/** A redirect answer: status and `Location`. */
struct redirect {
    unsigned status = 301; ///< a 3xx status
    std::string location;  ///< the `Location` header

    /// Equal when both members are.
    friend bool operator==(redirect const&, redirect const&) = default;
};

/** Where the request comes from, for building absolute redirect URLs. */
struct request_origin {
    std::string_view host;            ///< the `Host` header, as sent (port included)
    std::string_view scheme = "http"; ///< `http`, or `https` behind a TLS proxy (`X-Forwarded-Proto`)
};

/** `RedirectAllRequestsTo`: every request goes to the same path (and query) on another host.
    @param cfg        The bucket's website configuration.
    @param raw_target The request target (path and query, as sent).
    @param from       The request's scheme (used when the rule names no protocol).
    @return The 301 redirect, or nullopt if the configuration has no `RedirectAllRequestsTo`. */
std::optional<redirect> redirect_all(model::website_config const& cfg, std::string_view raw_target,
                                     request_origin const& from);

/** The first routing rule that applies to a request, and its redirect (S3 semantics).

    A rule applies when its `KeyPrefixEquals` (if any) is a prefix of `request_key` and its
    `HttpErrorCodeReturnedEquals` (if any) equals `error_status`. Rules with an error-code
    condition apply only once the response is known to be that error (`error_status` set);
    rules without one only before the object is looked up (`error_status` empty).

    The new key is `ReplaceKeyWith`, or `ReplaceKeyPrefixWith` in place of the matched prefix,
    or the request key unchanged. The `Location` is path-absolute (`/new/key`) when the rule
    names neither `HostName` nor `Protocol`; otherwise an absolute URL whose missing parts come
    from the request. The status is `HttpRedirectCode`, 301 by default. The endpoint answers
    one redirect per request and never follows one itself, so rules that redirect in a circle
    cost each client request one answer, never a server-side loop.
    @param cfg          The website configuration.
    @param request_key  The decoded request path without its leading `/`.
    @param error_status The error the request would get, or nullopt before the lookup.
    @param from         The request's host and scheme.
    @return The redirect, or nullopt when no rule applies. */
std::optional<redirect> match_routing_rules(model::website_config const& cfg, std::string_view request_key,
                                            std::optional<unsigned> error_status, request_origin const& from);

/** The plain HTML error page: `<title>404 Not Found</title>\n<h1>404 Not Found</h1>` and a
    list with the error's code and message (escaped).
    @param err The error.
    @return The page (`text/html; charset=utf-8`). */
std::string error_page(api::s3::s3_error const& err);

} // namespace garage::web
