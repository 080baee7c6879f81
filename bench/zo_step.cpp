// bench-deps: swarmd_training
// Cost of one ZO step against one forward pass and one backprop step on the same model and
// batch, and the extra memory of ZO training against inference and backprop (peak RSS growth
// of a fresh child process over its RSS before the model exists).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "bench/zo_common.hpp"
#include "training/params.hpp"
#include "training/zo.hpp"

using namespace swarmd;
using namespace swarmd::training;

namespace {

const Bytes kSwarm{1, 2, 3};
const Bytes kAuthor{0x00, 0x24, 0x01};

long status_kib(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
    }
    return -1;
}

// Runs `work` in a child and returns the growth of its peak RSS in KiB (VmHWM - VmRSS before).
// `warm_up` runs first so LibTorch's one-time allocations are not counted.
long child_peak_growth_kib(const std::function<void()>& warm_up,
                           const std::function<void()>& work) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        warm_up();
        const long before = status_kib("VmRSS:");
        work();
        const long growth = status_kib("VmHWM:") - before;
        (void)!write(fds[1], &growth, sizeof growth);
        _exit(0);
    }
    close(fds[1]);
    long growth = -1;
    (void)!read(fds[0], &growth, sizeof growth);
    close(fds[0]);
    waitpid(pid, nullptr, 0);
    return growth;
}

using Factory = std::function<std::unique_ptr<Task>()>;

struct MemoryKib {
    long inference, zo, backprop;
};

// Measured before the parent allocates any model, so children cannot reuse its freed heap.
MemoryKib measure_memory(const Factory& make, const Factory& make_tiny, float lr) {
    const ZoOptions o;
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
    const auto warm_up = [&] {
        auto t = make_tiny();
        auto th = init_params(t->layout(), kSwarm, 1);
        const auto b = bench::batch_of(64, t->train_size(), 2);
        auto s = zo_step(*t, th, kSwarm, kAuthor, 0, b, o);
        apply_updates(th, s.updates, rule);
        (void)t->backprop_step(th, b, lr);
    };
    const auto memory = [&](int mode) {
        return child_peak_growth_kib(warm_up, [&, mode] {
            auto t = make();
            auto th = init_params(t->layout(), kSwarm, 1);
            const auto batch = bench::batch_of(64, t->train_size(), 2);
            for (int i = 0; i < 5; ++i) {
                if (mode == 0) (void)t->loss(th, batch);
                if (mode == 1) {
                    auto s = zo_step(*t, th, kSwarm, kAuthor, i, batch, o);
                    apply_updates(th, s.updates, rule);
                }
                if (mode == 2) (void)t->backprop_step(th, batch, lr);
            }
        });
    };
    return {memory(0), memory(1), memory(2)};
}

void run(const char* name, const Factory& make, float lr, MemoryKib mem) {
    constexpr int kReps = 15;
    auto task = make();
    auto theta = init_params(task->layout(), kSwarm, 1);
    const auto batch = bench::batch_of(64, task->train_size(), 2);
    ZoOptions o;
    volatile double sink = 0;
    const double t_fwd = bench::best_seconds(kReps, [&] { sink = task->loss(theta, batch); });
    std::uint64_t round = 0;
    const double t_zo = bench::best_seconds(
        kReps, [&] { sink = zo_step(*task, theta, kSwarm, kAuthor, round++, batch, o).loss; });
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
    const double t_zo_apply = bench::best_seconds(kReps, [&] {
        auto s = zo_step(*task, theta, kSwarm, kAuthor, round++, batch, o);
        apply_updates(theta, s.updates, rule);
    });
    const double t_bp =
        bench::best_seconds(kReps, [&] { sink = task->backprop_step(theta, batch, lr); });

    const long m_inf = mem.inference, m_zo = mem.zo, m_bp = mem.backprop;

    std::printf("%-34s %9zu %9.3f %9.2f %11.2f %9.2f | %8ld %8ld %8ld %7.2f %7.2f\n", name,
                theta.size(), t_fwd * 1e3, t_zo / t_fwd, t_zo_apply / t_fwd, t_zo / t_bp, m_inf,
                m_zo, m_bp, double(m_zo) / double(m_inf), double(m_bp) / double(m_inf));
}

}  // namespace

int main() {
    bench::single_thread();
    bench::print_blas();
    auto data = load_digits();
    auto text = load_text_dir(kLicenseDir, 400000);
    if (!data || !text) {
        std::fprintf(stderr, "cannot load the data sets\n");
        return 1;
    }
    std::printf(
        "\nbatch 64, 1 thread, Rademacher z, best of 15 (thread CPU time); memory = peak RSS "
        "growth in KiB of a child\nthat builds the model and runs 5 iterations (params, "
        "activations, scratch, gradients)\n\n");
    std::printf("%-34s %9s %9s %9s %11s %9s | %8s %8s %8s %7s %7s\n", "model", "params", "fwd ms",
                "zo/fwd", "zo+apply/fwd", "zo/bprop", "inf KiB", "zo KiB", "bp KiB", "zo/inf",
                "bp/inf");
    const auto& d = data.value();
    const Factory small = [&] { return make_digits_mlp(d, MlpOptions{}); };
    const Factory big = [&] {
        MlpOptions m;
        m.hidden = {1024, 1024};
        return make_digits_mlp(d, m);
    };
    const Factory tiny = [&] {
        MlpOptions m;
        m.hidden = {4};
        return make_digits_mlp(d, m);
    };
    const Factory lm = [&] { return make_char_lm(text.value()); };
    const auto mem_small = measure_memory(small, tiny, 0.1f);
    const auto mem_big = measure_memory(big, tiny, 0.1f);
    const auto mem_lm = measure_memory(lm, tiny, 0.5f);
    run("MLP 64-128-10 (digits)", small, 0.1f, mem_small);
    run("MLP 64-1024-1024-10 (digits)", big, 0.1f, mem_big);
    run("char LM ctx16 emb16 h128 (licenses)", lm, 0.5f, mem_lm);
    std::printf(
        "\ngoal: zo/fwd about 2 (two forward passes); MeZO's memory claim: zo/inf about 1\n");
    return 0;
}
