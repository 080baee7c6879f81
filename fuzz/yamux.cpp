// fuzz-deps: swarmd_net_core
// yamux session fed arbitrary frames in chunks; it answers by writing to and closing the
// streams the input opens, so the send path and flow control run too.
#include <cstdint>
#include <cstdlib>

#include "net/yamux.hpp"

using namespace swarmd;
using namespace swarmd::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    YamuxOptions options;
    options.client = (data[0] & 0x80) != 0;
    options.max_inbound_streams = 8;
    options.auto_consume = (data[0] & 0x40) != 0;
    const std::size_t chunk = (data[0] & 0x3f) + 1;
    const ByteSpan in(data + 1, size - 1);
    YamuxSession session(options);
    auto now = YamuxClock::time_point{};
    const Bytes reply(100'000, 0x5a);
    (void)session.ping(now);
    (void)session.open_stream();
    for (std::size_t i = 0; i < in.size(); i += chunk) {
        now += std::chrono::milliseconds(1);
        auto events = session.feed(in.subspan(i, std::min(chunk, in.size() - i)), now);
        for (const auto& e : events) {
            switch (e.kind) {
                case YamuxEvent::Kind::stream_opened:
                    (void)session.write(e.stream_id, reply);
                    break;
                case YamuxEvent::Kind::data:
                    if (!options.auto_consume) (void)session.consume(e.stream_id, e.data.size());
                    break;
                case YamuxEvent::Kind::remote_fin:
                    (void)session.close(e.stream_id);
                    break;
                default:
                    break;
            }
        }
        if (session.stream_count() > options.max_inbound_streams + 1) std::abort();
        (void)session.take_output();
        if (session.error()) break;
    }
    return 0;
}
