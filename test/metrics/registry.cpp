// Test that header file is self-contained.
#include <garage/metrics/registry.hpp>

#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace garage::metrics;

std::vector<std::string> lines_of(std::string const& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        out.push_back(l);
    }
    return out;
}

/// Checks every line against the text format's grammar (comments, and samples whose label values
/// are properly quoted and escaped); returns the first bad line, or an empty string.
std::string first_invalid_line(std::string const& text)
{
    static std::regex const help(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
    static std::regex const type(R"(^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram)$)");
    static std::regex const sample(
        R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?|\+Inf|-Inf|NaN)$)");
    if (!text.empty() && text.back() != '\n') {
        return "(no final newline)";
    }
    for (auto const& l : lines_of(text)) {
        if (!std::regex_match(l, help) && !std::regex_match(l, type) && !std::regex_match(l, sample)) {
            return l;
        }
    }
    return {};
}

TEST_CASE("a counter family renders HELP, TYPE and one line per label set", "[metrics][registry]")
{
    registry reg;
    auto& f = reg.counter_family("api_s3_request_counter", "Number of API calls", {"api_endpoint"});
    f.with({"PutObject"}).inc();
    f.with({"PutObject"}).inc(2);
    f.with({"GetObject"}).inc();
    auto const text = reg.render();
    CHECK(text == "# HELP api_s3_request_counter Number of API calls\n"
                  "# TYPE api_s3_request_counter counter\n"
                  "api_s3_request_counter{api_endpoint=\"GetObject\"} 1\n"
                  "api_s3_request_counter{api_endpoint=\"PutObject\"} 3\n");
    CHECK(first_invalid_line(text).empty());
}

TEST_CASE("with() returns the same metric for the same label values", "[metrics][registry]")
{
    registry reg;
    auto& f = reg.counter_family("c", "h", {"a", "b"});
    auto& x = f.with({"1", "2"});
    auto& y = f.with({"1", "2"});
    auto& z = f.with({"2", "1"});
    CHECK(&x == &y);
    CHECK(&x != &z);
    std::vector<std::string> const values{"1", "2"};
    CHECK(&f.with(std::span<std::string const>(values)) == &x);
}

TEST_CASE("a wrong number of label values is a programming error", "[metrics][registry]")
{
    registry reg;
    auto& f = reg.counter_family("c", "h", {"a"});
    CHECK_THROWS_AS(f.with({}), std::invalid_argument);
    CHECK_THROWS_AS(f.with({"x", "y"}), std::invalid_argument);
}

TEST_CASE("invalid names and conflicting registrations are refused", "[metrics][registry]")
{
    registry reg;
    CHECK_THROWS_AS(reg.counter_family("9lives", "h"), std::invalid_argument);
    CHECK_THROWS_AS(reg.counter_family("a-b", "h"), std::invalid_argument);
    CHECK_THROWS_AS(reg.counter_family("ok", "h", {"__reserved"}), std::invalid_argument);
    CHECK_THROWS_AS(reg.counter_family("ok", "h", {"x", "x"}), std::invalid_argument);
    CHECK_THROWS_AS(reg.histogram_family("hist", "h", {"le"}), std::invalid_argument);
    auto& c = reg.counter_family("dup", "h", {"x"});
    CHECK(&reg.counter_family("dup", "other help", {"x"}) == &c);
    CHECK_THROWS_AS(reg.gauge_family("dup", "h", {"x"}), std::invalid_argument);
    CHECK_THROWS_AS(reg.counter_family("dup", "h", {"y"}), std::invalid_argument);
    CHECK(valid_metric_name("garage_build_info"));
    CHECK(valid_metric_name("a:b_c1"));
    CHECK_FALSE(valid_metric_name(""));
    CHECK(valid_label_name("table_name"));
    CHECK_FALSE(valid_label_name("1x"));
}

TEST_CASE("label values and help texts are escaped", "[metrics][registry]")
{
    registry reg;
    auto& f = reg.gauge_family("g", "a \\ help\nwith two lines", {"v"});
    f.with({"quote\" backslash\\ newline\n end"}).set(1);
    auto const text = reg.render();
    CHECK(text == "# HELP g a \\\\ help\\nwith two lines\n"
                  "# TYPE g gauge\n"
                  "g{v=\"quote\\\" backslash\\\\ newline\\n end\"} 1\n");
    CHECK(first_invalid_line(text).empty());
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_label_value("\"") == "\\\"");
}

TEST_CASE("values are integers when integral, and Inf and NaN are spelled out", "[metrics][registry]")
{
    CHECK(format_value(0) == "0");
    CHECK(format_value(42) == "42");
    CHECK(format_value(-3) == "-3");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(1e300) == "1e+300");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("a gauge is set and adjusted", "[metrics][registry]")
{
    registry reg;
    auto& g = reg.gauge_family("block_resync_queue_length", "h").with({});
    g.set(5);
    g.add(2.5);
    g.add(-1);
    CHECK(g.value() == 6.5);
    CHECK(reg.render() == "# HELP block_resync_queue_length h\n"
                          "# TYPE block_resync_queue_length gauge\n"
                          "block_resync_queue_length 6.5\n");
}

TEST_CASE("a computed gauge is read at each scrape and left out when it cannot be", "[metrics][registry]")
{
    registry reg;
    int calls = 0;
    std::optional<double> next = 7;
    auto& f = reg.computed_gauge_family("table_size", "h", {"table_name"});
    f.with({"object"}, [&] {
        ++calls;
        return next;
    });
    auto snap = reg.collect("table_size");
    REQUIRE(snap);
    CHECK(snap->value({"object"}) == 7);
    CHECK(calls == 1);
    next = std::nullopt;
    CHECK(reg.render() == "# HELP table_size h\n# TYPE table_size gauge\n");
    CHECK(calls == 2);
    // a second registration of the same labels keeps the first function
    f.with({"object"}, [] { return std::optional<double>(99); });
    next = 3;
    CHECK(reg.collect("table_size")->value({"object"}) == 3);
}

TEST_CASE("a histogram counts observations in cumulative buckets with sum and count", "[metrics][registry]")
{
    registry reg;
    auto& h = reg.histogram_family("block_read_duration", "h", {"x"}, {1.0, 0.1, 0.5}).with({"a"});
    h.observe(0.05);                           // <= 0.1
    h.observe(0.1);                            // exactly on a bound: <= 0.1
    h.observe(0.3);                            // <= 0.5
    h.observe(std::chrono::milliseconds(800)); // 0.8 <= 1
    h.observe(7.0);                            // +Inf
    auto const s = h.read();
    CHECK(s.bounds == std::vector<double>{0.1, 0.5, 1.0});
    CHECK(s.cumulative == std::vector<std::uint64_t>{2, 3, 4, 5});
    CHECK(s.count == 5);
    CHECK(s.sum == Approx(0.05 + 0.1 + 0.3 + 0.8 + 7.0));
    auto const text = reg.render();
    CHECK(text.find("block_read_duration_bucket{x=\"a\",le=\"0.1\"} 2\n") != std::string::npos);
    CHECK(text.find("block_read_duration_bucket{x=\"a\",le=\"0.5\"} 3\n") != std::string::npos);
    CHECK(text.find("block_read_duration_bucket{x=\"a\",le=\"1\"} 4\n") != std::string::npos);
    CHECK(text.find("block_read_duration_bucket{x=\"a\",le=\"+Inf\"} 5\n") != std::string::npos);
    CHECK(text.find("block_read_duration_count{x=\"a\"} 5\n") != std::string::npos);
    CHECK(text.find("block_read_duration_sum{x=\"a\"} 8.25\n") != std::string::npos);
    CHECK(first_invalid_line(text).empty());
}

TEST_CASE("NaN observations count in +Inf only; infinite bounds are refused", "[metrics][registry]")
{
    histogram h({1.0});
    h.observe(std::numeric_limits<double>::quiet_NaN());
    auto const s = h.read();
    CHECK(s.cumulative == std::vector<std::uint64_t>{0, 1});
    CHECK(s.sum == 0);
    CHECK_THROWS_AS(histogram({std::numeric_limits<double>::infinity()}), std::invalid_argument);
}

TEST_CASE("default buckets are Prometheus' and render as valid text", "[metrics][registry]")
{
    registry reg;
    auto& h = reg.histogram_family("api_s3_request_duration", "h", {"api_endpoint"}).with({"GetObject"});
    h.observe(0.003);
    auto const text = reg.render();
    CHECK(default_buckets().size() == 11);
    CHECK(text.find("le=\"0.005\"} 1\n") != std::string::npos);
    CHECK(text.find("le=\"0.025\"} 1\n") != std::string::npos);
    CHECK(first_invalid_line(text).empty());
}

TEST_CASE("families render in registration order and the validator catches bad lines", "[metrics][registry]")
{
    registry reg;
    reg.gauge_family("zzz", "first").with({}).set(1);
    reg.gauge_family("aaa", "second").with({}).set(2);
    auto const text = reg.render();
    CHECK(text.find("zzz 1") < text.find("aaa 2"));
    // the grammar check itself rejects what is invalid
    CHECK_FALSE(first_invalid_line("x{a=\"unterminated} 1\n").empty());
    CHECK_FALSE(first_invalid_line("x 1.2.3\n").empty());
    CHECK_FALSE(first_invalid_line("x{a=\"b\"} 1").empty());
}

TEST_CASE("counters are exact under concurrent increments", "[metrics][registry]")
{
    registry reg;
    auto& f = reg.counter_family("c", "h", {"t"});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&f] {
            for (int i = 0; i < 10000; ++i) {
                f.with({"same"}).inc();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(f.with({"same"}).value() == 40000);
}

} // namespace
