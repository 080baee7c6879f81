// A js-libp2p peer that the swarmd interop tests drive. It prints one JSON object per line on
// stdout; everything else (js logs) goes to stderr.
//
//   node --import ./polyfill.mjs peer.mjs listen [--ping-back N]
//       prints {"event":"listening","peerId":...,"addrs":[...]}, then an "identify" line for each
//       peer it identifies (and N "ping" lines per identified peer with --ping-back); serves until
//       stdin closes or SIGTERM.
//   node --import ./polyfill.mjs peer.mjs dial MADDR [--pings N]
//       dials, prints "connected", "identify", N "ping" lines, then "done" and exits 0;
//       on any failure prints {"event":"error",...} and exits 1.
//   node --import ./polyfill.mjs peer.mjs bench-handshake MADDR COUNT
//   node --import ./polyfill.mjs peer.mjs bench-bulk MADDR BYTES STREAMS
//       the benchmark's js client side against a listener that serves /swarmd/bench/1.0.0.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

const kBenchProtocol = '/swarmd/bench/1.0.0'

function emit (obj) { process.stdout.write(JSON.stringify(obj) + '\n') }

function fail (err) {
  emit({ event: 'error', message: String(err?.message ?? err), name: err?.name })
  process.exit(1)
}

function option (args, name, fallback) {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback
}

function identifyLine (r) {
  return {
    event: 'identify',
    peerId: r.peerId.toString(),
    agentVersion: r.agentVersion,
    protocolVersion: r.protocolVersion,
    protocols: r.protocols,
    listenAddrs: r.listenAddrs.map(a => a.toString()),
    observedAddr: r.observedAddr?.toString(),
    signedPeerRecord: r.signedPeerRecord && {
      seq: r.signedPeerRecord.seq.toString(),
      addresses: r.signedPeerRecord.addresses.map(a => a.toString())
    }
  }
}

// Bench protocol: the dialer writes bytes and closes its write side; the listener counts them to
// the end and answers with the count as 8 bytes big-endian, then closes.
async function serveBench (stream) {
  let total = 0n
  for await (const chunk of stream) total += BigInt(chunk.byteLength)
  const reply = new Uint8Array(8)
  new DataView(reply.buffer).setBigUint64(0, total)
  stream.send(reply)
  await stream.close()
}

async function makeNode (listen) {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Lifts js's per-host inbound rate limit (5/s by default): the benchmark dials in a loop.
    connectionManager: { maxConnections: 1000, inboundConnectionThreshold: 1e6, maxIncomingPendingConnections: 1000 },
    services: { identify: identify(), ping: ping() }
  })
}

async function runListen (args) {
  const pingBack = Number(option(args, '--ping-back', '0'))
  const node = await makeNode(true)
  await node.handle(kBenchProtocol, serveBench, { maxInboundStreams: 256 })
  node.addEventListener('peer:identify', async (evt) => {
    emit(identifyLine(evt.detail))
    for (let i = 0; i < pingBack; i++) {
      try {
        emit({ event: 'ping', peerId: evt.detail.peerId.toString(), rtt: await node.services.ping.ping(evt.detail.peerId) })
      } catch (err) {
        emit({ event: 'ping-error', peerId: evt.detail.peerId.toString(), message: String(err?.message ?? err) })
      }
    }
  })
  emit({ event: 'listening', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) })
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.resume()
}

async function runDial (args) {
  const target = multiaddr(args[1])
  const pings = Number(option(args, '--pings', '1'))
  const node = await makeNode(false)
  const identified = new Promise((resolve) => {
    node.addEventListener('peer:identify', (evt) => resolve(evt.detail))
  })
  const conn = await node.dial(target)
  emit({ event: 'connected', peerId: conn.remotePeer.toString(), self: node.peerId.toString() })
  emit(identifyLine(await identified))
  for (let i = 0; i < pings; i++) emit({ event: 'ping', rtt: await node.services.ping.ping(target) })
  await node.stop()
  emit({ event: 'done' })
  process.exit(0)
}

async function runBenchHandshake (args) {
  const target = multiaddr(args[1])
  const count = Number(args[2])
  const node = await makeNode(false)
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    const conn = await node.dial(target, { force: true })
    await conn.close()
  }
  const seconds = (performance.now() - start) / 1000
  await node.stop()
  emit({ event: 'bench-handshake', count, seconds })
  process.exit(0)
}

async function runBenchBulk (args) {
  const target = multiaddr(args[1])
  const bytes = Number(args[2])
  const streams = Number(args[3])
  const node = await makeNode(false)
  const conn = await node.dial(target)
  const chunk = new Uint8Array(64 * 1024)
  const perStream = Math.floor(bytes / streams)
  const one = async () => {
    const stream = await conn.newStream(kBenchProtocol)
    let left = perStream
    while (left > 0) {
      const n = Math.min(left, chunk.byteLength)
      if (!stream.send(chunk.subarray(0, n))) await stream.onDrain()
      left -= n
    }
    await stream.close()
    let reply = new Uint8Array(0)
    for await (const c of stream) reply = new Uint8Array([...reply, ...c.subarray()])
    const got = new DataView(reply.buffer).getBigUint64(0)
    if (got !== BigInt(perStream)) throw new Error(`listener counted ${got}, sent ${perStream}`)
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: streams }, one))
  const seconds = (performance.now() - start) / 1000
  await node.stop()
  emit({ event: 'bench-bulk', bytes: perStream * streams, streams, seconds })
  process.exit(0)
}

const args = process.argv.slice(2)
const modes = { listen: runListen, dial: runDial, 'bench-handshake': runBenchHandshake, 'bench-bulk': runBenchBulk }
const mode = modes[args[0]]
if (mode == null) fail(new Error(`usage: peer.mjs listen|dial|bench-handshake|bench-bulk ...`))
mode(args).catch(fail)
