// lab_switch: the NAT lab's impaired internet (tests/e2e/natlab.sh, lab_impair). This kernel has
// no tc netem, so delay, jitter, loss and reordering are made here, in user space: the switch
// takes the lab's bridge ports (the inet namespace's ends of every host's veth), reads each
// Ethernet frame a host sends with a packet socket, decides its fate, and writes it out of the
// port that leads to its destination (learned from source MAC addresses; broadcast and unknown
// destinations go out of every other port).
//
// What a frame goes through, in this order:
//   loss     dropped with probability LOSS, each frame on its own (Bernoulli), as netem's
//            "loss P" does; ARP and everything else alike.
//   delay    held for a time drawn uniformly from [DELAY - JITTER, DELAY + JITTER] ms, as
//            netem's "delay D J" without a distribution table.
//   order    without --reorder, frames that entered through one port leave in the order they
//            came (a frame is never released before the one before it): jitter without
//            reordering. With --reorder, each frame's release time is its own, so a frame
//            drawn a shorter delay overtakes the ones before it.
// Every host's port is given the same impairment (or its own with --port NAME:...), applied
// where a frame enters the switch: one-way delay between two hosts is the sender's DELAY, as
// with netem on every host's egress. A round trip is two of them.
//
// Frames are kept as the kernel hands them over, with their virtio-net header (PACKET_VNET_HDR),
// so checksum offload survives the trip; natlab.sh limits each host's GSO to one segment, so
// every frame is one packet on the wire and loss counts packets. The queue is bounded
// (--queue-mb); frames beyond it are dropped and counted.
//
// Usage: lab_switch [--delay-ms D] [--jitter-ms J] [--loss P] [--reorder] [--seed S]
//                   [--queue-mb M] --port NAME[:delay=D,jitter=J,loss=P]...
// Runs until SIGTERM or SIGINT; SIGUSR1 prints the counters, as exit does (one line on stderr).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_report = 0;

using Nanos = std::int64_t;

Nanos now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<Nanos>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Impairment {
    double delay_ms = 0;
    double jitter_ms = 0;
    double loss = 0;
};

struct Port {
    std::string name;
    int fd = -1;
    int ifindex = 0;
    Impairment impairment;
    Nanos last_release = 0;  // of the frames that came in here (for FIFO order)
};

struct Frame {
    Nanos release = 0;
    std::uint64_t seq = 0;
    std::size_t from = 0;
    std::shared_ptr<const std::vector<std::uint8_t>> bytes;
    friend bool operator>(const Frame& a, const Frame& b) {
        return a.release != b.release ? a.release > b.release : a.seq > b.seq;
    }
};

struct Counters {
    std::uint64_t frames = 0;       // read from the ports
    std::uint64_t lost = 0;         // dropped by the loss draw
    std::uint64_t overflow = 0;     // dropped because the queue was full
    std::uint64_t sent = 0;         // frames written out of a port (a flood counts each port)
    std::uint64_t send_errors = 0;  // a port down (lab_partition), a full device queue
    double delay_sum_ms = 0;        // of the frames not dropped
    std::size_t queued_peak_bytes = 0;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "lab_switch: %s\nusage: lab_switch [--delay-ms D] [--jitter-ms J] [--loss P] "
                 "[--reorder] [--seed S] [--queue-mb M] --port NAME[:delay=D,jitter=J,loss=P]...\n",
                 why.c_str());
    std::exit(2);
}

double parse_number(std::string_view what, std::string_view text, double lo, double hi) {
    double value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || !(value >= lo && value <= hi)) {
        usage(std::string(what) + " must be a number in [" + std::to_string(lo) + ", " +
              std::to_string(hi) + "], not \"" + std::string(text) + "\"");
    }
    return value;
}

// "p3:delay=50,loss=0.1" -> the port's name and its own impairment over the defaults.
Port parse_port(std::string_view text, const Impairment& defaults) {
    Port port;
    port.impairment = defaults;
    auto colon = text.find(':');
    port.name = std::string(text.substr(0, colon));
    if (port.name.empty() || port.name.size() >= IFNAMSIZ)
        usage("bad port name in --port " + std::string(text));
    if (colon == std::string_view::npos) return port;
    std::string_view rest = text.substr(colon + 1);
    while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        auto eq = item.find('=');
        if (eq == std::string_view::npos)
            usage("--port settings are KEY=VALUE, not " + std::string(item));
        std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
        if (key == "delay") {
            port.impairment.delay_ms = parse_number("delay", value, 0, 60'000);
        } else if (key == "jitter") {
            port.impairment.jitter_ms = parse_number("jitter", value, 0, 60'000);
        } else if (key == "loss") {
            port.impairment.loss = parse_number("loss", value, 0, 1);
        } else {
            usage("unknown --port setting " + std::string(key) + " (delay, jitter, loss)");
        }
    }
    return port;
}

int open_port(Port& port) {
    port.ifindex = static_cast<int>(if_nametoindex(port.name.c_str()));
    if (port.ifindex == 0) {
        std::fprintf(stderr, "lab_switch: no interface %s here\n", port.name.c_str());
        return -1;
    }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) {
        std::perror("lab_switch: packet socket (needs root)");
        return -1;
    }
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
        std::perror("lab_switch: setsockopt");
        close(fd);
        return -1;
    }
    int buffer = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = port.ifindex;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("lab_switch: bind");
        close(fd);
        return -1;
    }
    packet_mreq promisc{};
    promisc.mr_ifindex = port.ifindex;
    promisc.mr_type = PACKET_MR_PROMISC;
    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promisc, sizeof promisc);
    port.fd = fd;
    return 0;
}

using Mac = std::array<std::uint8_t, 6>;

class Switch {
  public:
    Switch(std::vector<Port> ports, bool reorder, std::uint64_t seed, std::size_t queue_cap)
        : m_ports(std::move(ports)), m_reorder(reorder), m_rng(seed), m_queue_cap(queue_cap) {}

    int run() {
        std::vector<pollfd> fds;
        for (const auto& p : m_ports) fds.push_back({p.fd, POLLIN, 0});
        sigset_t unblocked;
        sigemptyset(&unblocked);
        while (!g_stop) {
            if (g_report) {
                g_report = 0;
                report();
            }
            Nanos now = now_ns();
            release_due(now);
            timespec timeout{1, 0};
            if (!m_queue.empty()) {
                Nanos wait = std::max<Nanos>(0, m_queue.top().release - now);
                timeout = {static_cast<time_t>(wait / 1'000'000'000),
                           static_cast<long>(wait % 1'000'000'000)};
            }
            int ready = ppoll(fds.data(), fds.size(), &timeout, &unblocked);
            if (ready < 0) {
                if (errno == EINTR) continue;
                std::perror("lab_switch: ppoll");
                return 1;
            }
            for (std::size_t i = 0; i < fds.size(); ++i) {
                // POLLERR too: a port taken down (lab_partition) leaves an error on its socket
                // that only a read clears; the socket itself carries on once the port is up.
                if (fds[i].revents & (POLLIN | POLLERR)) take_in(i);
            }
        }
        report();
        return 0;
    }

  private:
    // struct virtio_net_hdr: flags, gso_type (one byte each), hdr_len, gso_size, csum_start,
    // csum_offset (two each). Its header, linux/virtio_net.h, does not compile as C++.
    static constexpr std::size_t kVnet = 10;
    static constexpr std::size_t kMaxFrame = kVnet + 65'536 + 64;
    static constexpr int kReadsPerWake = 256;  // so one busy port cannot starve the others

    void take_in(std::size_t from) {
        for (int n = 0; n < kReadsPerWake; ++n) {
            sockaddr_ll source{};
            socklen_t source_len = sizeof source;
            ssize_t got = recvfrom(m_ports[from].fd, m_buffer.data(), m_buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&source), &source_len);
            if (got < 0) return;  // EAGAIN: drained
            if (source.sll_pkttype == PACKET_OUTGOING) continue;
            if (static_cast<std::size_t>(got) < kVnet + 14) continue;  // no Ethernet header
            auto bytes = std::make_shared<const std::vector<std::uint8_t>>(m_buffer.begin(),
                                                                           m_buffer.begin() + got);
            ++m_counters.frames;
            Mac src;
            std::memcpy(src.data(), bytes->data() + kVnet + 6, 6);
            if (!(src[0] & 1)) m_where[src] = from;
            const Impairment& imp = m_ports[from].impairment;
            if (imp.loss > 0 && std::uniform_real_distribution<double>(0, 1)(m_rng) < imp.loss) {
                ++m_counters.lost;
                continue;
            }
            if (m_queued_bytes + bytes->size() > m_queue_cap) {
                ++m_counters.overflow;
                continue;
            }
            double delay_ms = imp.delay_ms;
            if (imp.jitter_ms > 0) {
                double lo = std::max(0.0, imp.delay_ms - imp.jitter_ms);
                delay_ms =
                    std::uniform_real_distribution<double>(lo, imp.delay_ms + imp.jitter_ms)(m_rng);
            }
            Nanos arrived = now_ns();
            Nanos release = arrived + static_cast<Nanos>(delay_ms * 1e6);
            if (!m_reorder) {
                release = std::max(release, m_ports[from].last_release);
                m_ports[from].last_release = release;
            }
            m_counters.delay_sum_ms += static_cast<double>(release - arrived) / 1e6;
            m_queued_bytes += bytes->size();
            m_counters.queued_peak_bytes = std::max(m_counters.queued_peak_bytes, m_queued_bytes);
            m_queue.push(Frame{release, m_seq++, from, std::move(bytes)});
        }
    }

    void release_due(Nanos now) {
        while (!m_queue.empty() && m_queue.top().release <= now) {
            Frame frame = m_queue.top();
            m_queue.pop();
            m_queued_bytes -= frame.bytes->size();
            Mac dst;
            std::memcpy(dst.data(), frame.bytes->data() + kVnet, 6);
            auto known = (dst[0] & 1) ? m_where.end() : m_where.find(dst);
            if (known != m_where.end()) {
                if (known->second != frame.from) send_to(known->second, *frame.bytes);
                continue;
            }
            for (std::size_t to = 0; to < m_ports.size(); ++to) {
                if (to != frame.from) send_to(to, *frame.bytes);
            }
        }
    }

    void send_to(std::size_t to, const std::vector<std::uint8_t>& bytes) {
        if (send(m_ports[to].fd, bytes.data(), bytes.size(), MSG_DONTWAIT) < 0) {
            ++m_counters.send_errors;
        } else {
            ++m_counters.sent;
        }
    }

    void report() const {
        const auto& c = m_counters;
        std::uint64_t kept = c.frames - c.lost - c.overflow;
        std::fprintf(
            stderr,
            "lab_switch: frames %llu lost %llu (%.2f%%) overflow %llu sent %llu send_errors %llu "
            "mean_delay_ms %.1f queued_peak_kib %zu\n",
            static_cast<unsigned long long>(c.frames), static_cast<unsigned long long>(c.lost),
            c.frames ? 100.0 * static_cast<double>(c.lost) / static_cast<double>(c.frames) : 0.0,
            static_cast<unsigned long long>(c.overflow), static_cast<unsigned long long>(c.sent),
            static_cast<unsigned long long>(c.send_errors),
            kept ? c.delay_sum_ms / static_cast<double>(kept) : 0.0, c.queued_peak_bytes / 1024);
        std::fflush(stderr);
    }

    std::vector<Port> m_ports;
    std::vector<std::uint8_t> m_buffer = std::vector<std::uint8_t>(kMaxFrame);
    bool m_reorder;
    std::mt19937_64 m_rng;
    std::size_t m_queue_cap;
    std::size_t m_queued_bytes = 0;
    std::uint64_t m_seq = 0;
    std::priority_queue<Frame, std::vector<Frame>, std::greater<>> m_queue;
    std::map<Mac, std::size_t> m_where;
    Counters m_counters;
};

}  // namespace

int main(int argc, char** argv) {
    Impairment defaults;
    bool reorder = false;
    std::uint64_t seed = 1;
    double queue_mb = 64;
    std::vector<std::string> port_args;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "--delay-ms") {
            defaults.delay_ms = parse_number(arg, value(), 0, 60'000);
        } else if (arg == "--jitter-ms") {
            defaults.jitter_ms = parse_number(arg, value(), 0, 60'000);
        } else if (arg == "--loss") {
            defaults.loss = parse_number(arg, value(), 0, 1);
        } else if (arg == "--reorder") {
            reorder = true;
        } else if (arg == "--seed") {
            seed = static_cast<std::uint64_t>(parse_number(arg, value(), 0, 1e15));
        } else if (arg == "--queue-mb") {
            queue_mb = parse_number(arg, value(), 1, 4096);
        } else if (arg == "--port") {
            port_args.emplace_back(value());
        } else {
            usage("unknown argument " + std::string(arg));
        }
    }
    if (port_args.size() < 2) usage("needs at least two --port");
    std::vector<Port> ports;
    for (const auto& text : port_args) {
        ports.push_back(parse_port(text, defaults));
        if (open_port(ports.back()) != 0) return 1;
    }
    struct sigaction stop {};
    stop.sa_handler = [](int) { g_stop = 1; };
    sigaction(SIGTERM, &stop, nullptr);
    sigaction(SIGINT, &stop, nullptr);
    struct sigaction report {};
    report.sa_handler = [](int) { g_report = 1; };
    sigaction(SIGUSR1, &report, nullptr);
    // Signals stay blocked except inside ppoll, so a stop between two checks cannot be missed.
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGUSR1);
    sigprocmask(SIG_BLOCK, &blocked, nullptr);
    std::fprintf(stderr, "lab_switch: %zu ports, delay %.0f±%.0f ms, loss %.3f, %s\n", ports.size(),
                 defaults.delay_ms, defaults.jitter_ms, defaults.loss,
                 reorder ? "reordering" : "in order");
    Switch sw(std::move(ports), reorder, seed, static_cast<std::size_t>(queue_mb * 1024 * 1024));
    return sw.run();
}
