/// How a grouped-query (GQA) or multi-query (MQA) decode kernel reads a KV head shared by
/// G = h_q/h_kv query heads. Raw values are the CLI's `--kv-reads` names.
public enum KeyValueReads: String, CaseIterable, Sendable, Hashable {
  /// One work item (a thread block) per query head, as in vLLM's legacy PagedAttention kernel
  /// (`kv_head_idx = head_idx / (num_heads / num_kv_heads)`): a KV head is read once per query
  /// head of its group, G times. Whether a real GPU's L2 absorbs the repeats is not modelled;
  /// every repeat counts as HBM traffic. The default.
  case perQueryHead = "per-query-head"
  /// One work item per KV head, carrying its G query heads as the rows of one tile (the packing
  /// of FlashInfer and FlashAttention-2's GQA decode): each KV block is read once.
  case perKeyValueHead = "per-kv-head"
}
