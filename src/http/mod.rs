//! TODO(skeleton): http
