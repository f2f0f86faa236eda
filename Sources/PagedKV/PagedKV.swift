// The paged KV cache module (see issue: PagedAttention).
