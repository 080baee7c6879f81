#pragma once
// Counters and gauges the daemon exports on /metrics in the Prometheus text format (0.0.4).
// Values are atomics so the compute thread may update them; registration happens at start-up.
#include <atomic>
#include <cstdint>
#include <deque>
#include <string>

namespace swarmd::node {

class Counter {
  public:
    void add(std::uint64_t n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
    // For a monotonic count kept elsewhere (the host's stats), copied at scrape time.
    void set(std::uint64_t v) noexcept { m_value.store(v, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> m_value{0};
};

class Gauge {
  public:
    void set(double v) noexcept { m_value.store(v, std::memory_order_relaxed); }
    double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> m_value{0.0};
};

class Metrics {
  public:
    // `labels` is a Prometheus label set without braces, e.g. `topic="zo"`; may be empty.
    // Registering the same name and labels twice returns the same metric.
    Counter& counter(const std::string& name, const std::string& help,
                     const std::string& labels = "");
    Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");

    std::string render_prometheus() const;

  private:
    struct Entry {
        std::string name, help, labels;
        bool is_counter;
        Counter counter;
        Gauge gauge;
    };
    Entry& entry(const std::string& name, const std::string& help, const std::string& labels,
                 bool is_counter);
    std::deque<Entry> m_entries;  // stable addresses
};

}  // namespace swarmd::node
