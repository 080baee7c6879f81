// Runs the real swarmd binary: exit codes, stdout, stderr and files it writes.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "crypto/peer_id.hpp"
#include "node/spec/spec.hpp"

using swarmd::node::load_spec_file;
using swarmd::node::SwarmId;

namespace fs = std::filesystem;

namespace {

const char* const kSwarmd = SWARMD_BINARY_DIR "/node/swarmd";
constexpr const char* kSomePeer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class Sandbox {
  public:
    Sandbox() {
        m_dir = fs::temp_directory_path() /
                ("swarmd-cli-test-" + std::to_string(::getpid()) + "-" + std::to_string(++s_count));
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    ~Sandbox() {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    const fs::path& dir() const { return m_dir; }
    fs::path path(const std::string& name) const { return m_dir / name; }
    fs::path write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
        fs::path p = m_dir / name;
        std::ofstream(p, std::ios::binary) << text;
        ::chmod(p.c_str(), mode);
        return p;
    }

    // Runs swarmd with a clean environment (HOME inside the sandbox, no SWARMD_ variables
    // inherited from the test runner) plus `env`.
    Run run(std::vector<std::string> args, std::vector<std::string> env = {}) const {
        fs::path out = m_dir / ".stdout", err = m_dir / ".stderr";
        Run r;
        r.code = wait(start(std::move(args), out, err, std::move(env)));
        r.out = slurp(out);
        r.err = slurp(err);
        return r;
    }

    // Starts swarmd in the background, stdout and stderr to the given files.
    pid_t start(std::vector<std::string> args, const fs::path& out, const fs::path& err,
                std::vector<std::string> env = {}) const {
        // The built-in bootstrap list names public peers: a test reaches no address outside
        // loopback. A test of the list itself passes SWARMD_NO_DEFAULT_BOOTSTRAP=0.
        std::vector<std::string> full_env = {"HOME=" + m_dir.string(), "PATH=/usr/bin:/bin",
                                             "SWARMD_NO_DEFAULT_BOOTSTRAP=1"};
        full_env.insert(full_env.end(), env.begin(), env.end());
        args.insert(args.begin(), kSwarmd);
        pid_t pid = ::fork();
        if (pid == 0) {
            int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(o, 1);
            ::dup2(e, 2);
            ::chdir(m_dir.c_str());
            std::vector<char*> argv, envp;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            for (auto& v : full_env) envp.push_back(v.data());
            envp.push_back(nullptr);
            ::execve(kSwarmd, argv.data(), envp.data());
            ::_exit(127);
        }
        return pid;
    }

    // The exit code of a started process (128 + signal when killed).
    static int wait(pid_t pid) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

  private:
    static inline int s_count = 0;
    fs::path m_dir;
};

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

// A failure is exactly one line on stderr starting "swarmd: " and a non-zero exit, not a crash.
void check_one_line_error(const Run& r, const std::string& expect) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.rfind("swarmd: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(expect) != std::string::npos);
}

}  // namespace

TEST_CASE("keygen writes a 0600 key file and refuses to overwrite it", "[cli]") {
    Sandbox box;
    fs::path key = box.path("node.key");
    Run r = box.run({"keygen", "--out", key.string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(mode_of(key) == 0600);
    CHECK(r.out.rfind("12D3KooW", 0) == 0);
    std::string first = slurp(key);

    // `id` prints the same peer id keygen printed.
    Run id = box.run({"id", "--key", key.string()});
    CHECK(id.code == 0);
    CHECK(id.out == r.out);

    Run again = box.run({"keygen", "--out", key.string()});
    check_one_line_error(again, "key file exists (use --force to overwrite)");
    CHECK(slurp(key) == first);

    Run forced = box.run({"keygen", "--out", key.string(), "--force"});
    CHECK(forced.code == 0);
    CHECK(slurp(key) != first);
    CHECK(mode_of(key) == 0600);
    CHECK(box.run({"id", "--key", key.string()}).out == forced.out);
}

TEST_CASE("keygen and id default to the node's key file in the data directory", "[cli]") {
    Sandbox box;
    Run r = box.run({"keygen"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    fs::path key = box.path(".local/share/swarmd/identity.key");
    CHECK(fs::exists(key));
    CHECK(mode_of(key) == 0600);
    CHECK(mode_of(key.parent_path()) == 0700);
    CHECK(box.run({"id"}).out == r.out);

    // --data-dir (flag, before or after the subcommand) and SWARMD_KEY_FILE move it.
    Run d = box.run({"--data-dir", box.path("d1").string(), "keygen"});
    REQUIRE(d.code == 0);
    CHECK(fs::exists(box.path("d1/identity.key")));
    Run e = box.run({"keygen"}, {"SWARMD_KEY_FILE=" + box.path("env.key").string()});
    REQUIRE(e.code == 0);
    CHECK(fs::exists(box.path("env.key")));
    // The flag beats the environment.
    CHECK(box.run({"id", "--key-file", box.path("d1/identity.key").string()},
                  {"SWARMD_KEY_FILE=" + box.path("env.key").string()})
              .out == d.out);
}

TEST_CASE("id prints the peer id of a known key", "[cli]") {
    Sandbox box;
    // RFC 8032 test 1: seed 9d61b1..7f60, public key d75a98..511a, as a libp2p PrivateKey
    // protobuf (08 01 12 40, seed || public key). The expected peer id was computed apart from
    // swarmd: base58btc(00 24 08 01 12 20 || public key).
    std::string pb = "\x08\x01\x12\x40";
    for (const char* hex : {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}) {
        for (int i = 0; i < 64; i += 2)
            pb += static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16));
    }
    fs::path key = box.write("rfc8032.key", pb, 0600);
    Run r = box.run({"id", "--key", key.string()});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out == "12D3KooWQK1wnefoLrcVHbbnf5tLzbopUd3K3bFAoJpA7YJgL5pV\n");
}

TEST_CASE("malformed, truncated and world-readable key files give one-line errors", "[cli]") {
    Sandbox box;
    fs::path good = box.path("good.key");
    REQUIRE(box.run({"keygen", "--out", good.string()}).code == 0);
    std::string bytes = slurp(good);
    REQUIRE(bytes.size() == 68);

    for (std::size_t len : {0, 35, 67}) {
        fs::path p = box.write("cut" + std::to_string(len) + ".key", bytes.substr(0, len), 0600);
        INFO("truncated to " << len);
        check_one_line_error(box.run({"id", "--key", p.string()}), p.string());
    }
    std::string flipped = bytes;
    flipped[1] = 0x02;  // key type: RSA
    fs::path p = box.write("rsa.key", flipped, 0600);
    check_one_line_error(box.run({"id", "--key", p.string()}), "unsupported key type");

    p = box.write("open.key", bytes, 0644);
    check_one_line_error(box.run({"id", "--key", p.string()}), "readable by others");
    check_one_line_error(box.run({"id", "--key", box.path("missing.key").string()}),
                         "No such file");
}

TEST_CASE("spec check accepts good specs and names the key of bad ones", "[cli]") {
    Sandbox box;
    fs::path good = box.write("good.toml", "name = \"t\"\n[zo]\nlr = 0.002\n");
    Run r = box.run({"spec", "check", good.string()});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("ok, swarm id ") != std::string::npos);

    struct Bad {
        const char* text;
        const char* expect;
    };
    for (const Bad& bad : {
             Bad{"[zo]\nepsilonn = 1\n", "zo.epsilonn (line 2): unknown key"},
             Bad{"rounds = \"ten\"\n", "rounds (line 1): expected an integer, got a string"},
             Bad{"[zo\n", "(line 1): malformed TOML"},
         }) {
        fs::path p = box.write("bad.toml", bad.text);
        check_one_line_error(box.run({"spec", "check", p.string()}), bad.expect);
    }
    check_one_line_error(box.run({"spec", "check", box.path("none.toml").string()}),
                         "cannot read spec file");
    fs::path huge = box.write("huge.toml", "# " + std::string(70000, 'x') + "\n");
    check_one_line_error(box.run({"spec", "check", huge.string()}), "larger than 65536 bytes");
    CHECK(box.run({"spec", "check"}).code != 0);
    check_one_line_error(box.run({"spec", "check", ""}), "file name is empty");
}

TEST_CASE("spec show prints the canonical spec and its id", "[cli]") {
    Sandbox box;
    Run shown = box.run({"spec", "show"});
    INFO(shown.err);
    REQUIRE(shown.code == 0);
    Run id = box.run({"spec", "show", "--id"});
    REQUIRE(id.code == 0);
    REQUIRE(id.out.size() == 65);
    CHECK(shown.out.rfind("# swarm id " + id.out.substr(0, 64) + "\n", 0) == 0);
    Run canonical = box.run({"spec", "show", "--canonical"});
    CHECK(shown.out.find(canonical.out) != std::string::npos);

    // The printed form is a spec with the same id.
    fs::path again = box.write("shown.toml", shown.out);
    Run check = box.run({"spec", "check", again.string()});
    CHECK(check.out.find(id.out.substr(0, 64)) != std::string::npos);

    // --spec as a flag (either side of the subcommand) or SWARMD_SPEC picks another spec.
    fs::path other = box.write("other.toml", "seed = 99\n");
    std::string other_id = box.run({"spec", "show", "--id", "--spec", other.string()}).out;
    CHECK(other_id.size() == 65);
    CHECK(other_id != id.out);
    CHECK(box.run({"--spec", other.string(), "spec", "show", "--id"}).out == other_id);
    CHECK(box.run({"spec", "show", "--id"}, {"SWARMD_SPEC=" + other.string()}).out == other_id);
    fs::path bad = box.write("bad.toml", "seed = -5\n");
    check_one_line_error(box.run({"spec", "show", "--spec", bad.string()}), "seed (line 1)");
}

TEST_CASE("node options: config file < environment < flags, with one-line errors", "[cli]") {
    Sandbox box;
    fs::path a = box.write("a.toml", "seed = 1001\n");
    fs::path b = box.write("b.toml", "seed = 1002\n");
    fs::path c = box.write("c.toml", "seed = 1003\n");
    auto id_of = [](const fs::path& p) { return SwarmId::of(load_spec_file(p).value()).hex(); };
    fs::path config = box.write("node.toml", "spec = \"a.toml\"\n");

    auto shown = [&](std::vector<std::string> args, std::vector<std::string> env = {}) {
        args.insert(args.end(), {"spec", "show", "--id"});
        Run r = box.run(args, env);
        INFO(r.err);
        CHECK(r.code == 0);
        return r.out.substr(0, 64);
    };
    CHECK(shown({"--config", config.string()}) == id_of(a));
    CHECK(shown({}, {"SWARMD_CONFIG=" + config.string()}) == id_of(a));
    CHECK(shown({"--config", config.string()}, {"SWARMD_SPEC=" + b.string()}) == id_of(b));
    // --debug takes one value per occurrence: the subcommand after it is not swallowed.
    CHECK(shown({"--debug", "net", "--config", config.string(), "--spec", c.string()},
                {"SWARMD_SPEC=" + b.string()}) == id_of(c));

    fs::path bad = box.write("bad.toml", "log_level = \"chatty\"\n");
    check_one_line_error(box.run({"--config", bad.string(), "spec", "show"}),
                         "log_level (line 1): \"chatty\" is not a log level");
    check_one_line_error(box.run({"spec", "show"}, {"SWARMD_HTTP=nowhere"}), "SWARMD_HTTP: ");
    check_one_line_error(box.run({"spec", "show", "--debug=net,bogus"}), "--debug: \"bogus\"");
}

TEST_CASE("run with a psk_file it cannot use stops with one line naming it, before any socket",
          "[cli][pnet]") {
    Sandbox box;
    const std::string key =
        "/key/swarm/psk/1.0.0/\n/base16/\n"
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    const fs::path missing = box.path("missing.key");
    const fs::path open = box.write("open.key", key, 0644);
    const fs::path garbled = box.write("garbled.key", "/key/swarm/psk/1.0.0/\n/bin/\nxx\n", 0600);
    for (const auto& [file, expect] : {std::pair{missing, std::string("No such file or directory")},
                                       std::pair{open, std::string("readable by others")},
                                       std::pair{garbled, std::string(garbled.string() + ": ")}}) {
        Run r = box.run({"--psk-file", file.string(), "--listen", "/ip4/127.0.0.1/tcp/0", "--http",
                         "off", "run"});
        check_one_line_error(r, "psk_file: " + file.string() + ": ");
        CHECK(r.err.find(expect) != std::string::npos);
        // Nothing was started: no identity made, no address bound.
        CHECK_FALSE(fs::exists(box.path(".local/share/swarmd/identity.key")));
    }
    // The same for a p2p tool, from the environment.
    Run ping = box.run({"p2p", "ping", "/ip4/127.0.0.1/tcp/9/p2p/" + std::string(kSomePeer)},
                       {"SWARMD_PSK_FILE=" + missing.string()});
    check_one_line_error(ping, "psk_file: " + missing.string() + ": No such file or directory");
    // A bad --allow-peer entry is a config error, whatever the command.
    check_one_line_error(box.run({"--allow-peer", "12D3KooWnotapeerid", "spec", "show", "--id"}),
                         "--allow-peer: \"12D3KooWnotapeerid\" is not a peer id");
}

TEST_CASE("swarmd --version prints the project version and the git revision", "[cli]") {
    Sandbox box;
    Run r = box.run({"--version"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    // "swarmd 0.1.0 (git 29f3b22)", "swarmd 0.1.0 (git v0.1.0-3-g29f3b22-dirty)", or
    // "swarmd 0.1.0 (git unknown)" when built outside a git checkout.
    std::smatch m;
    REQUIRE(std::regex_match(r.out, m,
                             std::regex(R"(swarmd (\d+\.\d+\.\d+) \(git ([0-9A-Za-z._+-]+)\)\n)")));

    // The version is CMake's project VERSION.
    std::smatch project;
    std::string lists = slurp(fs::path(SWARMD_SOURCE_DIR) / "CMakeLists.txt");
    REQUIRE(std::regex_search(lists, project, std::regex(R"(project\(swarmd VERSION ([0-9.]+))")));
    CHECK(m[1] == project[1]);

    // Built from a git checkout: an abbreviated commit hash (after a tag's distance, if any),
    // with -dirty when the tree had changes.
    if (fs::exists(fs::path(SWARMD_SOURCE_DIR) / ".git")) {
        CHECK(std::regex_match(m[2].str(), std::regex(R"((.+-g)?[0-9a-f]{7,40}(-dirty)?)")));
    }
    // The same line wherever the flag is given, and never a node start.
    CHECK(box.run({"--version", "spec", "show"}).out == r.out);
}

TEST_CASE("help lists every option with its default", "[cli]") {
    Sandbox box;
    Run top = box.run({"--help"});
    INFO(top.out);
    CHECK(top.code == 0);
    for (const char* expect :
         {"--config FILE=none", "--data-dir DIR=", "--listen MADDR=/ip4/0.0.0.0/tcp/4001",
          "--bootstrap MADDR=none", "--no-default-bootstrap", "SWARMD_NO_DEFAULT_BOOTSTRAP",
          "--http HOST:PORT=127.0.0.1:7070", "--key-file FILE=<data-dir>/identity.key",
          "--spec FILE=embedded", "--log-level LEVEL=info", "--debug CATEGORY=none",
          "--log-format FORMAT=text", "SWARMD_DATA_DIR", "SWARMD_LOG_FORMAT", "keygen", "spec"}) {
        CHECK(top.out.find(expect) != std::string::npos);
    }
    // The data dir default follows HOME.
    CHECK(top.out.find("DIR=" + box.dir().string() + "/.local/share/swarmd") != std::string::npos);

    Run keygen = box.run({"keygen", "--help"});
    CHECK(keygen.code == 0);
    CHECK(keygen.out.find("--out FILE=the node's --key-file") != std::string::npos);
    CHECK(keygen.out.find("--force") != std::string::npos);
    Run show = box.run({"spec", "show", "--help"});
    CHECK(show.out.find("--canonical") != std::string::npos);
    CHECK(show.out.find("--id") != std::string::npos);

    // No subcommand or an unknown one is a usage error, not a crash.
    Run none = box.run({});
    CHECK(none.code != 0);
    CHECK(none.code < 128);
    CHECK(box.run({"frobnicate"}).code != 0);
}

TEST_CASE("doctor reports an unreachable bootstrap peer and exits non-zero", "[cli][doctor]") {
    Sandbox box;
    // A port that nothing listens on: bind, note it, close.
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    const int port = ntohs(addr.sin_port);
    ::close(s);
    const std::string target = "/ip4/127.0.0.1/tcp/" + std::to_string(port) +
                               "/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
    auto r = box.run({"doctor", target, "/ip4/127.0.0.1/tcp/1"});
    CHECK(r.code == 1);
    CHECK(r.out.find("FAIL bootstrap " + target + ": connection refused") != std::string::npos);
    CHECK(r.out.find("nothing listens on that port") != std::string::npos);
    CHECK(r.out.find("FAIL bootstrap /ip4/127.0.0.1/tcp/1: invalid address") != std::string::npos);
    CHECK(r.out.find("0 of 2 bootstrap peers reachable") != std::string::npos);

    auto none = box.run({"doctor"});
    CHECK(none.code == 1);
    CHECK(none.out.find("no bootstrap peers configured") != std::string::npos);
}

namespace {

// Lines of a file a background process writes, once it holds at least `count` of them; waits up
// to `limit` (the process may still be starting).
std::vector<std::string> wait_for_lines(const fs::path& p, std::size_t count,
                                        std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::vector<std::string> lines;
    for (;;) {
        lines.clear();
        std::istringstream in(slurp(p));
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        if (lines.size() >= count || std::chrono::steady_clock::now() > deadline) return lines;
        ::usleep(20'000);
    }
}

// A background process killed at scope exit if it is still running.
struct Background {
    pid_t pid;
    ~Background() {
        if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
    // The exit code, or -1 when the process is still running after `limit` (it is then killed).
    int wait(std::chrono::seconds limit = std::chrono::seconds(30)) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        int status = 0;
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) return -1;
            ::usleep(20'000);
        }
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
};

std::string hex_of(const swarmd::Bytes& bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
    }
    return out;
}

}  // namespace

TEST_CASE("p2p sub prints its address, then each message p2p pub sends through a chain",
          "[cli][p2p]") {
    Sandbox box;
    fs::path key = box.path("pub.key");
    Run keygen = box.run({"keygen", "--out", key.string()});
    REQUIRE(keygen.code == 0);
    const std::string pub_id = keygen.out.substr(0, keygen.out.find('\n'));
    const auto pub_peer = swarmd::crypto::PeerId::parse(pub_id);
    REQUIRE(pub_peer);

    // far <- near <- pub: a message reaches `far` only if `near` forwards it.
    Background far{
        box.start({"p2p", "sub", "demo", "--listen", "/ip4/127.0.0.1/tcp/0", "--count", "2"},
                  box.path("far.out"), box.path("far.err"))};
    auto far_lines = wait_for_lines(box.path("far.out"), 1);
    REQUIRE(far_lines.size() == 1);
    const std::string far_addr = far_lines[0];
    CHECK(far_addr.rfind("/ip4/127.0.0.1/tcp/", 0) == 0);
    CHECK(far_addr.find("/p2p/12D3KooW") != std::string::npos);
    Background near{box.start({"p2p", "sub", "demo", "--count", "2", "--listen",
                               "/ip4/127.0.0.1/tcp/0", "--peer", far_addr},
                              box.path("near.out"), box.path("near.err"))};
    auto near_lines = wait_for_lines(box.path("near.out"), 1);
    REQUIRE(near_lines.size() == 1);

    Run first = box.run({"p2p", "pub", "demo", "hello gossip", "--peer", near_lines[0],
                         "--key-file", key.string()});
    INFO("pub: " << first.out << first.err);
    REQUIRE(first.code == 0);
    CHECK(first.out == "published to 1 peers\n");
    // Payload bytes outside printable ASCII are escaped, so each message stays one line.
    Run second = box.run(
        {"p2p", "pub", "demo", "tab\there\\", "--peer", near_lines[0], "--key", key.string()});
    REQUIRE(second.code == 0);

    for (auto* sub : {&far, &near}) CHECK(sub->wait() == 0);
    for (const char* name : {"far.out", "near.out"}) {
        INFO(name << ": " << slurp(box.path(name)));
        auto lines = wait_for_lines(box.path(name), 3, std::chrono::seconds(0));
        REQUIRE(lines.size() == 3);
        // Message id = author's binary peer id || 8-byte seqno, in hex; seqnos of one author rise.
        const std::string prefix = "from=" + pub_id + " id=" + hex_of(pub_peer.value().bytes());
        // Either may arrive first (through the mesh or through gossip): order them by seqno.
        std::vector<std::pair<std::string, std::string>> got;  // (seqno hex, rest of line)
        for (int i = 1; i <= 2; ++i) {
            REQUIRE(lines[i].rfind(prefix, 0) == 0);
            got.emplace_back(lines[i].substr(prefix.size(), 16),
                             lines[i].substr(prefix.size() + 16));
        }
        std::sort(got.begin(), got.end());
        CHECK(got[0].second == " data=hello gossip");
        CHECK(got[1].second == " data=tab\\x09here\\\\");
        CHECK(got[0].first != got[1].first);
    }
}

TEST_CASE("p2p pub fails with one line when no peer is in the topic", "[cli][p2p]") {
    Sandbox box;
    // A host that does not speak gossipsub at all.
    Background listener{box.start({"p2p", "listen", "--listen", "/ip4/127.0.0.1/tcp/0"},
                                  box.path("listen.out"), box.path("listen.err"))};
    auto lines = wait_for_lines(box.path("listen.out"), 1);
    REQUIRE(lines.size() == 1);
    Run r = box.run({"p2p", "pub", "demo", "x", "--peer", lines[0], "--wait", "0.5"});
    check_one_line_error(r, "no peer subscribed to demo");
    Run bad = box.run({"p2p", "pub", "demo", "x", "--peer", "/ip4/nonsense"});
    check_one_line_error(bad, "bad multiaddr /ip4/nonsense");
    ::kill(listener.pid, SIGINT);
    CHECK(listener.wait() == 0);
}
