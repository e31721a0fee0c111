//! The `ClusterAdapter` messages (placeholder).
