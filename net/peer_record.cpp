#include "net/peer_record.hpp"

#include "net/error.hpp"
#include "net/peer_record.pb.h"

namespace swarmd::net {

Bytes encode_peer_record(const PeerRecord& record) {
    pb::PeerRecord msg;
    const Bytes& id = record.peer_id.bytes();
    msg.set_peer_id(id.data(), id.size());
    msg.set_seq(record.seq);
    for (const Multiaddr& addr : record.addresses) {
        const Bytes bytes = addr.to_bytes();
        msg.add_addresses()->set_multiaddr(bytes.data(), bytes.size());
    }
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

Result<PeerRecord> decode_peer_record(ByteSpan payload) {
    if (payload.size() > kMaxEnvelopeSize) return Errc::message_too_large;
    pb::PeerRecord msg;
    if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
        return Errc::protocol_error;
    if (static_cast<std::size_t>(msg.addresses_size()) > kMaxRecordAddresses)
        return Errc::message_too_large;
    auto id = crypto::PeerId::from_bytes(as_bytes(msg.peer_id()));
    if (!id) return Errc::bad_peer_id;
    PeerRecord record{id.value(), msg.seq(), {}};
    for (const auto& info : msg.addresses()) {
        if (auto addr = Multiaddr::from_bytes(as_bytes(info.multiaddr())))
            record.addresses.push_back(std::move(addr).value());
    }
    return record;
}

Result<Bytes> seal_peer_record(const PeerRecord& record, const crypto::PrivateKey& key) {
    if (record.peer_id != crypto::PeerId::from_public_key(key.public_key()))
        return Errc::invalid_state;
    return seal_envelope(kPeerRecordDomain, kPeerRecordPayloadType, encode_peer_record(record),
                         key);
}

Result<PeerRecord> open_peer_record(ByteSpan envelope) {
    BOOST_OUTCOME_TRY(opened, open_envelope(envelope, kPeerRecordDomain, kPeerRecordPayloadType));
    BOOST_OUTCOME_TRY(record, decode_peer_record(opened.payload));
    if (record.peer_id != crypto::PeerId::from_public_key(opened.signer))
        return Errc::peer_id_mismatch;
    return record;
}

Result<PeerRecord> open_peer_record(ByteSpan envelope, const crypto::PeerId& expected) {
    BOOST_OUTCOME_TRY(record, open_peer_record(envelope));
    if (record.peer_id != expected) return Errc::peer_id_mismatch;
    return record;
}

Result<PeerRecord> PeerRecordStore::add(ByteSpan envelope,
                                        const std::optional<crypto::PeerId>& expected) {
    BOOST_OUTCOME_TRY(
        record, expected ? open_peer_record(envelope, *expected) : open_peer_record(envelope));
    auto it = m_records.find(record.peer_id);
    if (it != m_records.end()) {
        if (record.seq <= it->second.seq) return Errc::stale_record;
        it->second = Entry{record.seq, Bytes(envelope.begin(), envelope.end())};
        return record;
    }
    if (m_max_records == 0) return record;
    if (m_records.size() >= m_max_records) {
        m_records.erase(m_order.front());
        m_order.pop_front();
    }
    m_records.emplace(record.peer_id, Entry{record.seq, Bytes(envelope.begin(), envelope.end())});
    m_order.push_back(record.peer_id);
    return record;
}

const Bytes* PeerRecordStore::envelope(const crypto::PeerId& peer) const {
    auto it = m_records.find(peer);
    return it == m_records.end() ? nullptr : &it->second.envelope;
}

}  // namespace swarmd::net
