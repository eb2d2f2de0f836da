//! Shard envelope (being written).
