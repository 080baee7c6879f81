#pragma once
// The thread an engine computes on (node/zo/engine.hpp, node/sapo/engine.hpp): an io_context of
// its own, kept alive by a work guard and run on one thread from start() until stop(). The
// engine posts its work and timers to context(); the io thread never waits on it except in
// stop(), which lets the work in progress finish.
#include <functional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace swarmd::node {

class ComputeThread {
  public:
    ComputeThread() : m_work(m_context.get_executor()) {}
    ~ComputeThread() { stop(); }
    ComputeThread(const ComputeThread&) = delete;
    ComputeThread& operator=(const ComputeThread&) = delete;

    boost::asio::io_context& context() noexcept { return m_context; }

    // Starts the thread; `init` runs on it first (thread-local settings).
    void start(std::function<void()> init = {}) {
        if (m_thread.joinable()) return;
        m_thread = std::thread([this, init = std::move(init)] {
            if (init) init();
            m_context.run();
        });
    }
    bool running() const noexcept { return m_thread.joinable(); }

    // Posts `last` (the engine's stop flags, a final save), lets what is queued finish, and joins
    // the thread. Does nothing if the thread never started.
    void stop(std::function<void()> last = {}) {
        if (!m_thread.joinable()) return;
        if (last) boost::asio::post(m_context, std::move(last));
        m_work.reset();
        m_thread.join();
    }

  private:
    boost::asio::io_context m_context{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> m_work;
    std::thread m_thread;
};

}  // namespace swarmd::node
