//! TODO(skeleton): sse
