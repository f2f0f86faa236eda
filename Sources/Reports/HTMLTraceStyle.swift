/// The inline style sheet of `HTMLTraceDocument`: system fonts only, colors per operand.
enum HTMLTraceStyle {
  static let css = #"""
    :root { --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --paper: #ffffff; --panel: #f6f8fa;
            --read: #2f6fdd; --write: #e8731a; --sram: #fffbe6; --active: #111111; }
    * { box-sizing: border-box; }
    body { margin: 0 auto; max-width: 1120px; padding: 16px 20px 40px; color: var(--ink); background: var(--paper);
           font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    h1 { font-size: 22px; margin: 4px 0 2px; }
    h2 { font-size: 16px; margin: 0 0 2px; }
    .subtitle, .blocks { color: var(--muted); margin: 0 0 8px; }
    #controls { position: sticky; top: 0; z-index: 2; display: grid; gap: 8px; align-items: center;
                grid-template-columns: auto auto 6.5em auto auto 15em minmax(120px, 1fr) 24em;
                padding: 8px 0; background: var(--paper); border-bottom: 1px solid var(--line); }
    #controls button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); border-radius: 6px;
                       background: var(--panel); cursor: pointer; white-space: nowrap; display: inline-flex;
                       align-items: center; justify-content: center; gap: 4px; }
    #controls button:hover { border-color: var(--muted); }
    #controls .icon { fill: currentColor; flex: none; }
    #b-play .when-playing { display: none; }
    #b-play.playing .when-playing { display: inline-flex; align-items: center; gap: 4px; }
    #b-play.playing .when-paused { display: none; }
    #b-play .when-paused { display: inline-flex; align-items: center; gap: 4px; }
    #scrub { width: 100%; min-width: 0; }
    #clock { font-variant-numeric: tabular-nums; color: var(--muted); white-space: nowrap; overflow: hidden;
             text-overflow: ellipsis; }
    .speed { color: var(--muted); white-space: nowrap; display: flex; align-items: center; gap: 4px; }
    .speed input { width: 6em; }
    #speed-label { display: inline-block; min-width: 6.5em; font-variant-numeric: tabular-nums; }
    @media (max-width: 960px) {
      #controls { grid-template-columns: auto auto 6.5em auto auto 1fr; }
      #scrub, #clock { grid-column: 1 / -1; }
    }
    #panels { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 12px; }
    .panel { flex: 1 1 520px; max-width: 540px; padding: 10px; background: var(--panel); border: 1px solid var(--line);
             border-radius: 8px; }
    svg.diagram { display: block; width: 100%; height: auto; overflow: visible; }
    .level { font-size: 12px; font-weight: 600; fill: var(--muted); }
    .tensor-name { font-size: 11px; fill: var(--ink); }
    .cell { fill: #fbfbfb; stroke: #c3c9d0; stroke-width: 0.5; }
    .cell.active { stroke: var(--active); stroke-width: 2.5; }
    .written { fill: var(--write); fill-opacity: 0; pointer-events: none; }
    .cell-label { font-size: 9px; text-anchor: middle; fill: var(--ink); pointer-events: none; }
    .outline { fill: none; stroke-width: 1.5; }
    .sram { fill: var(--sram); stroke: #b08800; stroke-width: 1.5; }
    .tile rect { stroke: #ffffff; stroke-width: 1; }
    .tile.hot rect { stroke: var(--active); stroke-width: 2.5; }
    .tile-label { font-size: 10px; fill: #ffffff; pointer-events: none; }
    .track { fill: #eaeef2; }
    .bar-read { fill: var(--read); }
    .bar-write { fill: var(--write); }
    .flyer { fill-opacity: 0.85; stroke: var(--active); stroke-width: 1.5; pointer-events: none; }
    .counters { font-variant-numeric: tabular-nums; margin-top: 6px; }
    .read-key { color: var(--read); font-weight: 600; }
    .write-key { color: var(--write); font-weight: 600; }
    .sram-key { color: #8a6d00; font-weight: 600; }
    .stats { min-height: 3.2em; margin: 6px 0; padding: 6px; background: var(--paper); border: 1px solid var(--line);
             border-radius: 6px; font-size: 12px; white-space: pre-wrap; }
    .now { margin: 4px 0 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px;
           min-height: 2.9em; }
    #summary, #legend { margin-top: 20px; }
    table { border-collapse: collapse; }
    th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; }
    th:first-child, td:first-child { text-align: left; }
    .op-Q rect, rect.op-Q, .op-Q .outline { fill: #4e79a7; stroke: #4e79a7; }
    .op-K rect, rect.op-K, .op-K .outline { fill: #59a14f; stroke: #59a14f; }
    .op-V rect, rect.op-V, .op-V .outline { fill: #76b7b2; stroke: #76b7b2; }
    .op-O rect, rect.op-O, .op-O .outline { fill: #b07aa1; stroke: #b07aa1; }
    .op-S rect, rect.op-S, .op-S .outline { fill: #f28e2b; stroke: #f28e2b; }
    .op-P rect, rect.op-P, .op-P .outline { fill: #e15759; stroke: #e15759; }
    .op-m rect, rect.op-m, .op-m .outline { fill: #7f7f7f; stroke: #7f7f7f; }
    .op-l rect, rect.op-l, .op-l .outline { fill: #9c755f; stroke: #9c755f; }
    .op-other rect, rect.op-other, .op-other .outline { fill: #bab0ac; stroke: #bab0ac; }
    .tensor .cell { fill: #fbfbfb; stroke: #c3c9d0; }
    .tensor .written { fill: var(--write); stroke: none; }
    .tensor .outline { fill: none; }
    .tensor .cell.active { stroke: var(--active); stroke-width: 2.5; }
    """#
}
