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
//   node --import ./polyfill.mjs peer.mjs gossip TOPIC [--heartbeat-ms N] [--quiet]
//       a gossipsub node subscribed to TOPIC, configured as swarmd is (StrictSign, message id =
//       from || seqno, see swarmdMsgId). Prints "listening", then a "message" line per message
//       received (unless --quiet). Commands, one JSON object per stdin line:
//         {"cmd":"dial","addr":A}       -> {"event":"dialed","peerId":...}
//         {"cmd":"publish","data":S}    -> {"event":"published","id":hex,"recipients":N}
//         {"cmd":"mesh"}                -> {"event":"mesh","mesh":[ids],"topicPeers":[ids]}
//         {"cmd":"bench","rate":R,"seconds":S,"size":B}
//             publishes R messages/s for S s, each B bytes: "swdbench" || scheduled send time
//             (CLOCK_MONOTONIC ns, 8 bytes big-endian) || zeros -> {"event":"bench-done",...}
//         {"cmd":"report"} -> {"event":"report","received":N,"duplicates":N,"latencies_us":[...]}
//             for the bench messages received since the last report.
//   node --import ./polyfill.mjs peer.mjs kad [--relay-server]
//       a @libp2p/kad-dht server on /ipfs/kad/1.0.0 that keeps loopback addresses (js drops
//       private addresses by default), with --relay-server also a circuit relay v2 server. Prints "listening", then answers stdin commands; keys are
//       hex multihashes (a raw CIDv1 on the js side):
//         {"cmd":"dial","addr":A}          -> {"event":"dialed","peerId":...}
//         {"cmd":"rt"}                      -> {"event":"rt","size":N}
//         {"cmd":"provide","key":HEX}       -> {"event":"provided"}
//         {"cmd":"findProviders","key":HEX} -> {"event":"providers","providers":[{"id","addrs"}]}
//   node --import ./polyfill.mjs peer.mjs autonat
//       an @libp2p/autonat (v1, /libp2p/autonat/1.0.0) server. Prints "listening" and serves
//       until stdin closes. js never dials back private or loopback addresses (its server drops
//       them with isPrivate, with no option to keep them), so on loopback it answers every
//       well-formed DIAL with E_DIAL_REFUSED: the test checks the wire format, not a dial-back.
//   node --import ./polyfill.mjs peer.mjs relay [--server] [--dcutr]
//       a node with @libp2p/circuit-relay-v2's transport (dials and listens on /p2p-circuit
//       addresses), with --server its relay server, with --dcutr @libp2p/dcutr (and its loopback
//       addresses announced as /dns4/localhost, which js DCUtR does not skip as private). Prints
//       "listening", then answers stdin commands:
//         {"cmd":"reserve","addr":RELAY} -> {"event":"reserved","addrs":[our circuit addresses]}
//         {"cmd":"ping","addr":A}        -> {"event":"pinged","peerId":...,"rtt":ms,
//                                             "limited":bool,"remoteAddr":...}
//         {"cmd":"connections"}         -> {"event":"connections","connections":[{"peerId",
//                                             "limited","remoteAddr","direction","status"}]}
//       and prints {"event":"connection","peerId":...,"limited":bool,"remoteAddr":...} for each
//       inbound connection.
//
// Every mode takes --listen MADDR (default /ip4/127.0.0.1/tcp/0; the NAT lab's hosts pass their
// own address) and --key rsa for an RSA-2048 identity (a "Qm..." peer id, as the public DHT's
// bootstrap peers have) instead of the default Ed25519 one, and --psk FILE to join the private
// network of that libp2p key file (@libp2p/pnet's connection protector on every connection).
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, StrictSign } from '@libp2p/gossipsub'
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import { kadDHT } from '@libp2p/kad-dht'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { preSharedKey } from '@libp2p/pnet'
import { readFileSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

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

// The createLibp2p options that pick the identity key (--key ed25519|rsa).
async function identityOptions () {
  const type = option(process.argv, '--key', 'ed25519')
  if (type === 'rsa') return { privateKey: await generateKeyPair('RSA', 2048) }
  if (type !== 'ed25519') throw new Error(`unknown --key ${type}`)
  return {}
}

// The createLibp2p options for --psk FILE (a /key/swarm/psk/1.0.0/ key file).
function privateNetworkOptions () {
  const file = option(process.argv, '--psk', null)
  if (file == null) return {}
  return { connectionProtector: preSharedKey({ psk: readFileSync(file) }) }
}

// Lifts js's per-host inbound rate limit (5/s by default): the benchmark dials in a loop.
const liftedLimits = { maxConnections: 1000, inboundConnectionThreshold: 1e6, maxIncomingPendingConnections: 1000 }

// Every mode's node: loopback TCP (listening unless `listen` is false), Noise, yamux, identify
// and ping, the identity key from --key, plus the mode's own transports and services.
async function makeNode ({ listen = true, transports = [], services = {}, connectionManager, announceFilter } = {}) {
  return createLibp2p({
    ...(await identityOptions()),
    addresses: {
      listen: listen ? [option(process.argv, '--listen', '/ip4/127.0.0.1/tcp/0')] : [],
      ...(announceFilter ? { announceFilter } : {})
    },
    transports: [tcp(), ...transports],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...privateNetworkOptions(),
    ...(connectionManager ? { connectionManager } : {}),
    services: { identify: identify(), ping: ping(), ...services }
  })
}

function emitListening (node) {
  emit({ event: 'listening', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) })
}

async function runListen (args) {
  const pingBack = Number(option(args, '--ping-back', '0'))
  const node = await makeNode({ connectionManager: liftedLimits })
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
  emitListening(node)
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.resume()
}

async function runDial (args) {
  const target = multiaddr(args[1])
  const pings = Number(option(args, '--pings', '1'))
  const node = await makeNode({ listen: false, connectionManager: liftedLimits })
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
  const node = await makeNode({ listen: false, connectionManager: liftedLimits })
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
  const node = await makeNode({ listen: false, connectionManager: liftedLimits })
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

// The message id swarmd uses (go-libp2p-pubsub's DefaultMsgIdFn): the author's binary peer id
// (for Ed25519, the identity multihash 00 24 08 01 12 20 <key>) followed by the seqno as 8 bytes
// big-endian. js's default is the author's public key protobuf || seqno, which lacks the two
// multihash bytes: with it, IHAVE ids from one side would be unknown to the other, so every
// announced message would be fetched again and every IWANT answered by swarmd would count as a
// broken promise.
function swarmdMsgId (msg) {
  if (msg.type !== 'signed') throw new Error('StrictSign: unsigned message')
  const from = msg.from.toMultihash().bytes
  const id = new Uint8Array(from.length + 8)
  id.set(from, 0)
  new DataView(id.buffer).setBigUint64(from.length, msg.sequenceNumber)
  return id
}

const hex = (bytes) => Buffer.from(bytes).toString('hex')
const kBenchMagic = Buffer.from('swdbench')

async function runGossip (args) {
  const topic = args[1]
  if (topic == null) throw new Error('usage: peer.mjs gossip TOPIC [--heartbeat-ms N] [--quiet]')
  const heartbeatMs = Number(option(args, '--heartbeat-ms', '1000'))
  const quiet = args.includes('--quiet')
  const node = await makeNode({
    connectionManager: liftedLimits,
    services: {
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        msgIdFn: swarmdMsgId,
        emitSelf: false,
        heartbeatInterval: heartbeatMs,
        // The drivers wait for the mesh before publishing; an early publish is not an error.
        allowPublishToZeroTopicPeers: true
      })
    }
  })
  const pubsub = node.services.pubsub
  let received = 0
  let duplicates = 0
  let latencies = []
  const seen = new Set()
  pubsub.addEventListener('message', (evt) => {
    const msg = evt.detail
    if (msg.topic !== topic || msg.type !== 'signed') return
    const id = hex(swarmdMsgId(msg))
    if (seen.has(id)) duplicates++
    seen.add(id)
    const data = msg.data
    if (data.length >= 16 && kBenchMagic.equals(Buffer.from(data.buffer, data.byteOffset, 8))) {
      const sent = new DataView(data.buffer, data.byteOffset + 8, 8).getBigUint64(0)
      latencies.push(Number(process.hrtime.bigint() - sent) / 1000)
      received++
      if (quiet) return
    }
    if (!quiet) {
      emit({ event: 'message', from: msg.from.toString(), id, seqno: msg.sequenceNumber.toString(), data: Buffer.from(data).toString('utf8') })
    }
  })
  pubsub.subscribe(topic)
  emitListening(node)

  const bench = async ({ rate, seconds, size }) => {
    const total = Math.round(rate * seconds)
    const start = process.hrtime.bigint()
    const stepNs = 1e9 / rate
    let published = 0
    let errors = 0
    const pending = []
    while (published < total) {
      const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - start) / stepNs) + 1)
      for (; published < due; published++) {
        const payload = new Uint8Array(Math.max(size, 16))
        payload.set(kBenchMagic, 0)
        new DataView(payload.buffer).setBigUint64(8, start + BigInt(Math.round(published * stepNs)))
        pending.push(pubsub.publish(topic, payload).catch(() => { errors++ }))
      }
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await Promise.all(pending)
    emit({ event: 'bench-done', published, errors })
  }

  const commands = {
    dial: async (c) => {
      const conn = await node.dial(multiaddr(c.addr))
      emit({ event: 'dialed', peerId: conn.remotePeer.toString() })
    },
    publish: async (c) => {
      const result = await pubsub.publish(topic, new TextEncoder().encode(c.data))
      emit({ event: 'published', recipients: result.recipients.length })
    },
    mesh: async () => {
      emit({ event: 'mesh', mesh: pubsub.getMeshPeers(topic), topicPeers: pubsub.getSubscribers(topic).map(p => p.toString()) })
    },
    bench,
    report: async () => {
      emit({ event: 'report', received, duplicates, latencies_us: latencies })
      received = 0
      duplicates = 0
      latencies = []
    }
  }
  serveCommands(node, commands)
}

// Runs one JSON command per stdin line ({"cmd": name, ...}) against `commands`, reporting
// unknown commands and failures as error events; stops the node on SIGTERM, SIGINT or EOF.
function serveCommands (node, commands) {
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    if (line.trim() === '') return
    const c = JSON.parse(line)
    const run = commands[c.cmd]
    if (run == null) return emit({ event: 'error', message: `unknown command ${c.cmd}` })
    run(c).catch((err) => emit({ event: 'error', message: String(err?.message ?? err), cmd: c.cmd }))
  })
  lines.on('close', stop)
}

function keyCid (hexKey) {
  return CID.createV1(0x55, Digest.decode(Uint8Array.from(Buffer.from(hexKey, 'hex'))))
}

async function runKad (args) {
  const node = await makeNode({
    services: {
      dht: kadDHT({ protocol: '/ipfs/kad/1.0.0', clientMode: false, peerInfoMapper: (p) => p }),
      ...(args.includes('--relay-server') ? { relay: circuitRelayServer() } : {})
    }
  })
  const dht = node.services.dht
  emitListening(node)
  const commands = {
    dial: async (c) => {
      const conn = await node.dial(multiaddr(c.addr))
      emit({ event: 'dialed', peerId: conn.remotePeer.toString() })
    },
    rt: async () => emit({ event: 'rt', size: dht.routingTable.size }),
    provide: async (c) => {
      await node.contentRouting.provide(keyCid(c.key))
      emit({ event: 'provided' })
    },
    findProviders: async (c) => {
      const providers = []
      const signal = AbortSignal.timeout(c.timeoutMs ?? 10000)
      try {
        for await (const p of node.contentRouting.findProviders(keyCid(c.key), { signal })) {
          providers.push({ id: p.id.toString(), addrs: p.multiaddrs.map(a => a.toString()) })
          break
        }
      } catch (err) {
        if (providers.length === 0 && err?.name !== 'AbortError') throw err
      }
      emit({ event: 'providers', providers })
    }
  }
  serveCommands(node, commands)
}

async function runAutonat () {
  const node = await makeNode({ services: { autonat: autoNAT() } })
  emitListening(node)
  serveCommands(node, {})
}

// js DCUtR offers and dials only addresses it deems public, never 127.0.0.1; a DNS name passes, so
// with --dcutr the node announces /dns4/localhost for its loopback listen addresses.
const localhostNamed = (addrs) => addrs.map(a => multiaddr(a.toString().replace(/^\/ip4\/127\.0\.0\.1\//, '/dns4/localhost/')))

async function runRelay (args) {
  const withDcutr = args.includes('--dcutr')
  const services = {
    ...(args.includes('--server') ? { relay: circuitRelayServer() } : {}),
    ...(withDcutr ? { dcutr: dcutr() } : {})
  }
  const node = await makeNode({
    transports: [circuitRelayTransport()],
    services,
    ...(withDcutr ? { announceFilter: localhostNamed } : {})
  })
  const connectionLine = (event, conn) => ({
    event,
    peerId: conn.remotePeer.toString(),
    limited: conn.limits != null,
    remoteAddr: conn.remoteAddr.toString()
  })
  node.addEventListener('connection:open', (evt) => {
    if (evt.detail.direction === 'inbound') emit(connectionLine('connection', evt.detail))
  })
  emitListening(node)
  const circuitAddrs = () => node.getMultiaddrs().map(a => a.toString()).filter(a => a.includes('/p2p-circuit'))
  const commands = {
    reserve: async (c) => {
      await node.components.transportManager.listen([multiaddr(`${c.addr}/p2p-circuit`)])
      for (let i = 0; i < 100 && circuitAddrs().length === 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
      emit({ event: 'reserved', addrs: circuitAddrs() })
    },
    // The line describes the connection the dial made (limited when relayed), taken before a
    // hole punch may replace it; the ping then goes over whichever connection is open, retried
    // (each try bounded) when the punch closes the relayed one under it.
    ping: async (c) => {
      const conn = await node.dial(multiaddr(c.addr))
      const line = connectionLine('pinged', conn)
      for (let attempt = 1; ; attempt++) {
        try {
          const rtt = await node.services.ping.ping(conn.remotePeer, { signal: AbortSignal.timeout(5000) })
          return emit({ ...line, rtt })
        } catch (err) {
          if (attempt === 3) throw err
          await new Promise(resolve => setTimeout(resolve, 200))
        }
      }
    },
    connections: async () => {
      emit({
        event: 'connections',
        connections: node.getConnections().map(conn => ({ ...connectionLine('connection', conn), direction: conn.direction, status: conn.status }))
      })
    }
  }
  serveCommands(node, commands)
}

const args = process.argv.slice(2)
const modes = { listen: runListen, dial: runDial, 'bench-handshake': runBenchHandshake, 'bench-bulk': runBenchBulk, gossip: runGossip, kad: runKad, autonat: runAutonat, relay: runRelay }
const mode = modes[args[0]]
if (mode == null) fail(new Error(`usage: peer.mjs listen|dial|bench-handshake|bench-bulk|gossip|kad|autonat|relay ...`))
mode(args).catch(fail)
