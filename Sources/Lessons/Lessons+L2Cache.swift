import AttentionIO

extension Lessons {
  /// Lesson 5: the L2 cache between the SMs and DRAM. FlashAttention-2's forward kernel on the
  /// teaching GPU: identical requests of one tick hit, a second wave of CTAs re-reads K and V
  /// when they do not fit the L2, and an L2 that holds them reads each byte from DRAM once.
  public static func l2Cache() throws -> String {
    let g = NumberFormatting.grouped
    let (n, d) = (2048, 32)
    let workload = try AttentionWorkload(batch: 1, heads: 1, sequenceLength: n, headDimension: d, causal: false, pass: .forward)
    let device = GPUDeviceSpec.teaching
    let kernel = try FlashAttention2Preset().kernels(for: workload, on: device)[0]
    let sector = device.l2.sectorBytes
    var text = title("Lesson 5: the L2 cache between the SMs and DRAM")
    text += """
      The paper's model counts every tile an SM loads from HBM. On a real GPU those loads go to the L2
      cache first, and DRAM sees only what the L2 misses. This lesson runs FlashAttention-2's forward
      kernel as PyTorch launches it (128 query rows per CTA; K and V in blocks of 128 rows, visited
      from the last block down) for one head, N = \(g(n)), d = \(d), fp16, on the teaching GPU:
      \(device.streamingMultiprocessors) SMs, \(device.blocksPerSM(kernel.resources)) CTAs per SM, and an L2 of \
      \(device.l2.capacityInBytes / 1024) KiB (\(device.l2.capacityInBytes / device.l2.lineBytes) lines of \
      \(device.l2.lineBytes) bytes, \(device.l2.associativity) ways, sectors of \(sector) bytes).

      """

    var ticks: [LaunchTick] = []
    let small = try LaunchSimulator(device: device).run(kernel, observer: { ticks.append($0) })
    let rowBytes = d * 2
    let tileSectors = 128 * rowBytes / sector
    text += heading("1. One tick at a time")
    text += """
      \(kernel.blockCount) CTAs, \(ticks[0].blocks.count) resident at once. In every tick each resident CTA loads one K block and
      one V block (\(g(tileSectors)) sectors of \(sector) bytes each); in its first tick it also loads its Q tile. All
      CTAs ask for the same K and V block in the same tick: the first request misses and fills the L2,
      the others hit.


      """
    var rows: [[String]] = [["tick", "CTAs", "sectors asked", "hits", "from DRAM"]]
    var previous = L2Counters()
    let shown = [0, 1, 2, 15, 16, 17, ticks.count - 1]
    for (index, tick) in ticks.enumerated() {
      defer { previous = tick.counters }
      guard shown.contains(index) else { continue }
      if index == 15 || index == ticks.count - 1 { rows.append(["…", "", "", "", ""]) }
      rows.append([
        String(tick.tick), "\(tick.blocks.min()!)–\(tick.blocks.max()!)", g(tick.counters.readSectors - previous.readSectors),
        g(tick.counters.readHitSectors - previous.readHitSectors), g(tick.counters.dramReadSectors - previous.dramReadSectors),
      ])
    }
    text += NumberFormatting.table(rows)
    let first = ticks[0].counters
    try claim(first.dramReadSectors == ticks[0].blocks.count * tileSectors + 2 * tileSectors, "tick 0 reads every Q tile and one K and one V block from DRAM")

    let blocks = n / 128
    let tensorBytes = n * rowBytes
    text += heading("2. Waves")
    text += """
      After \(blocks) ticks the first \(ticks[0].blocks.count) CTAs are done and the next \(ticks[0].blocks.count) start again at the last K/V block.
      By then the \(device.l2.capacityInBytes / 1024) KiB L2 has long since evicted it: the second wave reads K and V from DRAM
      again (ticks \(blocks)–\(2 * blocks - 1) above look like ticks 0–\(blocks - 1)).

      """

    text += heading("3. The same kernel on larger L2s")
    var sizes: [[String]] = [["L2", "tile reads", "DRAM reads", "DRAM / tile reads"]]
    var dram: [Int] = []
    for capacity in [device.l2.capacityInBytes, 64 * 1024, 1024 * 1024] {
      var bigger = device
      bigger.l2.capacityInBytes = capacity
      let traffic = capacity == device.l2.capacityInBytes ? small : try LaunchSimulator(device: bigger).run(kernel)
      dram.append(traffic.l2.dramReadSectors * sector)
      sizes.append([
        "\(capacity / 1024) KiB", g(traffic.requestedReadSectors * sector) + " B", g(traffic.l2.dramReadSectors * sector) + " B",
        NumberFormatting.fixed(Double(traffic.l2.dramReadSectors) / Double(traffic.requestedReadSectors), 3),
      ])
    }
    text += NumberFormatting.table(sizes)
    try claim(dram[0] == tensorBytes + 2 * 2 * tensorBytes, "with 4 KiB, Q once and K, V once per wave")
    try claim(dram[2] == 3 * tensorBytes, "with 1 MiB, Q, K and V once")
    text += """

      K and V together are \(g(2 * tensorBytes)) B. An L2 that holds them (1 MiB) reads Q, K and V from DRAM once,
      \(g(3 * tensorBytes)) B; one that does not (4 or 64 KiB) reads K and V once per wave of CTAs. The tile reads,
      what the paper's model counts, are the same in every case: the L2 decides what DRAM sees.
      `attention-io simulate --kernel fa2 --device h100-sxm …` runs the same model on a real GPU's
      numbers (Docs/GPUModel.md).

      """
    return text
  }
}
