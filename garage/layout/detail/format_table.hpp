#pragma once
/** @file
    Aligns tab-separated rows into columns (the report tables).
*/

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace garage::layout::detail {

/** Pads the tab-separated cells of `rows` so that columns line up, two spaces apart.
    @param rows Rows whose cells are separated by `'\t'`.
    @return One aligned line per row (trailing spaces trimmed). */
inline std::vector<std::string> format_table(std::vector<std::string> const& rows)
{
    std::vector<std::vector<std::string>> cells;
    std::vector<std::size_t> width;
    for (auto const& row : rows) {
        std::vector<std::string> c;
        std::size_t start = 0;
        while (true) {
            auto const tab = row.find('\t', start);
            c.emplace_back(row.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
            if (tab == std::string::npos) {
                break;
            }
            start = tab + 1;
        }
        if (c.size() > width.size()) {
            width.resize(c.size(), 0);
        }
        for (std::size_t i = 0; i < c.size(); ++i) {
            width[i] = std::max(width[i], c[i].size());
        }
        cells.push_back(std::move(c));
    }
    std::vector<std::string> out;
    for (auto const& c : cells) {
        std::string line;
        for (std::size_t i = 0; i < c.size(); ++i) {
            line += c[i];
            if (i + 1 < c.size()) {
                line.append(width[i] - c[i].size() + 2, ' ');
            }
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out.push_back(std::move(line));
    }
    return out;
}

} // namespace garage::layout::detail
