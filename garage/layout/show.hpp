#pragma once
/** @file
    The text of `garage layout show` and `garage layout history`: tables of roles, staged
    changes, versions and trackers, one line per element, columns aligned.
*/

#include <garage/layout/history.hpp>
#include <garage/layout/version.hpp>

#include <string>

namespace garage::layout {

/** The roles of a version with their usable capacity, then the zone redundancy.
    @param v         A version.
    @param empty_msg What to say when no node has a role.
    @return The lines; node ids are their first 16 hexadecimal digits, as Garage prints them. */
report format_layout(layout_version const& v, std::string const& empty_msg);

/** The staged role changes (`REMOVED` for a removal) and the staged zone redundancy.
    @param h A history.
    @return The lines, starting with `==== STAGED ROLE CHANGES ====`; empty when nothing is staged. */
report format_staged_changes(layout_history const& h);

/** The versions (current, draining, historical) with their node counts, then the trackers of
    every node when several versions are live, as `garage layout history` prints them.
    @param h A history.
    @return The lines. */
report format_history(layout_history const& h);

} // namespace garage::layout
