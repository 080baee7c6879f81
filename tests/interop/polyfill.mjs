// Node 20 lacks Promise.withResolvers (Node >= 22), which it-queue (via mortice) calls while
// libp2p starts. Load with: node --import ./polyfill.mjs peer.mjs ...
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new this((a, b) => { resolve = a; reject = b })
    return { promise, resolve, reject }
  }
}
