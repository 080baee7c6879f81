// What the pinned js-libp2p set calls and older Node versions lack; Debian 12 ships Node 18.
// Load with: node --import ./polyfill.mjs peer.mjs ... (--import needs Node >= 18.18).
import { webcrypto } from 'node:crypto'

// The global Web Crypto object (Node >= 19 in modules): the noble hashes and libp2p's keys use it.
if (globalThis.crypto == null) {
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, writable: true, configurable: true })
}

// Promise.withResolvers (Node >= 22): it-queue (via mortice) calls it while libp2p starts.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new this((a, b) => { resolve = a; reject = b })
    return { promise, resolve, reject }
  }
}

// The global CustomEvent (Node >= 19): libp2p's event targets dispatch them.
if (typeof globalThis.CustomEvent !== 'function') {
  globalThis.CustomEvent = class CustomEvent extends Event {
    #detail
    constructor (type, options = {}) {
      super(type, options)
      this.#detail = options.detail ?? null
    }

    get detail () { return this.#detail }
  }
}
