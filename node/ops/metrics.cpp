#include "node/ops/metrics.hpp"

#include <algorithm>
#include <vector>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace swarmd::node {
namespace {

bool valid_name(const std::string& name) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                        (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

std::string format_double(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    std::ostringstream out;
    out.precision(17);
    out << v;
    return out.str();
}

}  // namespace

Metrics::Entry& Metrics::entry(const std::string& name, const std::string& help,
                               const std::string& labels, bool is_counter) {
    if (!valid_name(name)) throw std::invalid_argument("bad metric name: " + name);
    for (auto& e : m_entries) {
        if (e.name == name && e.labels == labels) {
            if (e.is_counter != is_counter)
                throw std::invalid_argument("metric type clash: " + name);
            return e;
        }
    }
    auto& e = m_entries.emplace_back();
    e.name = name;
    e.help = help;
    e.labels = labels;
    e.is_counter = is_counter;
    return e;
}

Counter& Metrics::counter(const std::string& name, const std::string& help,
                          const std::string& labels) {
    return entry(name, help, labels, true).counter;
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help, const std::string& labels) {
    return entry(name, help, labels, false).gauge;
}

std::string Metrics::render_prometheus() const {
    // One group per metric family, in order of first registration: labelled samples registered
    // later (a new refusal reason) still join their family, as the text format requires.
    std::ostringstream out;
    std::vector<const std::string*> done;
    for (const auto& first : m_entries) {
        if (std::any_of(done.begin(), done.end(),
                        [&](const std::string* n) { return *n == first.name; }))
            continue;
        done.push_back(&first.name);
        out << "# HELP " << first.name << ' ' << first.help << '\n';
        out << "# TYPE " << first.name << ' ' << (first.is_counter ? "counter" : "gauge") << '\n';
        for (const auto& e : m_entries) {
            if (e.name != first.name) continue;
            out << e.name;
            if (!e.labels.empty()) out << '{' << e.labels << '}';
            out << ' '
                << (e.is_counter ? std::to_string(e.counter.value())
                                 : format_double(e.gauge.value()))
                << '\n';
        }
    }
    return out.str();
}

}  // namespace swarmd::node
