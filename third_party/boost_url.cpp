// Boost.URL compiled once (Debian ships it header-only).
#include <boost/url/src.hpp>
